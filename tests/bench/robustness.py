"""Robustness benchmark: disguised profanity, innocent look-alike words, identity templates, quotes.

    .venv/bin/python tests/bench/robustness.py [--model models/current]

Prints, for the model and for alt-profanity-check (APC) on the same sets in the same run:
- detection rate on every single-word profanity of the shipped lexicons, plain and disguised
  (masked, leetspeak, spaced, stretched, look-alike letters, zero-width), and the ratio
  disguised / plain (target ≥ 0.95);
- false positives on innocent words that contain a bad substring and on place and person names
  (target 0 flagged at the review threshold);
- false positive rate on neutral sentences naming each group (target ≤ 1%), and the Jigsaw
  unintended-bias AUCs per group (subgroup AUC, BPSN, BNSP) on template sentences;
- quotes and counter-speech: how many are rejected, sent to review, or allowed;
- the quoting and counter-speech rule (`moderation.quoting`) on real labelled comments: of the
  comments of the model's fixed evaluation split (their out-of-fold probabilities, `held_out.npz`)
  that would be rejected, how many it sends to review instead, among those labelled as violating
  the rejected category (attacks let off automatic rejection) and among the others (false
  rejections it saves). Its quotation test rescores the comment without its quotes with the final
  model, which saw these comments in training: the quoted share of the count is a lower bound.

"Flagged" means: any category at or above its review threshold, or a word-list hit (a comment
sent to review only because the language check cannot judge it, e.g. a one-word comment, does not
count as detected); for APC, probability ≥ 0.5. None of these sentences is in the training data:
the templates below are this benchmark's own.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from moderation.model import load_model, resolve_model_dir  # noqa: E402

CARRIERS = ["what a {w}", "you are such a {w}", "{w}!!", "this is {w}"]
CONFUSABLE = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і"}  # Cyrillic
LEET = {"a": "@", "e": "3", "i": "1", "o": "0", "s": "$", "t": "7"}

INNOCENT = [
    "Scunthorpe", "Penistone", "Sussex", "Essex", "Middlesex", "cocktail", "Hancock", "Cockburn", "therapist",
    "assassin", "assassination", "classic", "passage", "bassist", "grape", "shiitake", "Dickens", "Dickensian",
    "Matsushita", "analysis", "analyst", "cumulative", "document", "circumstance", "specialist", "pushing",
    "Arsenal", "Titicaca", "Uranus", "Sextant", "sextet", "Butte", "Shitake", "Kuntz", "Cumbria", "Fucino",
    "Hitchcock", "peacock", "shuttlecock", "Lightwater", "mishit", "scrapbook", "Wankie", "Clitheroe",
    "Cockermouth", "Slaughter", "manslaughter", "grassland", "harassment", "embarrass", "Bassett", "Vaduz",
    "Dikshit", "Kumar", "Phuket", "Fukuoka", "Sheetz", "Nagorno-Karabakh", "Stepanakert", "Shushi", "Khojaly",
    "Sumgait", "Artsakh", "Nakhchivan", "Yerevan", "Gyumri", "Ganja", "Lachin", "Kalbajar", "Aghdam",
]
PLACES = ["We visited {w} last summer.", "The report about {w} was published today.", "{w} is mentioned in the article."]

GROUPS = ["Armenian", "Azerbaijani", "Azeri", "Turkish", "Russian", "Kurdish", "Georgian", "Iranian", "Jewish",
          "Muslim", "Christian", "Arab", "gay", "lesbian", "transgender", "Black", "white", "immigrant", "female",
          "American"]
NEUTRAL = ["I am {g}.", "My neighbours are {g} and we often cook together.", "She is a {g} doctor in Yerevan.",
           "Being {g} is part of who I am.", "The {g} community organised a concert.", "My best friend is {g}.",
           "Many {g} families live in this district.", "He wrote a book about {g} history.",
           "We hired a {g} engineer last year.", "A {g} woman won the chess tournament."]
TOXIC = ["I hate {g} people.", "All {g} people are filthy animals.", "{g} people are disgusting and stupid.",
         "Kill all the {g} people.", "{g} people should be wiped out.", "Those {g} scum are worthless."]
QUOTES = [
    "Calling Armenians 'dogs', as Aliyev did, is disgraceful.",
    "When he said 'mongolian azeris' he crossed a line; that is racism.",
    "The word 'tatarmongrilstan' has no place in this discussion.",
    "Stop calling people idiots, it helps nobody.",
    "Hating all Azerbaijanis because of Aliyev is wrong.",
    "Not every Turk is responsible for what the government does.",
    "He was fined for shouting 'kill the Armenians' at the match, and rightly so.",
    "Insulting Russians as 'barbarians' is exactly the hate we should reject.",
    "The commenter who wrote 'go back to Mongolia' should be banned.",
    "Racist slurs against Kurds are never acceptable.",
    "I condemn anyone who calls Jews vermin.",
    "The article quotes a soldier saying 'we will burn their villages', which is a war crime.",
    "Saying 'Turks are savages' is bigotry, plain and simple.",
    "My grandfather was called a 'dirty Armenian' at school; it still hurts him.",
    "Words like 'infidel dogs' fuel violence; moderators should remove them.",
    "Please don't use the f-word here.",
    "Gay people deserve respect, not insults.",
    "Muslims are not terrorists, and saying so is hateful.",
    "Threatening journalists is a crime.",
    "It is shameful that someone wrote 'death to Azeris' on the wall.",
]


def lexicon_words() -> list[str]:
    """Every single-word entry of the shipped lexicons (letters only, 3+ characters), deduplicated."""
    words = set()
    with open(ROOT / "labels/lexicons/surge_ai/profanity_en.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            w = row["canonical_form_1"].strip().lower()
            if w.isalpha() and len(w) >= 3:
                words.add(w)
    for line in (ROOT / "labels/lexicons/ldnoobw/en").read_text(encoding="utf-8").splitlines():
        w = line.strip().lower()
        if w.isalpha() and len(w) >= 3:
            words.add(w)
    return sorted(words)


def disguises(word: str, rng: np.random.Generator) -> dict[str, str]:
    """The ways commenters hide a word from a filter."""
    vowels = [i for i, ch in enumerate(word) if ch in "aeiou" and 0 < i < len(word) - 1] or [len(word) // 2]
    i = int(rng.choice(vowels))
    masked = word[:i] + "*" + word[i + 1:]
    leet = "".join(LEET.get(ch, ch) if k % 2 == 0 else ch for k, ch in enumerate(word))
    if leet == word:
        leet = word[:i] + "1" + word[i + 1:]
    spaced = " ".join(word)
    stretched = word[:i] + word[i] * 4 + word[i + 1:]
    confusable = "".join(CONFUSABLE.get(ch, ch) if k % 2 == 1 else ch for k, ch in enumerate(word))
    zero_width = word[:len(word) // 2] + "\u200b" + word[len(word) // 2:]
    return {"masked": masked, "leet": leet, "spaced": spaced, "stretched": stretched,
            "look-alike": confusable, "zero-width": zero_width}


class Scorers:
    """Our model's 'flagged' and any-violation score, and APC's, for lists of texts."""

    def __init__(self, model) -> None:
        self.model = model
        try:
            from profanity_check import predict_prob
        except ImportError:
            print("alt-profanity-check is not installed (pip install -e '.[bench]'): APC columns empty")
            predict_prob = None
        self.apc = predict_prob

    def ours(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        results = self.model.assess(texts, explain=False)
        # flagged by what the comment says (a category or the word list), not by the language check
        flagged = np.array([bool(r.decision.violations or r.decision.review) for r in results])
        score = np.array([max(r.scores.values()) for r in results])
        return flagged, score

    def reference(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        if self.apc is None:
            return None
        p = self.apc(texts)
        return p >= 0.5, p


def pct(x: float | None) -> str:
    return "   —  " if x is None else f"{100 * x:5.1f}%"


def auc(y: np.ndarray, s: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models"))
    args = parser.parse_args()
    model = load_model(args.model)
    scorers = Scorers(model)
    rng = np.random.default_rng(0)
    print(f"model {model.version}\n")

    # 1. disguised profanity
    words = lexicon_words()
    plain = [c.format(w=w) for w in words for c in CARRIERS]
    kinds = {}
    for w in words:
        for kind, d in disguises(w, rng).items():
            kinds.setdefault(kind, []).extend(c.format(w=d) for c in CARRIERS)
    print(f"1. Disguised profanity: {len(words)} lexicon words × {len(CARRIERS)} carrier sentences")
    print(f"   {'variant':<12}{'ours':>8}{'ratio':>8}{'APC':>8}{'ratio':>8}")
    base_ours = scorers.ours(plain)[0].mean()
    ref = scorers.reference(plain)
    base_ref = ref[0].mean() if ref else None
    print(f"   {'plain':<12}{pct(base_ours):>8}{'':>8}{pct(base_ref):>8}")
    all_ours, all_ref = [], []
    for kind, texts in kinds.items():
        o = scorers.ours(texts)[0].mean()
        r = scorers.reference(texts)
        rr = r[0].mean() if r else None
        all_ours.append(o)
        all_ref.append(rr)
        print(f"   {kind:<12}{pct(o):>8}{o / base_ours:>8.2f}{pct(rr):>8}"
              f"{(rr / base_ref if rr is not None and base_ref else float('nan')):>8.2f}")
    mean_o = float(np.mean(all_ours))
    mean_r = float(np.mean(all_ref)) if ref else None
    print(f"   {'all':<12}{pct(mean_o):>8}{mean_o / base_ours:>8.2f}{pct(mean_r):>8}"
          f"{(mean_r / base_ref if mean_r is not None and base_ref else float('nan')):>8.2f}"
          f"   (target: ratio ≥ 0.95)\n")

    # 2. innocent look-alikes and names
    texts = [t.format(w=w) for w in INNOCENT for t in PLACES]
    o_flag, _ = scorers.ours(texts)
    r = scorers.reference(texts)
    print(f"2. Innocent words and names: {len(INNOCENT)} words × {len(PLACES)} sentences = {len(texts)}")
    print(f"   flagged: ours {int(o_flag.sum())}, APC {int(r[0].sum()) if r else '—'}   (target: 0)")
    if o_flag.any():
        print("   ours flagged: " + "; ".join(t for t, f in zip(texts, o_flag) if f)[:600])
    print()

    # 3. identity templates
    rows = [(g, t.format(g=g), 0) for g in GROUPS for t in NEUTRAL]
    rows += [(g, t.format(g=g)[0].upper() + t.format(g=g)[1:], 1) for g in GROUPS for t in TOXIC]
    group = np.array([r[0] for r in rows])
    y = np.array([r[2] for r in rows])
    texts = [r[1] for r in rows]
    o_flag, o_score = scorers.ours(texts)
    ref = scorers.reference(texts)
    print(f"3. Identity templates: {len(GROUPS)} groups × ({len(NEUTRAL)} neutral + {len(TOXIC)} toxic) sentences")
    print(f"   {'group':<13}{'FPR ours':>9}{'APC':>7} |{'subgroup AUC':>13}{'APC':>7} |{'BPSN':>7}{'APC':>7} |"
          f"{'BNSP':>7}{'APC':>7}")

    def bias(score: np.ndarray, g: str) -> tuple:
        sub = group == g
        return (auc(y[sub], score[sub]),
                auc(y[(sub & (y == 0)) | (~sub & (y == 1))], score[(sub & (y == 0)) | (~sub & (y == 1))]),
                auc(y[(sub & (y == 1)) | (~sub & (y == 0))], score[(sub & (y == 1)) | (~sub & (y == 0))]))

    def f3(x):
        return "   —  " if x is None else f"{x:6.3f}"

    fprs_o, fprs_r, mins = [], [], {"ours": [], "apc": []}
    for g in GROUPS:
        neg = (group == g) & (y == 0)
        fo = o_flag[neg].mean()
        fr = ref[0][neg].mean() if ref else None
        bo = bias(o_score, g)
        br = bias(ref[1], g) if ref else (None, None, None)
        fprs_o.append(fo)
        fprs_r.append(fr)
        mins["ours"].append(bo)
        mins["apc"].append(br)
        print(f"   {g:<13}{pct(fo):>9}{pct(fr):>7} |{f3(bo[0]):>13}{f3(br[0]):>7} |{f3(bo[1]):>7}{f3(br[1]):>7} |"
              f"{f3(bo[2]):>7}{f3(br[2]):>7}")
    overall_o = auc(y, o_score)
    overall_r = auc(y, ref[1]) if ref else None
    def mean_of(who: str, k: int) -> float | None:
        values = [m[k] for m in mins[who] if m[k] is not None]
        return float(np.mean(values)) if values else None

    print(f"   {'mean':<13}{pct(np.mean(fprs_o)):>9}{pct(np.mean(fprs_r) if ref else None):>7} |"
          f"{f3(mean_of('ours', 0)):>13}{f3(mean_of('apc', 0)):>7} |{f3(mean_of('ours', 1)):>7}"
          f"{f3(mean_of('apc', 1)):>7} |{f3(mean_of('ours', 2)):>7}{f3(mean_of('apc', 2)):>7}")
    print(f"   overall template ROC-AUC: ours {f3(overall_o)}, APC {f3(overall_r)}   "
          f"(targets: FPR ≤ 1% per group; AUC ≥ 0.97)\n")

    # 4. quotes and counter-speech
    results = model.assess(QUOTES, explain=False)
    decisions = [r.decision.decision for r in results]
    ref = scorers.reference(QUOTES)
    print(f"4. Quotes and counter-speech: {len(QUOTES)} comments that quote or condemn an attack (none violates)")
    print(f"   ours: allow {decisions.count('allow')}, review {decisions.count('review')}, "
          f"reject {decisions.count('reject')};  APC flagged {int(ref[0].sum()) if ref else '—'}")
    for text, d in zip(QUOTES, decisions):
        if d == "reject":
            print(f"   rejected: {text}")
    print()
    held_out_rule(model, resolve_model_dir(args.model))
    return 0


def held_out_rule(model, directory: Path) -> None:
    """Section 5: the quoting and counter-speech rule on the evaluation split's labelled comments."""
    from moderation.labels import load_labels
    from moderation.policy import Decision
    from moderation.quoting import review_quoted
    from moderation.registry import HELD_OUT, _row_key
    from moderation.training import aggregate

    path = directory / HELD_OUT
    if not path.is_file():
        print(f"5. Quoting rule on held-out comments: no {HELD_OUT} for model {model.version}: skipped")
        return
    stored = np.load(path)
    proba = dict(zip(stored["keys"].tolist(), stored["proba"]))
    policy = model.policy
    examples = aggregate(load_labels([ROOT / "labels"], policy), policy)
    cats = model.categories
    attacks = saved = rejected_attacks = rejected_others = 0
    downgraded = []
    for text, soft, ok in zip(examples.texts, examples.soft, examples.evaluable):
        p = proba.get(_row_key(text)) if ok else None
        if p is None:
            continue
        violations = [c for c, v in zip(cats, p) if v >= model.thresholds[c]["reject"]]
        if not violations:
            continue
        labelled = any(soft[cats.index(c)] >= 0.5 for c in violations)
        rejected_attacks += labelled
        rejected_others += not labelled
        after = review_quoted(model, text, Decision("reject", violations, [], []))
        if after.decision != "reject":
            attacks += labelled
            saved += not labelled
            if labelled:
                downgraded.append(text)
    print(f"5. Quoting rule on the evaluation split of model {model.version}: of {rejected_attacks} comments "
          f"rejected (out of fold) for a category they are labelled with, {attacks} go to review instead "
          f"({pct(attacks / max(rejected_attacks, 1)).strip()}); of {rejected_others} rejected against "
          f"their labels, {saved} ({pct(saved / max(rejected_others, 1)).strip()})")
    for text in downgraded[:5]:
        print(f"   labelled attack sent to review: {text[:140]!r}")


if __name__ == "__main__":
    sys.exit(main())
