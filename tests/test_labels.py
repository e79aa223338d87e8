"""Label files: the schema, every validation error with file and line, and loading."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from moderation.errors import LabelError
from moderation.labels import check_labels, find_label_files, load_labels

ROOT = Path(__file__).resolve().parent.parent
HEADER = "id,text,profanity,personal_attack,identity_attack,threat,source,annotator,note\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems(path, policy):
    return [str(p) for p in check_labels([path], policy)[1]]


def test_loads_csv_with_unknowns_and_multiline_text(tmp_path, policy):
    path = write(tmp_path / "a.csv", HEADER + 'a,"two\nlines",1,,0,0,outlet,x,why\nb,fine,0,0,0,0,outlet,,\n')
    labels = load_labels([path], policy)
    assert labels.texts == ["two\nlines", "fine"]
    assert labels.values[0, 0] == 1 and math.isnan(labels.values[0, 1])
    assert labels.lines == [2, 4]
    assert labels.counts()["outlet"]["profanity"] == {"1": 1, "0": 1, "unknown": 0}
    assert str(path) in labels.hashes


def test_jsonl_and_parquet_load_too(tmp_path, policy):
    jl = write(tmp_path / "a.jsonl", json.dumps({"id": 1, "text": "hi", "profanity": 0, "threat": None,
                                                 "source": "feedback"}) + "\n")
    table = pa.table({"id": ["p1"], "text": ["hello"], "profanity": pa.array([None], pa.int8()),
                      "source": ["jigsaw"], "annotator": [""], "note": [""]})
    pq.write_table(table, tmp_path / "b.parquet")
    labels = load_labels([tmp_path], policy)
    assert sorted(labels.texts) == ["hello", "hi"]
    assert labels.ids[labels.texts.index("hi")] == "1"


def test_label_cells_of_each_column_type(tmp_path, policy):
    table = pa.table({"id": ["p1", "p2", "p3", "p4"], "text": ["a", "b", "c", "d"],
                      "profanity": pa.array([1, 0, None, 1], pa.int8()),
                      "threat": pa.array([0.0, 1.0, None, float("nan")], pa.float64()),
                      "personal_attack": pa.array(["1", " 0 ", "", None], pa.string()),
                      "source": ["jigsaw"] * 4})
    pq.write_table(table, tmp_path / "ok.parquet")
    labels = load_labels([tmp_path / "ok.parquet"], policy)
    rows = [[None if math.isnan(v) else v for v in row] for row in labels.values.tolist()]
    assert rows == [[1, 1, None, 0], [0, 0, None, 1], [None, None, None, None], [1, None, None, None]]
    bad = pa.table({"id": ["p1", "p2", "p3"], "text": ["a", "b", "c"], "profanity": pa.array([1, 2, -1], pa.int8()),
                    "threat": pa.array([True, False, None]), "source": ["jigsaw"] * 3})
    pq.write_table(bad, tmp_path / "bad.parquet")
    assert problems(tmp_path / "bad.parquet", policy) == [
        f"{tmp_path / 'bad.parquet'}:1: threat: value True is not 1, 0 or empty",
        f"{tmp_path / 'bad.parquet'}:2: profanity: value 2 is not 1, 0 or empty",
        f"{tmp_path / 'bad.parquet'}:2: threat: value False is not 1, 0 or empty",
        f"{tmp_path / 'bad.parquet'}:3: profanity: value -1 is not 1, 0 or empty",
    ]


@pytest.mark.parametrize(
    "body, expected",
    [
        ('a,,1,0,0,0,outlet,,\n', "a.csv:2: text: empty text"),
        ('a,"   ",1,0,0,0,outlet,,\n', "a.csv:2: text: empty text"),
        ('a,hi,2,0,0,0,outlet,,\n', "a.csv:2: profanity: value '2' is not 1, 0 or empty"),
        ('a,hi,yes,0,0,0,outlet,,\n', "a.csv:2: profanity: value 'yes'"),
        ('a,hi,1,0,0,0,,,\n', "a.csv:2: source: missing source"),
        ('a,hi,1,0,0,0,outlet,,\na,ho,1,0,0,0,outlet,,\n', "a.csv:3: id: duplicate id 'a' (first at line 2)"),
        ('a,hi,1,0,0,0,outlet,,\nb,"HI ",0,0,0,0,outlet,,\n', "a.csv:3: profanity: same text labelled differently"),
        ('a,hi,1,0,0\n', "a.csv:2: expected 9 fields, found 5"),
    ],
)
def test_bad_rows_are_reported_with_file_and_line(tmp_path, policy, body, expected):
    path = write(tmp_path / "a.csv", HEADER + body)
    found = problems(path, policy)
    assert any(expected in p for p in found), found
    with pytest.raises(LabelError):
        load_labels([path], policy)


def test_same_text_may_differ_between_annotators_and_sources(tmp_path, policy):
    path = write(tmp_path / "a.csv", HEADER + "a,hi,1,,,,toxicspans,r1,\na,hi,0,,,,toxicspans,r2,\n"
                 "b,hi,0,,,,jigsaw,,\n")
    assert problems(path, policy) == []


def test_unknown_category_column_is_named(tmp_path, policy):
    path = write(tmp_path / "a.csv", HEADER.strip() + ",toxic\na,hi,1,0,0,0,outlet,,,1\n")
    assert any("toxic: unknown category 'toxic'" in p for p in problems(path, policy))


def test_missing_columns_suggest_a_fix(tmp_path, policy):
    path = write(tmp_path / "a.csv", "id,comment_text,source\n1,hi,x\n")
    found = problems(path, policy)
    assert any("missing column(s) text" in p and "comment_text" in p for p in found), found


@pytest.mark.parametrize(
    "line, expected",
    [
        ("{not json}", "a.jsonl:2: not valid JSON"),
        ("[1, 2]", "a.jsonl:2: expected a JSON object"),
        ("", "a.jsonl:2: blank line"),
    ],
)
def test_broken_jsonl_lines(tmp_path, policy, line, expected):
    good = json.dumps({"id": "a", "text": "hi", "source": "x", "profanity": 1})
    path = write(tmp_path / "a.jsonl", good + "\n" + line + "\n" + good.replace('"a"', '"b"') + "\n")
    assert any(expected in p for p in problems(path, policy))


def test_jsonl_booleans_are_not_labels(tmp_path, policy):
    path = write(tmp_path / "a.jsonl", json.dumps({"id": "a", "text": "hi", "source": "x", "threat": True}) + "\n")
    assert any("a.jsonl:1: threat: value True" in p for p in problems(path, policy))


def test_not_utf8_and_broken_parquet(tmp_path, policy):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(HEADER.encode() + b"a,caf\xe9,1,0,0,0,outlet,,\n")
    assert any("bad.csv" in p and "UTF-8" in p for p in problems(bad, policy))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    assert any("broken.parquet" in p and "cannot read" in p for p in problems(broken, policy))


def test_find_skips_lexicons_and_other_files(tmp_path):
    for name in ("outlet/a.csv", "lexicons/surge/list.csv", "README.md", "public/b.parquet", ".hidden/c.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in find_label_files(tmp_path)] == [
        "outlet/a.csv", "public/b.parquet"]
    with pytest.raises(LabelError, match="no such label file"):
        find_label_files(tmp_path / "missing")


def test_shipped_label_files_are_valid(policy):
    rows, found = check_labels([ROOT / "labels"], policy)
    assert found == [], found[:5]
    assert rows > 1000


def test_later_feedback_supersedes_earlier_from_the_same_moderator(tmp_path, policy):
    rows = [
        {"id": "c1", "text": "you fool", "personal_attack": 1, "source": "feedback", "annotator": "ana",
         "time": "2026-11-01T10:00:00Z", "model": "v1"},
        {"id": "c1", "text": "you fool", "personal_attack": 0, "source": "feedback", "annotator": "ana",
         "time": "2026-11-02T10:00:00+00:00", "model": "v1"},
        {"id": "c1", "text": "you fool", "personal_attack": 1, "source": "feedback", "annotator": "bo",
         "time": "2026-11-01T09:00:00Z", "model": "v1"},
    ]
    path = write(tmp_path / "f.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    labels = load_labels([path], policy)
    assert sorted(zip(labels.annotators, labels.values[:, 1].tolist())) == [("ana", 0.0), ("bo", 1.0)]


def test_bad_time_is_reported(tmp_path, policy):
    path = write(tmp_path / "f.jsonl", json.dumps({"id": "a", "text": "x", "source": "feedback",
                                                   "time": "yesterday"}) + "\n")
    assert any("f.jsonl:1: time: 'yesterday' is not an ISO 8601 time" in p for p in problems(path, policy))


def test_loading_fills_the_text_keys(tmp_path, policy):
    path = write(tmp_path / "a.csv", HEADER + 'a,"You  FOOL",0,1,0,0,outlet,,\nb,you fool,0,1,0,0,jigsaw,,\n')
    labels = load_labels([path], policy)
    assert labels.text_keys == {"You  FOOL": "you fool", "you fool": "you fool"}
