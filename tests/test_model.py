"""Training, saving and loading the model: round trip, checksums, spans, card."""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest

from moderation.errors import InputError, ModelError
from moderation.files import sha256_file
from moderation.model import load_model, resolve_model_dir
from moderation.training import aggregate, near_duplicate_groups


def test_round_trip_gives_identical_scores(model, models_dir, tmp_path):
    texts = ["you are an idiot", "the talks resumed on monday", "what the fuck"]
    again = load_model(models_dir)
    np.testing.assert_array_equal(model.predict_proba(texts), again.predict_proba(texts))
    assert model.version == again.version == resolve_model_dir(models_dir).name


def test_model_learns_the_tiny_corpus(model):
    p = model.predict_proba(["you stupid idiot", "the minister visited on monday", "i will kill you"])
    cats = model.categories
    assert p[0, cats.index("personal_attack")] > p[1, cats.index("personal_attack")]
    assert p[2, cats.index("threat")] > p[1, cats.index("threat")]
    assert ((p >= 0) & (p <= 1)).all()


def test_card_records_data_metrics_and_versions(model):
    card = model.card
    assert card["categories"] == ["profanity", "personal_attack", "identity_attack", "threat"]
    assert card["training_data"]["label_rows"] == 28
    assert all(len(h) == 64 for h in card["training_data"]["files"].values())
    assert card["training_data"]["rows_per_source_and_category"]["outlet"]["threat"]["1"] == 4
    assert "scikit-learn" in card["libraries"]
    assert set(card["cross_validation"]["metrics"]) == set(card["categories"]) | {"any_violation"}
    assert set(card["files"]) == {"model.joblib", "policy.toml", "scoring.npz"}


def test_spans_point_into_the_original_text(model):
    text = "Well, you  STUPID idiot!"
    spans = model.explain(text)
    assert spans, "an insult must come with evidence"
    for span in spans:
        assert text[span.start:span.end] == span.text
    attack = [s.text for s in spans if s.category == "personal_attack"]
    assert any(w.lower() in ("stupid", "idiot") for w in attack)


def test_assess_includes_lexicon_hits(model):
    text = "Tatarmongrilstan will shatter"
    result = model.assess([text])[0]
    lexicon = [s for s in result.spans if s.source == "lexicon"]
    assert lexicon and text[lexicon[0].start:lexicon[0].end].lower() == "tatarmongrilstan"
    assert result.decision.decision == "reject"


@pytest.mark.parametrize("text, message", [("", "empty text"), ("   \n", "empty text"),
                                           (42, "expected a string"), ("x" * 20001, "limit is 20000")])
def test_check_text_rejects_bad_input(model, text, message):
    with pytest.raises(InputError, match=message):
        model.check_text(text)


def tampered_copy(models_dir, tmp_path, name: str):
    """A copy of the model directory in which file `name` has one byte more."""
    copy = tmp_path / "m"
    shutil.copytree(resolve_model_dir(models_dir), copy)
    with open(copy / name, "ab") as fh:
        fh.write(b"\0")
    return copy


def test_tampered_artifact_is_refused(models_dir, tmp_path):
    copy = tampered_copy(models_dir, tmp_path, "model.joblib")
    with pytest.raises(ModelError, match="checksum"):
        load_model(copy)


