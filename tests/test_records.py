"""A chunk of comments scored and encoded at once: the same records as scoring them one by one."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest

from moderation.archive import Comment
from moderation.records import Summary, record_columns, score_chunk, verdicts

TEXTS = [
    "what the fuck is this shit", "you are an idiot and a disgrace", "i will kill you and burn your house",
    "thank you for this balanced article", "the talks in vienna resumed on monday",
    "these barbaric people have no identity", "", "   \n ", "x" * 20_001,
    "Hayer miyatsek hayrenikoom amenorya kasharakerootyan dem",  # the model cannot judge it: never allow
    "Россия никогда не поддержит Азербайджан", "👍👍", "great reporting, keep it up",
    "those tatarmongrilstan people", 'he wrote "tatarmongrilstan" and was banned', "mongolian   azeris again",
    "“Quotes” — and an em dash, don’t worry", "@someone read https://example.com/x please",
    # quoting and counter-speech: the quoting rule applies to a chunk as to one comment
    'He shouted "you fucking idiot, I will kill you" at the referee, he said.',
    "Calling people stupid idiots is hateful, stop calling them that.",
]


def comments(texts=TEXTS, archive: bool = False) -> list[Comment]:
    return [Comment(id=f"c{i}", article="page" if archive and i % 2 else None, number=i if archive else None,
                    position=i + 1, parent=f"c{i - 1}" if archive and i % 3 == 0 and i else None,
                    author="Aram \"A\"" if archive else None, text=text, is_reply=False)
            for i, text in enumerate(texts)]


def expected_records(model, chunk: list[Comment]) -> list[dict]:
    """The records as `Model.assess` gives them, one comment at a time."""
    out = []
    for c in chunk:
        record = {"id": c.id, "article": c.article, "number": c.number, "parent": c.parent, "author": c.author,
                  "scores": None, "decision": None, "violations": [], "review": [], "note": ""}
        try:
            model.check_text(c.text)
        except Exception as exc:
            record["note"] = "empty comment" if not c.text.strip() else str(exc).split(": ", 1)[-1]
        else:
            (a,) = model.assess([c.text], explain=False)
            record.update(scores=a.scores, decision=a.decision.decision, violations=a.decision.violations,
                          review=a.decision.review)
        out.append(record)
    return out


@pytest.mark.parametrize("archive", [False, True])
def test_jsonl_bytes_are_json_dumps_of_the_assessed_records(model, archive):
    chunk = comments(archive=archive)
    expected = expected_records(model, chunk)
    scored = score_chunk(model, chunk, ".jsonl")
    assert scored.payload == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in expected).encode("utf-8")
    assert scored.count == len(chunk)


def test_the_checks_that_change_decisions_are_applied(model):
    by_text = dict(zip(TEXTS, expected_records(model, comments())))
    assert by_text["Hayer miyatsek hayrenikoom amenorya kasharakerootyan dem"]["decision"] == "review"
    assert by_text["those tatarmongrilstan people"]["decision"] == "reject"  # a reject word-list term
    assert "identity_attack" in by_text['he wrote "tatarmongrilstan" and was banned']["review"] + \
        by_text['he wrote "tatarmongrilstan" and was banned']["violations"]
    assert by_text["x" * 20_001]["note"].startswith("text has 20001 characters")
    v = verdicts(model, comments())
    assert [v.decisions[row] if row >= 0 else None for row in v.rows] == [by_text[t]["decision"] for t in TEXTS]


def test_csv_rows_are_those_of_csv_writer(model):
    chunk = comments(archive=True)
    expected = expected_records(model, chunk)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    for r in expected:
        writer.writerow([r["id"], r["article"], r["number"], r["parent"], r["author"], r["decision"],
                         " ".join(r["violations"]), " ".join(r["review"]), r["note"]]
                        + [None if r["scores"] is None else r["scores"][c] for c in model.categories])
    assert score_chunk(model, chunk, ".csv").payload == buffer.getvalue().encode("utf-8")


def test_parquet_holds_the_same_records(model):
    chunk = comments(archive=True)
    expected = expected_records(model, chunk)
    table = pq.read_table(io.BytesIO(score_chunk(model, chunk, ".parquet").payload))
    assert table.column_names == record_columns(model.categories)
    rows = table.to_pylist()
    for row, r in zip(rows, expected):
        assert {k: row[k] for k in ("id", "article", "number", "parent", "author", "decision", "violations",
                                    "review", "note")} == {k: r[k] for k in row if not k.startswith("score_")}
        assert [row[f"score_{c}"] for c in model.categories] == (
            [None] * len(model.categories) if r["scores"] is None else [r["scores"][c] for c in model.categories])


def test_chunk_summary_counts_what_add_counts(model):
    chunk = comments(archive=True)
    expected = Summary()
    for r in expected_records(model, chunk):
        expected.add(r)
    merged = Summary()
    merged.merge(score_chunk(model, chunk[:7], ".jsonl").summary)
    merged.merge(score_chunk(model, chunk[7:], ".jsonl").summary)
    assert merged.as_dict() == expected.as_dict()
    assert expected.scored == len(chunk) - 3 and expected.not_scored["empty comment"] == 2


def test_an_empty_chunk_and_an_unknown_format(model):
    assert score_chunk(model, [], ".jsonl").payload == b""
    with pytest.raises(Exception, match="unsupported output format"):
        score_chunk(model, comments()[:2], ".xlsx")


def test_scores_are_rounded_as_python_rounds():
    import numpy as np

    from moderation.records import _round6

    rng = np.random.default_rng(7)
    values = np.concatenate([rng.random(20_000), rng.random(5_000) ** 8,
                             np.arange(2_000) / 1e6 + 5e-7, np.nextafter(np.arange(2_000) / 1e6 + 5e-7, 1),
                             [0.0, 1.0, 0.5, 1e-300, float("nan")]])
    values = values[: len(values) // 4 * 4].reshape(-1, 4)
    expected = [round(x, 6) for x in values.ravel().tolist()]
    got = _round6(values).ravel().tolist()
    assert [repr(x) for x in got] == [repr(x) for x in expected]


def _dumped(scores: list[list[float]], categories: tuple[str, ...]) -> bytes:
    """The JSON Lines of records holding only `scores`, as `_jsonl` writes them: the score objects by `repr`."""
    from moderation.records import _scores_template

    template = _scores_template(categories)
    return "".join(f'{{"id": "c{i}", "article": null, "number": null, "parent": null, "author": null, '
                   f'"scores": {template % tuple(row)}, "decision": "allow", "violations": [], "review": [], '
                   f'"note": ""}}\n' for i, row in enumerate(scores)).encode("utf-8")


def _verdicts_of(scores: list[list[float]]):
    from moderation.records import Verdicts

    n = len(scores)
    return Verdicts([""] * n, list(range(n)), scores, ["allow"] * n, [()] * n, [()] * n)


def test_score_objects_are_the_reprs_of_every_millionth():
    import numpy as np

    from moderation.records import _fill_scores

    millionths = np.arange(1_000_001, dtype=np.int64)
    got = _fill_scores(b"\0\n" * len(millionths), millionths.reshape(-1, 1), ("p",)).decode("ascii").split("\n")
    assert got[:-1] == [f'{{"p": {m / 1e6!r}}}' for m in range(1_000_001)]


@pytest.mark.parametrize("scores", [
    [[0.0, 1.0, 0.0001, 5e-06], [4.2e-05, 4e-05, 0.123456, 0.5], [0.99999, 1e-06, 9.9e-05, 0.1]],
    [[0.5, float("nan"), 0.1, 0.2]], [[0.5, -0.0, 0.1, 0.2]], [[1e-07, 0.5, 0.1, 0.2]], [[1.5, 0.5, 0.1, 0.2]],
])
def test_jsonl_scores_are_their_reprs_whatever_the_values(scores):
    from moderation.records import _jsonl

    categories = ("profanity", "personal_attack", "identity_attack", "threat")
    chunk = [Comment(id=f"c{i}", article=None, number=None, position=i + 1, parent=None, author=None, text="t",
                     is_reply=False) for i in range(len(scores))]
    assert _jsonl(chunk, _verdicts_of(scores), categories) == _dumped(scores, categories)


def test_outcomes_of_every_code_are_the_policy_s_decisions(policy):
    from itertools import product

    from moderation.records import _outcomes

    categories = tuple(policy.names)
    outcome = _outcomes(categories)
    for levels in product((0.0, 0.5, 0.99), repeat=len(categories)):  # under review, in review, over reject
        scores = dict(zip(categories, levels))
        code = sum(1 << j for j, p in enumerate(levels) if p == 0.99)
        code += sum(1 << (len(categories) + j) for j, p in enumerate(levels) if p == 0.5)
        decision = policy.decide(scores, {c: {"reject": 0.9, "review": 0.4} for c in categories})
        assert (outcome.decision[code], outcome.violations[code], outcome.review[code]) == (
            decision.decision, tuple(decision.violations), tuple(decision.review))


def test_a_chunk_of_texts_that_can_all_be_scored_and_one_with_repeats(model):
    texts = [t for t in TEXTS if t.strip() and len(t) <= 20_000]
    for chunk in (comments(texts, archive=True), comments(texts * 3 + texts[::-1], archive=False)):
        expected = expected_records(model, chunk)
        assert score_chunk(model, chunk, ".jsonl").payload == \
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in expected).encode("utf-8")
        v = verdicts(model, chunk)
        assert v.rows == list(range(len(chunk))) and v.notes == [""] * len(chunk)


def test_a_text_that_is_a_str_subclass_or_none_takes_the_checks(model):
    class Text(str):
        pass

    chunk = comments([Text("you are an idiot"), "thank you"]) + [
        Comment(id="none", article=None, number=None, position=3, parent=None, author=None, text=None, is_reply=False)]
    v = verdicts(model, chunk)
    assert v.rows == [0, 1, -1] and v.notes[2] == "empty comment"
