"""Batch scoring to JSON Lines, CSV and Parquet; summaries; nothing half-written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from moderation.inputs import iter_comments
from moderation.batch import score_to_file
from moderation.errors import ArchiveError, InputError

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_seed_pages_to_jsonl(model, tmp_path):
    out = tmp_path / "scores.jsonl"
    summary = score_to_file(model, iter_comments([SEEDS]), out, progress=False)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 49 and summary.read == 49
    assert summary.scored == 48 and summary.not_scored == {"empty comment": 1}
    empty = [r for r in records if r["decision"] is None]
    assert empty[0]["id"] == "000_c87f713ab8df9e35:14" and empty[0]["scores"] is None
    scored = [r for r in records if r["decision"]]
    assert all(set(r["scores"]) == set(model.categories) for r in scored)
    assert all(r["decision"] in ("allow", "review", "reject") for r in scored)
    assert {r["article"] for r in records} == {p.stem for p in SEEDS.glob("*.txt")} - {"003_211710dc48a315eb"}
    reply = next(r for r in records if r["id"] == "001_4e2df06bc1a1437c:5")
    assert reply["parent"] == "001_4e2df06bc1a1437c:4" and reply["number"] is None
    rendered = summary.render(model.categories, out)
    assert "scored 48 of 49" in rendered and "per article" in rendered


def test_jsonl_input_to_csv_and_parquet(model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in
                           enumerate(["you idiot", "nice article", "what the fuck"])), encoding="utf-8")
    out_csv = tmp_path / "s.csv"
    score_to_file(model, iter_comments([src]), out_csv, progress=False)
    rows = list(csv.DictReader(open(out_csv, newline="", encoding="utf-8")))
    assert [r["id"] for r in rows] == ["0", "1", "2"]
    assert all(0 <= float(r["score_threat"]) <= 1 for r in rows)
    out_pq = tmp_path / "s.parquet"
    score_to_file(model, iter_comments([src]), out_pq, progress=False)
    table = pq.read_table(out_pq)
    assert table.num_rows == 3 and "score_profanity" in table.column_names


def test_workers_give_the_same_output(model, models_dir, tmp_path):
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        for i in range(5000):
            w.writerow([f"c{i}", f"comment {i} you idiot" if i % 3 else f"talks number {i}"])
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_to_file(model, iter_comments([src]), one, progress=False)
    from moderation.model import resolve_model_dir

    score_to_file(model, iter_comments([src]), two, progress=False, workers=2,
                  model_dir=resolve_model_dir(models_dir))
    assert one.read_text() == two.read_text()


def test_failure_leaves_no_partial_output(model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": 5}\n', encoding="utf-8")
    out = tmp_path / "s.jsonl"
    out.write_text("previous run\n")
    with pytest.raises(ArchiveError, match="in.jsonl:2"):
        score_to_file(model, iter_comments([src]), out, progress=False)
    assert out.read_text() == "previous run\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unsupported_output_format(model, tmp_path):
    with pytest.raises(InputError, match="unsupported output format"):
        score_to_file(model, iter(()), tmp_path / "s.xlsx", progress=False)
