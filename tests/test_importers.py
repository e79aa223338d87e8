"""Public-data importers: mappings, unknowns, per-rater rows, de-duplication, errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from moderation.errors import ArchiveError, PolicyError
from moderation.importers import CONVABUSE_FIELDS, SOURCES, import_all
from moderation.policy import Policy

CATS = ("profanity", "personal_attack", "identity_attack", "threat")
COLUMNS = ["id", "text", *CATS, "source", "annotator", "note"]


def _policy(names: tuple[str, ...] = CATS) -> Policy:
    return Policy.from_dict({"categories": {n: {"reject": 0.9, "review": 0.5} for n in names}})


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _convabuse_csv(rows: list[tuple[str, str, dict[int, dict[str, str]]]]) -> str:
    """A ConvAbuse split in the published layout: 7 context columns, 8 blocks of 17 annotator columns."""
    header = ["example_id", "conv_id", "prev_agent", "prev_user", "agent", "user", "bot"]
    for k in range(1, 9):
        for f in CONVABUSE_FIELDS:
            name = f"Annotator{k}_{f}"
            if f == "transphobic" and k in (7, 8):  # the published header's misnamed columns
                name = f"Annotator6_transphobic.{k - 6}"
            header.append(name)
    lines = [",".join(header)]
    for example, user, annotators in rows:
        cells = [f"{example}.0", "349824.0", "hi", "", "How are you?", user, "E.L.I.Z.A."]
        for k in range(1, 9):
            given = annotators.get(k)
            for f in CONVABUSE_FIELDS:
                cells.append("" if given is None else given.get(f, "0" if "," not in given.get("is_abuse.1", "") else "0, 0"))
        lines.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    return "\n".join(lines) + "\n"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    ts = d / "civil_comments_toxic_spans"
    _write(ts / "comments.csv", 'comment_id,comment_text\n'
           '1,"You idiot, what the hell."\n'
           '2,Go back to where you came from\n'
           '3,"you idiot,   what the HELL."\n')
    _write(ts / "annotations.csv", "annotation,comment_id,worker,country,all toxic,not toxic\n"
           "10,1,100,USA,False,False\n"   # Insult + Profane spans
           "11,1,101,VEN,False,False\n"   # Other Toxicity only
           "12,1,102,USA,True,True\n"     # both boxes, no spans: unknown
           "13,1,103,USA,False,True\n"    # not toxic + Insult span
           "14,2,100,USA,False,False\n"   # Threat span + a span without type
           "15,2,104,USA,False,False\n"   # span beyond the text
           "16,3,105,USA,False,False\n")  # same text as comment 1, another rater
    _write(ts / "spans.csv", "annotation,type,start,end\n"
           "10,Insult,4,9\n10,Profane/Obscene,20,24\n11,Other Toxicity,0,9\n13,Insult,4,9\n"
           "14,Threat,0,7\n14,,8,12\n15,Insult,500,510\n16,Insu,4,9\n")

    jg = d / "jigsaw"
    six = "toxic,severe_toxic,obscene,threat,insult,identity_hate"
    _write(jg / "fastbert_train_sample.csv", f"id,comment_text,{six}\n"
           "aaa1,Hello there friend,0,0,0,0,0,0\n")
    _write(jg / "hieunt91_toxic_comments.csv", f"id,comment_text,{six}\n"
           'bbb2,"You Stupid Oaf, go away",1,0,0,0,1,0\n')
    _write(jg / "predibase_train_subsets.csv", f"id,comment_text,{six},Unnamed: 0,simple_prompt,simple_prompt.parsed.is_bad\n"
           "aaa1,Hello there friend,0,0,0,0,0,0,,,\n"
           "ccc3,Big dicks song,0,0,1,0,0,0,,,\n"
           "ddd4,Big  dicks song,1,0,0,0,0,0,,,\n")
    _write(jg / "amodh_saxena_toxic_comments.csv", f"comment_text,{six}\n"
           "Nice edit,0,0,0,0,0,0\n")
    _write(jg / "ak_algorithm_toxic_lowercased.csv", "text,toxic\n"
           '"you stupid oaf, go away",1\n'
           "some toxic thing,1\n"
           "a clean lowercased one,0\n")
    _write(jg / "robtestdemo_nontoxic.csv", "comment_text,toxic\n"
           "Nice edit,0\n"
           "Thanks for the fix,0\n")

    _write(d / "davidson" / "labeled_data.csv", "Unnamed: 0,count,hate_speech,offensive_language,neither,class,tweet\n"
           "0,3,3,0,0,0,hate tweet\n"
           "1,3,0,3,0,1,offensive tweet\n"
           "2,3,1,2,0,1,offensive but one rater said hate\n"
           "3,3,0,0,3,2,clean tweet\n"
           "4,3,0,1,2,2,mostly clean tweet\n"
           "5,3,0,0,3,2,   \n")

    _write(d / "olid" / "olid-training-v1.0.tsv", "id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n"
           "1\t@USER have a nice day URL\tNOT\tNULL\tNULL\n"
           "2\t@USER you are a clown\tOFF\tTIN\tIND\n"
           "3\twhat the fuck\tOFF\tUNT\tNULL\n"
           "4\tthose people are awful\tOFF\tTIN\tGRP\n")

    not_abusive = {"is_abuse.1": "1"}
    abusive = {"is_abuse.-2": "1", "sexist": "1", "target.system": "1"}
    _write(d / "convabuse" / "ConvAbuseEMNLPtrain.csv", _convabuse_csv([
        ("10", "you are a silly bot", {1: not_abusive, 2: abusive, 3: {"is_abuse.0": "1"},
                                       4: {"is_abuse.1": "1, 0", "is_abuse.-1": "0, 1", "intellectual": "0, 1"}}),
    ]))
    _write(d / "convabuse" / "ConvAbuseEMNLPvalid.csv", _convabuse_csv([
        ("11", "what is the weather", {7: {"is_abuse.-1": "1", "transphobic": "1", "target.individual": "1"}}),
    ]))

    ca = d / "conversationai_annotators"
    _write(ca / "sample_comment_text.csv", "_unit_id,comment_text\nu1=,You are a fool\n")
    _write(ca / "sample_training_data.csv", "_unit_id,_worker_id,identity_hate,obscene,threat,insult\n"
           "u1=,w1,0,0,0,1\nu1=,w2,0,0,0,0\nmissing=,w1,1,1,1,1\n")
    return d


def _rows(out: Path, source: str) -> list[dict]:
    table = pq.read_table(out / f"{source}.parquet")
    assert table.column_names == COLUMNS
    return table.to_pylist()


def _labels(row: dict) -> tuple:
    return tuple(row[c] for c in CATS)


@pytest.fixture
def out(data_dir: Path, tmp_path: Path) -> Path:
    reports = import_all(data_dir, tmp_path / "public", _policy())
    assert set(reports) == set(SOURCES)
    return tmp_path / "public"


def test_every_source_written_with_the_fixed_schema(out: Path) -> None:
    for source in SOURCES:
        table = pq.read_table(out / f"{source}.parquet")
        assert [str(t) for t in table.schema.types] == ["string"] * 2 + ["int8"] * 4 + ["string"] * 3
        rows = table.to_pylist()
        assert rows and all(r["source"] == source and r["id"].startswith(source + ":") for r in rows)
        assert all(r["text"].strip() for r in rows)
    assert not [p for p in out.iterdir() if p.suffix != ".parquet"]  # no temporary files left


def test_toxicspans_one_row_per_rater_typed_spans_only(out: Path) -> None:
    rows = {(r["id"], r["annotator"]): _labels(r) for r in _rows(out, "toxicspans")}
    assert rows[("toxicspans:1", "100")] == (1, 1, 0, 0)
    assert rows[("toxicspans:1", "101")] == (0, 0, 0, 0)            # Other Toxicity only
    assert rows[("toxicspans:1", "103")] == (0, None, 0, 0)         # "not toxic" contradicts its Insult
    assert rows[("toxicspans:1", "105")] == (0, 1, 0, 0)            # comment 3 is comment 1's text; "Insu" prefix
    assert rows[("toxicspans:2", "100")] == (None, None, None, 1)   # an untyped span: untyped stay unknown
    assert ("toxicspans:1", "102") not in rows                      # both boxes, no spans: nothing known
    assert all(k[1] != "104" for k in rows)                         # span offsets beyond the text


def test_jigsaw_deduplicates_and_conflicts_become_unknown(out: Path) -> None:
    rows = {r["text"]: r for r in _rows(out, "jigsaw")}
    assert rows["Hello there friend"]["id"] == "jigsaw:aaa1" and len(rows) == 6
    assert rows["Hello there friend"]["note"] == "fastbert_train_sample+predibase_train_subsets"
    oaf = rows["You Stupid Oaf, go away"]                           # mixed-case text kept over the lower-cased
    assert _labels(oaf) == (0, 1, 0, 0) and oaf["id"] == "jigsaw:bbb2"
    song = rows["Big dicks song"]                                   # obscene 1 vs 0, toxic 0 vs 1
    assert _labels(song) == (None, 0, 0, 0)
    assert _labels(rows["Nice edit"]) == (0, 0, 0, 0)
    assert _labels(rows["a clean lowercased one"]) == (0, 0, 0, 0)  # toxic 0 alone: all four 0
    assert rows["a clean lowercased one"]["id"].startswith("jigsaw:text-")
    assert "some toxic thing" not in rows                           # toxic 1 alone: all unknown, dropped


def test_davidson_positive_by_majority_negative_only_when_unanimous(data_dir: Path, tmp_path: Path) -> None:
    reports = import_all(data_dir, tmp_path / "p", _policy())
    rows = {r["id"]: _labels(r) for r in _rows(tmp_path / "p", "davidson")}
    assert rows == {
        "davidson:0": (None, None, 1, None),
        "davidson:1": (None, None, 0, None),
        "davidson:3": (0, 0, 0, 0),
        "davidson:4": (None, None, 0, None),
    }
    assert reports["davidson"].dropped == {"empty text": 1, "no category known": 1}
    assert reports["davidson"].counts["identity_attack"] == {"positive": 1, "negative": 3, "unknown": 0}


def test_olid_mapping_keeps_placeholders(out: Path) -> None:
    rows = {r["id"]: r for r in _rows(out, "olid")}
    assert set(rows) == {"olid:1", "olid:2"}                        # UNT and GRP say nothing reliable
    assert rows["olid:1"]["text"] == "@USER have a nice day URL" and _labels(rows["olid:1"]) == (0, 0, 0, 0)
    assert _labels(rows["olid:2"]) == (None, 1, None, None) and rows["olid:2"]["annotator"] == ""


def test_convabuse_per_annotator_with_repeat_judgements(out: Path) -> None:
    rows = {(r["id"], r["annotator"]): _labels(r) for r in _rows(out, "convabuse")}
    assert rows[("convabuse:10", "Annotator1")] == (0, 0, 0, 0)
    assert rows[("convabuse:10", "Annotator2")] == (None, None, 1, None)
    assert rows[("convabuse:10", "Annotator4")] == (0, None, 0, 0)  # not abusive, then abusive-intellectual
    assert ("convabuse:10", "Annotator3") not in rows                # ambiguous
    assert rows[("convabuse:11", "Annotator7")] == (None, 1, 1, None)  # misnamed transphobic column read by position


def test_conversationai_one_row_per_worker(data_dir: Path, tmp_path: Path) -> None:
    reports = import_all(data_dir, tmp_path / "p", _policy())
    rows = _rows(tmp_path / "p", "conversationai_annotators")
    assert [(r["annotator"], _labels(r)) for r in rows] == [("w1", (0, 1, 0, 0)), ("w2", (0, 0, 0, 0))]
    assert reports["conversationai_annotators"].dropped == {"_unit_id not in sample_comment_text.csv": 1}


def test_extra_policy_category_is_unknown_everywhere(data_dir: Path, tmp_path: Path) -> None:
    import_all(data_dir, tmp_path / "p", _policy(CATS + ("spam",)))
    rows = pq.read_table(tmp_path / "p" / "olid.parquet").to_pylist()
    assert all(r["spam"] is None for r in rows)


def test_policy_missing_a_category_is_an_error(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="threat"):
        import_all(data_dir, tmp_path / "p", _policy(CATS[:3]))


def test_missing_file_names_it_and_writes_nothing(data_dir: Path, tmp_path: Path) -> None:
    (data_dir / "davidson" / "labeled_data.csv").unlink()
    with pytest.raises(ArchiveError, match=r"labeled_data\.csv: file not found"):
        import_all(data_dir, tmp_path / "p", _policy())
    assert not (tmp_path / "p").exists()


def test_bad_value_names_file_line_and_column(data_dir: Path, tmp_path: Path) -> None:
    _write(data_dir / "jigsaw" / "fastbert_train_sample.csv",
           "id,comment_text,toxic,severe_toxic,obscene,threat,insult,identity_hate\n"
           "a,fine,0,0,0,0,0,0\nb,\"two\nlines\",0,0,yes,0,0,0\n")
    with pytest.raises(ArchiveError, match=r"fastbert_train_sample\.csv:3: column 'obscene'.*'yes'"):
        import_all(data_dir, tmp_path / "p", _policy())


def test_missing_column_lists_what_was_found(data_dir: Path, tmp_path: Path) -> None:
    _write(data_dir / "olid" / "olid-training-v1.0.tsv", "id\ttweet\tsubtask_a\n1\thi\tNOT\n")
    with pytest.raises(ArchiveError, match=r"olid-training-v1\.0\.tsv: expected columns .*missing subtask_b"):
        import_all(data_dir, tmp_path / "p", _policy())


def test_ragged_row_is_an_error(data_dir: Path, tmp_path: Path) -> None:
    _write(data_dir / "civil_comments_toxic_spans" / "spans.csv", "annotation,type,start,end\n10,Insult,4\n")
    with pytest.raises(ArchiveError, match=r"spans\.csv:2: expected 4 fields, found 3"):
        import_all(data_dir, tmp_path / "p", _policy())
