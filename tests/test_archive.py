"""Archive pages (`moderation.archive`) and batch input readers (`moderation.inputs`)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from moderation.archive import Comment, Page, parse_page, read_page
from moderation.errors import ArchiveError
from moderation.inputs import iter_comments, iter_csv, iter_jsonl

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
P000, P001, P002, P003, P004 = (
    "000_c87f713ab8df9e35",
    "001_4e2df06bc1a1437c",
    "002_51190effbbcdc39f",
    "003_211710dc48a315eb",
    "004_5dbd66a7762d451d",
)
POLICY = "personal attacks or other inappropriate material will not be permitted"


@pytest.fixture(scope="module")
def pages() -> dict[str, Page]:
    return {path.stem: read_page(path) for path in sorted(SEEDS.glob("*.txt"))}


def by_author(page: Page, author: str) -> Comment:
    (comment,) = [c for c in page.comments if c.author == author]
    return comment


# ── archive pages: the seed ground truth ────────────────────────────────────────────────────


def test_seed_pages_have_the_known_comment_counts(pages: dict[str, Page]) -> None:
    assert {pid: len(p.comments) for pid, p in pages.items()} == {
        P000: 29,
        P001: 7,
        P002: 4,
        P003: 0,
        P004: 9,
    }
    everything = [c for p in pages.values() for c in p.comments]
    assert len(everything) == 49
    assert [c.id for c in everything if c.text == ""] == [f"{P000}:14"]


def test_titles_and_policy_text(pages: dict[str, Page]) -> None:
    assert pages[P000].title == "Azerbaijan Threatens To Quit Karabakh Peace Talks"
    assert pages[P003].title == "Karabakh Armenians again refuse negotiation in Baku"
    for pid in (P000, P001, P002, P004):
        assert POLICY in pages[pid].policy_text
        assert pages[pid].policy_text.startswith("Comments are welcomed")
    assert pages[P003].policy_text == ""  # a news digest: no discussion section at all


def test_body_stops_at_the_trailer(pages: dict[str, Page]) -> None:
    page = pages[P000]
    assert page.paragraphs[0].startswith("ISTANBUL (RFE/RL)")
    assert page.paragraphs[-1].startswith("In what may have been a related development")
    assert page.body == "\n\n".join(page.paragraphs)
    for p in pages.values():
        assert not {"Discussion Policy", "Related posts"} & set(p.paragraphs)
        assert POLICY not in p.body and p.title not in p.paragraphs
        assert all(para == para.strip() and "\n\n" not in para for para in p.paragraphs)
    # page 001 has a policy but no "Related posts"; its photo caption is kept as a paragraph
    assert pages[P001].paragraphs[0] == "Nagorno-Karabakh Republic Foreign Ministry building"
    assert pages[P001].paragraphs[-1].startswith("Lukashevich said")


def test_ids_positions_and_numbers_are_stable(pages: dict[str, Page]) -> None:
    for pid, page in pages.items():
        assert [c.position for c in page.comments] == list(range(1, len(page.comments) + 1))
        assert [c.id for c in page.comments] == [f"{pid}:{c.position}" for c in page.comments]
        assert {c.article for c in page.comments} <= {pid}
    assert read_page(SEEDS / f"{P001}.txt") == pages[P001]
    with pytest.raises(dataclasses.FrozenInstanceError):
        pages[P000].comments[0].text = "changed"  # type: ignore[misc]


def test_pingbacks_are_skipped(pages: dict[str, Page]) -> None:
    page = pages[P004]
    assert [c.number for c in page.comments] == [1, 2, 3, 4, 5, 6, 7, 8, 10]
    hrair = by_author(page, "hrair")
    assert (hrair.id, hrair.number, hrair.position) == (f"{P004}:9", 10, 9)
    assert not any("Pingback" in c.text or "Pingback" in (c.author or "") for c in page.comments)
    assert "News Station" not in hrair.text  # the pingback after it is not appended
    assert "azerbaijantoday" not in by_author(page, "Ishkhan").text


def test_replies_point_at_their_parent(pages: dict[str, Page]) -> None:
    page = pages[P001]
    avery = by_author(page, "Avery")
    assert (avery.position, avery.number, avery.is_reply) == (5, None, True)
    assert avery.parent == f"{P001}:4" == by_author(page, "Robert").id
    edward = by_author(page, "Edward Demian")
    assert edward.is_reply and edward.parent == by_author(page, "Shane").id
    assert by_author(page, "Shane").number == 5  # printed numbers skip the replies
    top_level = [c for p in (page, pages[P000]) for c in p.comments if c.number is not None]
    assert all(c.parent is None and not c.is_reply for c in top_level)


def test_numbered_lines_inside_a_comment_stay_in_it(pages: dict[str, Page]) -> None:
    avery = by_author(pages[P001], "Avery")
    assert avery.text.startswith("You Turks and Azerbaijanis must:\n\n1. Admit you started")
    assert "\n4. Pay compensation" in avery.text
    assert avery.text.endswith("we can talk.")
    assert not avery.text.startswith(" ")  # dedented


def test_quoted_report_stays_in_one_comment(pages: dict[str, Page]) -> None:
    page = pages[P000]
    mihran = page.comments[26]
    assert (mihran.number, mihran.author) == (27, "MihranK")
    paragraphs = mihran.text.split("\n\n")
    assert paragraphs[0] == "Sadly the biggest traitor is amongst us Serzh, just read this report."
    assert paragraphs[1] == "Haykakan Zhamanak , Armenia\nJune 5 2010"  # line breaks kept
    assert paragraphs[-1].endswith("he had said “yes” to everything.")
    assert len(paragraphs) == 5
    assert page.comments[27].author == "armenian"


def test_comment_text_is_clean(pages: dict[str, Page]) -> None:
    page = pages[P000]
    assert page.comments[9].author == "Armanen"
    assert page.comments[9].text.startswith("That would be the best case")  # leading blanks dropped
    garo = page.comments[13]
    assert (garo.author, garo.number, garo.text) == ("Garo Avedis", 14, "")
    assert page.comments[16].text.count("\n\n") == 1  # Zareh: two paragraphs
    for p in pages.values():
        for c in p.comments:
            assert c.text == c.text.strip()
            assert all(line == line.rstrip() for line in c.text.split("\n"))
            assert "\n\n\n" not in c.text
    assert by_author(pages[P002], "Katia K.").number == 3


def test_news_page_bullets_are_not_comments(pages: dict[str, Page]) -> None:
    page = pages[P003]
    assert page.comments == []
    assert page.paragraphs[0] == "• JAMnews\n• Baku"
    assert any(para.endswith("Mammadov said:") for para in page.paragraphs)


# ── archive pages: the format in general ────────────────────────────────────────────────────


def test_parse_page_handles_variants() -> None:
    text = (
        "\ufeffTitle\r\n\r\nBody one.\r\nstill one.\r\n\r\nBody two.\r\n\r\n"
        "Discussion Policy\r\n\r\nBe civil.\r\n\r\n"
        "  1. Dr. J. Smith 2nd says:\r\n\r\n    First.\r\n\r\n"
        "    • Ana said:\r\n      Reply.\r\n"
        "      • Bo said:\r\n        Deeper.\r\n"
        "    • Cy said:\r\n      Sibling.\r\n"
        "  2. Pingback: elsewhere\r\n"
        "  3. Dee said:\r\n\r\n    code:\r\n        indented\r\n\r\n\r\n    end\r\n"
    )
    page = parse_page(text, "x")
    assert page.title == "Title"
    assert page.paragraphs == ["Body one.\nstill one.", "Body two."]
    assert page.policy_text == "Be civil."
    got = [(c.id, c.number, c.author, c.parent, c.text) for c in page.comments]
    assert got == [
        ("x:1", 1, "Dr. J. Smith 2nd", None, "First."),
        ("x:2", None, "Ana", "x:1", "Reply."),
        ("x:3", None, "Bo", "x:2", "Deeper."),
        ("x:4", None, "Cy", "x:1", "Sibling."),
        ("x:5", 3, "Dee", None, "code:\n    indented\n\nend"),
    ]


def test_parse_page_without_policy_or_comments() -> None:
    page = parse_page("Only a title\n", "y")
    assert (page.title, page.paragraphs, page.policy_text, page.comments) == ("Only a title", [], "", [])
    page = parse_page("T\n\nHe said:\n  • Not a comment\n\n  1. Ani said:\n\n    Hi.\n", "z")
    assert page.paragraphs == ["He said:\n• Not a comment"]
    assert [(c.author, c.text) for c in page.comments] == [("Ani", "Hi.")]


def test_parse_page_rejects_an_empty_page() -> None:
    with pytest.raises(ArchiveError, match="page e"):
        parse_page(" \n\n", "e")


def test_read_page_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(ArchiveError, match=f"{missing}: no such file"):
        read_page(missing)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Title\n\n  1. A said:\n    caf\xe9\n")
    with pytest.raises(ArchiveError, match=rf"{bad}:4: not valid UTF-8: byte 0xe9 at byte offset 27"):
        read_page(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    with pytest.raises(ArchiveError, match=f"{empty}: empty file"):
        read_page(empty)


# ── batch inputs ────────────────────────────────────────────────────────────────────────────


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_jsonl_records(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.jsonl",
        '{"id": "a", "text": "hello", "extra": 1}\n\n{"id": 7, "text": ""}\n',
    )
    got = list(iter_comments([path]))
    assert got == [
        Comment("a", None, None, 1, None, None, "hello", False),
        Comment("7", None, None, 2, None, None, "", False),
    ]


def test_csv_records_with_quoted_multiline_text(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.csv",
        'toxic,text,id\r\n0,"line one\r\nline two, with comma",a1\r\n1,plain,a2\r\n',
    )
    got = [(c.id, c.position, c.text) for c in iter_csv(path)]
    assert got == [("a1", 1, "line one\r\nline two, with comma"), ("a2", 2, "plain")]


def test_directories_and_mixed_inputs_in_order(tmp_path: Path) -> None:
    write(tmp_path / "b.csv", "id,text\nc1,from csv\n")
    write(tmp_path / "a.jsonl", '{"id": "j1", "text": "from jsonl"}\n')
    write(tmp_path / "notes.md", "ignored")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "deep.csv", "id,text\nd1,not read\n")
    ids = [c.id for c in iter_comments([tmp_path, SEEDS / f"{P002}.txt"])]
    assert ids == ["j1", "c1"] + [f"{P002}:{i}" for i in range(1, 5)]
    assert len(list(iter_comments([SEEDS]))) == 49


def test_readers_stream(tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", '{"id": 1, "text": "ok"}\nnot json\n')
    comments = iter_jsonl(path)
    assert next(comments).text == "ok"  # the bad line is only reached later
    with pytest.raises(ArchiveError, match=f"{path}:2: not valid JSON"):
        next(comments)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"id": "a", "text": "x"}\n[1, 2]\n', r":2: expected a JSON object, found an array"),
        ('{"id": "a"}\n', r":1: text: missing; keys found: id"),
        ('{"id": "a", "text": null}\n', r":1: text: expected a string, found null"),
        ('{"id": "a", "text": 3}\n', r":1: text: expected a string, found a number"),
        ('{"text": "x"}\n', r":1: id: missing"),
        ('{"id": [1], "text": "x"}\n', r":1: id: expected a string or an integer, found an array"),
        ('{"id": true, "text": "x"}\n', r":1: id: expected a string or an integer, found a boolean"),
        ('{"id": "", "text": "x"}\n', r":1: id: empty"),
        ('{"id": 1, "text": "x"}\n\n{"id": "1", "text": "y"}\n', r":3: id: duplicate id '1', first used on line 1"),
        ('{"id": 1, "text": "x"\n', r":1: not valid JSON: Expecting ',' delimiter"),
    ],
)
def test_jsonl_errors_name_file_line_and_field(tmp_path: Path, content: str, expected: str) -> None:
    path = write(tmp_path / "c.jsonl", content)
    with pytest.raises(ArchiveError, match=f"^{re.escape(str(path))}{expected}"):
        list(iter_comments([path]))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "comment_id,comment_text,toxic\n1,x,0\n",
            ":1: expected columns id, text; missing id, text; found comment_id, comment_text, toxic"
            " — did you mean 'comment_id' for 'id', 'comment_text' for 'text'?",
        ),
        ("id,body\n1,x\n", ":1: expected columns id, text; missing text; found id, body — did you mean 'body'"),
        ("ID,Text\n1,x\n", ":1: .* did you mean 'ID' for 'id', 'Text' for 'text'"),
        ('id,text\n1,"two\nlines"\n2\n', r":4: text: missing: row has 1 field\(s\), the header has 2"),
        ("id,text\n1,a,b\n", r":2: too many fields: row has 3 field\(s\), the header has 2; quote fields"),
        ('id,text\na,"x\ny"\nb,z\na,w\n', r":5: id: duplicate id 'a', first used on line 2"),
        ("id,text\n,x\n", ":2: id: empty"),
        ("", ": empty file, expected a header"),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path: Path, content: str, expected: str) -> None:
    path = write(tmp_path / "c.csv", content)
    with pytest.raises(ArchiveError, match=f"^{re.escape(str(path))}{expected}"):
        list(iter_comments([path]))


def test_bad_bytes_are_located(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,text\n1,ok\n2,caf\xe9\n")
    with pytest.raises(ArchiveError, match=f"^{re.escape(str(path))}:3: not valid UTF-8: byte 0xe9 at byte offset 18"):
        list(iter_comments([path]))


def test_bad_paths_fail_before_any_comment_is_read(tmp_path: Path) -> None:
    good = write(tmp_path / "c.jsonl", '{"id": 1, "text": "x"}\n')
    with pytest.raises(ArchiveError, match="nope.jsonl: no such file or directory"):
        iter_comments([good, tmp_path / "nope.jsonl"])
    odd = write(tmp_path / "c.xlsx", "")
    with pytest.raises(ArchiveError, match=r"c\.xlsx: unsupported input type \(\.xlsx\); supported: \.txt"):
        iter_comments([odd])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArchiveError, match="empty: directory has no input files"):
        iter_comments([tmp_path / "empty"])
    with pytest.raises(ArchiveError, match="given twice"):
        iter_comments([tmp_path, good])
