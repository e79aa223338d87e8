"""Batch inputs (`moderation.inputs`): Parquet, and duplicate ids found at 8 bytes an id.

The JSONL and CSV readers' other behaviour is covered in `tests/test_archive.py`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from moderation import inputs
from moderation.archive import Comment
from moderation.errors import ArchiveError
from moderation.inputs import input_files, iter_comments, iter_parquet


def parquet(path: Path, row_group_size: int | None = None, **columns) -> Path:
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def test_parquet_records_across_row_groups(tmp_path):
    path = parquet(tmp_path / "c.parquet", row_group_size=2, toxic=[0, 1, 0], text=["a", "b", ""], id=[7, 8, 9])
    assert list(iter_comments([path])) == [
        Comment("7", None, None, 1, None, None, "a"),
        Comment("8", None, None, 2, None, None, "b"),
        Comment("9", None, None, 3, None, None, ""),
    ]


def test_parquet_in_a_directory_with_other_inputs(tmp_path):
    parquet(tmp_path / "b.parquet", id=["p1"], text=["from parquet"])
    (tmp_path / "a.jsonl").write_text('{"id": "j1", "text": "from jsonl"}\n', encoding="utf-8")
    assert [f.name for f in input_files([tmp_path])] == ["a.jsonl", "b.parquet"]
    assert [c.id for c in iter_comments([tmp_path])] == ["j1", "p1"]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ({"comment_id": ["1"], "comment_text": ["x"]},
         ": expected columns id, text; missing id, text; found comment_id, comment_text — did you mean "
         "'comment_id' for 'id', 'comment_text' for 'text'? Rename the column(s) when writing the file"),
        ({"id": ["1"], "text": [3]}, ": text: expected a string column, found int64"),
        ({"id": [1.5], "text": ["x"]}, ": id: expected a string or integer column, found double"),
        ({"id": ["1", "2", "3"], "text": ["x", None, "z"]}, ":row 2: text: expected a string, found null"),
        ({"id": ["1", None], "text": ["x", "y"]}, ":row 2: id: expected a string or an integer, found null"),
        ({"id": ["1", " "], "text": ["x", "y"]}, ":row 2: id: empty"),
        ({"id": ["a", "b", "a"], "text": ["x", "y", "z"]}, ":row 3: id: duplicate id 'a', first used on row 1"),
    ],
)
def test_parquet_errors_name_file_row_and_field(tmp_path, columns, expected):
    path = parquet(tmp_path / "c.parquet", **columns)
    with pytest.raises(ArchiveError, match=f"^{re.escape(str(path))}{re.escape(expected)}$"):
        list(iter_parquet(path))


def test_not_a_parquet_file(tmp_path):
    path = tmp_path / "c.parquet"
    path.write_text("id,text\n1,x\n", encoding="utf-8")
    with pytest.raises(ArchiveError, match="c.parquet: not a readable Parquet file"):
        list(iter_comments([path]))


def test_parquet_rows_before_an_error_are_read(tmp_path):
    path = parquet(tmp_path / "c.parquet", id=["1", "2"], text=["ok", None])
    comments = iter_parquet(path)
    assert next(comments).text == "ok"
    with pytest.raises(ArchiveError, match=":row 2: text"):
        next(comments)


def test_duplicate_far_apart_names_the_first_line(tmp_path):
    path = tmp_path / "c.jsonl"
    lines = [json.dumps({"id": f"c{i}", "text": "x"}) for i in range(5000)] + [json.dumps({"id": "c17", "text": "y"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    comments = iter_comments([path])
    with pytest.raises(ArchiveError, match=f"^{re.escape(str(path))}:5001: id: duplicate id 'c17', first used on line 18$"):
        for _ in comments:
            pass


def test_duplicate_before_a_later_error_is_reported_first(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,text\na,x\nb,y\na,z\nc\n", encoding="utf-8")
    with pytest.raises(ArchiveError, match=r":4: id: duplicate id 'a', first used on line 2$"):
        list(iter_comments([path]))


def test_ids_repeating_in_different_files_are_allowed(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": 1, "text": "x"}\n', encoding="utf-8")
    (tmp_path / "b.csv").write_text("id,text\n1,y\n", encoding="utf-8")
    assert [c.id for c in iter_comments([tmp_path])] == ["1", "1"]


def test_hash_collisions_do_not_reject_distinct_ids(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "_id_hash", lambda comment_id: 42)  # every id collides
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": "x"}) + "\n" for i in range(1500)), encoding="utf-8")
    assert [c.id for c in iter_comments([path])] == [str(i) for i in range(1500)]
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"id": "1400", "text": "again"}\n')
    with pytest.raises(ArchiveError, match=":1501: id: duplicate id '1400', first used on line 1401$"):
        list(iter_comments([path]))


def _jsonl_one_line_at_a_time(path: Path) -> list[tuple[str, str]]:
    """(id, text) of every record, each line read and parsed on its own: what the block reader must give."""
    rows = []
    with path.open("rb") as fh:
        for line in fh:
            line = line.decode("utf-8").removeprefix("\ufeff")
            if line.strip():
                record = json.loads(line)
                rows.append((str(record["id"]), record["text"]))
    return rows


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_jsonl_blocks_give_every_line_whatever_the_block_size(tmp_path, monkeypatch, block):
    texts = ["plain", "ünïcødé and 🙂", "line\u2028separator inside", "", "x" * 300, "tab\there", "\\n escaped"]
    lines = [json.dumps({"id": f"c{i}", "text": t}, ensure_ascii=i % 2 == 0) for i, t in enumerate(texts * 5)]
    path = tmp_path / "c.jsonl"
    path.write_bytes(("\ufeff" + "\n".join(lines[:10]) + "\n\n  \r\n" + "\r\n".join(lines[10:])).encode("utf-8"))
    real = inputs._line_blocks
    monkeypatch.setattr(inputs, "_line_blocks", lambda p: real(p, size=block))
    comments = list(iter_comments([path]))
    assert [(c.id, c.text) for c in comments] == _jsonl_one_line_at_a_time(path)
    assert [c.position for c in comments] == list(range(1, len(lines) + 1))


@pytest.mark.parametrize("block", [5, 1 << 20])
def test_jsonl_bad_byte_after_a_block_names_its_line_and_offset(tmp_path, monkeypatch, block):
    good = '{"id": 1, "text": "ok"}\n{"id": 2, "text": "fine"}\n'
    path = tmp_path / "c.jsonl"
    path.write_bytes(good.encode() + b'{"id": 3, "text": "caf\xe9"}\n')
    real = inputs._line_blocks
    monkeypatch.setattr(inputs, "_line_blocks", lambda p: real(p, size=block))
    comments = iter_comments([path])
    assert [next(comments).text, next(comments).text] == ["ok", "fine"]  # the lines before come first
    offset = len(good) + len('{"id": 3, "text": "caf')
    with pytest.raises(ArchiveError, match=rf"c.jsonl:3: not valid UTF-8: byte 0xe9 at byte offset {offset};"):
        next(comments)


@pytest.mark.parametrize(("end", "column"), [("", 19), ("\n", 1)])
def test_jsonl_error_columns_count_the_line_ending_as_json_loads_does(tmp_path, end, column):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": 1, "text": "ok"}\n{"id": 2, "text": ' + end, encoding="utf-8")
    with pytest.raises(ArchiveError, match=rf"c.jsonl:2: not valid JSON: Expecting value \(column {column}\)$"):
        list(iter_comments([path]))


@pytest.mark.parametrize(("ids", "expected"), [
    (["a", 2, "c"], ["a", "2", "c"]),
    ([1, 2, 3], ["1", "2", "3"]),
])
def test_ids_of_mixed_and_integer_blocks(tmp_path, ids, expected):
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": "t"}) + "\n" for i in ids), encoding="utf-8")
    assert [c.id for c in iter_comments([path])] == expected


def test_a_bad_id_after_good_ones_in_the_same_block(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "text": "t"}\n{"id": " ", "text": "t"}\n', encoding="utf-8")
    comments = iter_comments([path])
    assert next(comments).id == "a"
    with pytest.raises(ArchiveError, match="c.jsonl:2: id: empty$"):
        next(comments)


# ── blocks of columns (what batch scoring reads) ────────────────────────────────────────────

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
FIELDS = ("id", "article", "number", "parent", "author", "text")


def flattened(blocks) -> list[tuple]:
    """The comments of `iter_columns` blocks as (id, article, number, parent, author, text)."""
    rows = []
    for block in blocks:
        n = len(block.ids)
        assert len(block.texts) == n
        archive = [[None] * n if column is None else column
                   for column in (block.articles, block.numbers, block.parents, block.authors)]
        assert all(len(column) == n for column in archive)
        rows += zip(block.ids, *archive, block.texts)
    return rows


def test_columns_hold_the_comments_of_every_kind_of_input(tmp_path):
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"id": i, "text": f"j{i}"}) + "\n" for i in range(3000))
                                      + '\n{"text": "last", "id": "z"}', encoding="utf-8")
    (tmp_path / "b.csv").write_text("text,id\n" + "".join(f"c{i},{i}\n" for i in range(1500)), encoding="utf-8")
    parquet(tmp_path / "c.parquet", row_group_size=700, id=list(range(2000)), text=[f"p{i}" for i in range(2000)])
    paths = [SEEDS, tmp_path]
    expected = [tuple(getattr(c, name) for name in FIELDS) for c in iter_comments(paths)]
    assert len(expected) == 49 + 3001 + 1500 + 2000
    assert flattened(inputs.iter_columns(paths)) == expected
    assert any(parent for _, _, _, parent, _, _ in expected)  # archive fields came through


JSONL_2500 = "".join(json.dumps({"id": f"c{i}", "text": "t"}) + "\n" for i in range(2500))


@pytest.mark.parametrize(("name", "content", "where"), [
    ("c.jsonl", JSONL_2500 + '{"id": "c7", "text": "t"}\n', ":2501: id: duplicate id 'c7', first used on line 8"),
    ("c.jsonl", JSONL_2500 + '{"id": "x", "text": 5}\n', ":2501: text: expected a string"),
    ("c.jsonl", JSONL_2500 + '{"id": false, "text": "t"}\n', ":2501: id: expected a string or an integer"),
    ("c.csv", "id,text\n" + "".join(f"c{i},t\n" for i in range(2500)) + "c9,t,extra\n", ":2502: too many fields"),
])
def test_columns_stop_at_the_error_comments_stop_at(tmp_path, name, content, where):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    before, blocks = [], inputs.iter_columns([path])
    with pytest.raises(ArchiveError) as columns_error:
        for block in blocks:
            before += block.ids
    comments = []
    with pytest.raises(ArchiveError) as comments_error:
        for comment in iter_comments([path]):
            comments.append(comment.id)
    assert str(columns_error.value) == str(comments_error.value)
    assert str(columns_error.value).startswith(f"{path}{where}")
    assert before == comments == [f"c{i}" for i in range(2500)]