def test_missing_or_broken_model_dirs(tmp_path, models_dir):
    with pytest.raises(ModelError, match="no model here"):
        load_model(tmp_path / "absent")
    with pytest.raises(ModelError, match="not a model directory"):
        load_model(tmp_path)
    copy = tmp_path / "m"
    shutil.copytree(resolve_model_dir(models_dir), copy)
    (copy / "card.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(ModelError, match="unreadable model card"):
        load_model(copy)
    card_less = tmp_path / "n"
    shutil.copytree(resolve_model_dir(models_dir), card_less)
    card = json.loads((card_less / "card.json").read_text())
    del card["files"]
    (card_less / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="no checksums"):
        load_model(card_less)


def test_saving_twice_under_one_version_is_refused(model, tmp_path):
    model = copy.copy(model)  # save() records the version on the instance: keep the session's intact
    model.save(tmp_path, version="v1")
    assert (tmp_path / "current").resolve().name == "v1"
    with pytest.raises(ModelError, match="already exists"):
        model.save(tmp_path, version="v1")


def test_near_duplicates_share_a_group():
    texts = ["The talks failed again today, said the minister of foreign affairs in Baku on Monday",
             "the talks failed again today said the minister of foreign affairs in baku on monday!!",
             "Completely different comment about the weather and nothing else whatsoever here",
             "short", "SHORT"]
    groups = near_duplicate_groups(texts)
    assert groups[0] == groups[1] and groups[3] == groups[4] and groups[0] != groups[2]


def test_aggregate_turns_raters_into_soft_labels(policy):
    from moderation.labels import LabelSet

    labels = LabelSet(categories=policy.names, texts=["a b", "A  b", "c"], sources=["toxicspans"] * 3,
                      annotators=["r1", "r2", ""], ids=["1", "1", "2"], files=["f"] * 3, lines=[2, 3, 4],
                      values=np.array([[1, 0, np.nan, 0], [0, 0, np.nan, 0], [0, 0, 0, 0]], dtype=np.float32))
    ex = aggregate(labels, policy)
    assert len(ex.texts) == 2
    assert ex.soft[0, 0] == 0.5 and np.isnan(ex.soft[0, 2]) and ex.weight[0, 2] == 0


def test_text_the_model_cannot_read_goes_to_review(model):
    result = model.assess(["Hayer miyatsek hayrenikoom amenorya kasharakerootyan dem. Mer Teshnamin nersits e"])[0]
    assert result.decision.decision == "review"
    assert any(r.startswith("unsupported language") for r in result.decision.reasons)
    short = model.assess(["🙂🙂"])[0]
    assert short.decision.decision == "review" and "too little text to judge" in short.decision.reasons


SCORED = ["you are an idiot", "the talks resumed on monday", "what the fuck", "Élan VITAL 👍 naïve"] * 20


def _without_scoring_arrays(source, target):
    """A copy of the model directory `source` as saved before `scoring.npz` existed."""
    shutil.copytree(source, target)
    (target / "scoring.npz").unlink()
    card = json.loads((target / "card.json").read_text())
    del card["files"]["scoring.npz"]
    (target / "card.json").write_text(json.dumps(card))
    return target


def test_scoring_needs_no_unpickled_featuriser_and_gives_the_same_scores(model, models_dir):
    lazy = load_model(models_dir, explain=False)
    assert type(lazy._featurizer).__name__ == "_Deferred"
    for texts in (SCORED[:3], SCORED):  # one compiled call, and the chunked path
        np.testing.assert_array_equal(lazy.predict_proba(texts), model.predict_proba(texts))
    assert type(lazy._featurizer).__name__ == "_Deferred"  # scoring did not unpickle it
    assert lazy.explain("you are an idiot") == model.explain("you are an idiot")  # unpickled now
    assert type(lazy.featurizer).__name__ == "HashingTfidf"
    np.testing.assert_array_equal(lazy.predict_proba(SCORED), model.predict_proba(SCORED))


def test_a_directory_without_scoring_arrays_loads_from_the_pickle(model, models_dir, tmp_path):
    old = load_model(_without_scoring_arrays(resolve_model_dir(models_dir), tmp_path / "old"), explain=False)
    assert type(old.featurizer).__name__ == "HashingTfidf"
    np.testing.assert_array_equal(old.predict_proba(SCORED), model.predict_proba(SCORED))
    assert old.thresholds == model.thresholds
    saved = old.save(tmp_path / "again", version="v2")  # saving it again writes the arrays
    assert (saved / "scoring.npz").is_file()
    np.testing.assert_array_equal(load_model(saved).predict_proba(SCORED), model.predict_proba(SCORED))


def test_scoring_arrays_are_checked(models_dir, tmp_path):
    copy = tampered_copy(models_dir, tmp_path, "scoring.npz")
    with pytest.raises(ModelError, match="scoring.npz: checksum"):
        load_model(copy)
    with np.load(resolve_model_dir(models_dir) / "scoring.npz") as npz:
        arrays = dict(npz)
    arrays["idf"] = arrays["idf"][:10]
    np.savez(copy / "scoring.npz", **arrays)
    card = json.loads((copy / "card.json").read_text())
    card["files"]["scoring.npz"] = sha256_file(copy / "scoring.npz")
    (copy / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"scoring.npz: cannot load .*idf must be float32 of shape \(n_features,\)"):
        load_model(copy)


def test_the_featuriser_is_verified_again_when_unpickled_later(models_dir, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(resolve_model_dir(models_dir), copy)
    lazy = load_model(copy, explain=False)
    with open(copy / "model.joblib", "ab") as fh:
        fh.write(b"\0")
    assert lazy.predict_proba(["you idiot"]).shape == (1, 4)  # scoring reads nothing more
    with pytest.raises(ModelError, match="model.joblib: checksum"):
        lazy.explain("you idiot")


def test_moderation_score_imports_no_scikit_learn_nor_scipy_stats(models_dir, tmp_path):
    import subprocess
    import sys

    (tmp_path / "in.jsonl").write_text('{"id": "c1", "text": "you are an idiot"}\n', encoding="utf-8")
    script = (
        "import sys\n"
        "from moderation.cli import main\n"
        f"code = main(['score', {str(tmp_path / 'in.jsonl')!r}, '--out', {str(tmp_path / 'out.jsonl')!r},\n"
        f"             '--model', {str(models_dir)!r}, '--workers', '1', '--quiet'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn' or m.startswith('scipy.stats'))\n"
        "print(code, loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 []"
    assert json.loads((tmp_path / "out.jsonl").read_text())["id"] == "c1"
