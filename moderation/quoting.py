"""Quoting and counter-speech: a comment that quotes or condemns an attack is not the attack.

A linear model reads the words of a quoted slur ("Calling Armenians 'dogs' is disgraceful") as
it reads the slur. `review_quoted` turns the model's automatic rejection of such a comment into a
review by a moderator, never into an allow, in two cases:

- quoted: the comment has a passage in quotation marks, and without the quoted passages no
  category it violates stays at or above its reject threshold (the evidence is inside the quotes);
- counter-speech: the comment judges what someone said or did, in the same sentence ("saying so
  is hateful", "... has no place here", "stop calling people ...", "I condemn anyone who ...",
  "the man who wrote ... should be banned"). Judgements that also open an insult ("you are
  wrong", "you should be ashamed") are not counted: over the held-out labelled comments they
  let off more attacks than they spared quotes.

Word-list hits are not concerned: the policy already sends a quoted term to review.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from moderation.policy import _QUOTED as QUOTED  # the quotation marks the word list also honours
from moderation.policy import Decision

if TYPE_CHECKING:
    from moderation.model import Model

__all__ = ["counter_speech", "may_review", "review_quoted", "review_quoted_many", "without_quotes"]

_JUDGEMENT = (
    r"racis[mt]|bigot(?:ry|ed)|hateful|hate speech|xenophobi[ac]|disgraceful|shameful|"
    r"unacceptable|inexcusable|a (?:war |hate )?crime"
)
_SPEECH = r"calling|saying|insulting|hating|threatening|using|shouting|writing|that|this|which|so"
# The frames of a judgement of what was said or done, in the same sentence, each with the words
# (lower-cased) one of which every match of it holds.
_FRAMES = (
    (rf"\b(?:{_SPEECH})\b[^.!?;\n]{{0,80}}?\b(?:is|are|was|were|'s)"
     r"(?: so| just| plain| simply| exactly| clearly| also| nothing but)? (?:" + _JUDGEMENT + r")\b",
     ("racis", "bigot", "hateful", "hate speech", "xenophobi", "disgraceful", "shameful", "unacceptable",
      "inexcusable", "crime")),
    (r"\b(?:has|have) no place\b", ("no place",)),
    (r"\b(?:is|are) never (?:ok|okay|acceptable|justified)\b", ("never",)),
    (r"\b(?:i|we) (?:strongly |firmly )?condemn\b", ("condemn",)),
    (r"\bstop (?:calling|saying)\b", ("stop",)),
    (r"\bwas fined for\b", ("fined for",)),
    (r"\b(?:who|which|that) (?:said|says|wrote|writes|called|calls|shouted|posted)\b[^.!?;\n]{0,80}?"
     r"\bshould be (?:banned|removed|punished|fined|prosecuted)\b", ("should be",)),
)
_FRAME = re.compile("|".join(pattern for pattern, _ in _FRAMES), re.IGNORECASE)
_EACH_FRAME = tuple((re.compile(pattern, re.IGNORECASE), words) for pattern, words in _FRAMES)


_REPORTING = (r"say|says|said|saying|write|writes|wrote|writing|call|calls|called|calling|shout\w*|chant\w*|"
              r"tweet\w*|post(?:s|ed)?|quot\w*|insult\w*|label\w*|word|words|term|terms|phrase|slogan")
_REPORTING_BEFORE = re.compile(rf"\b(?:{_REPORTING})\b[^.!?;\n]*$", re.IGNORECASE)
_REPORTING_AFTER = re.compile(r"[,\s]*(?:he|she|they|someone|people|it) (?:said|says|wrote|writes|shouted|tweeted)\b",
                              re.IGNORECASE)


def without_quotes(text: str) -> str | None:
    """`text` with every passage in quotation marks emptied, or None if it has none.

    Only passages reported as someone's words count: after a verb of saying or a word such as
    "word" or "term" earlier in the sentence, or followed by "he said"; scare quotes stay ("he
    looks like a 'damn fool'", "your thinking is filled with 'pathetic'"). A
    passage that spans most of the comment is how some archives wrap a whole comment: it stays.

    >>> without_quotes("Calling them 'dogs' is wrong")
    "Calling them '' is wrong"
    """
    ascii = text.isascii()
    if ascii and not _may_report(text.lower()):
        return None
    pieces, at = [], 0
    for m in QUOTED.finditer(text):
        if 2 * (m.end() - m.start()) > len(text.strip()):  # most of the comment: a wrapper, not a quote
            continue
        before = max(0, m.start() - 60)
        if not ((not ascii or _may_report(text[before : m.start()].lower()))
                and _REPORTING_BEFORE.search(text, before, m.start())
                or _REPORTING_AFTER.match(text, m.end())):  # scare quotes ("a 'damn fool'") are used
            continue
        pieces += [text[at : m.start() + 1], text[m.end() - 1 : m.end()]]
        at = m.end()
    if not pieces:
        return None
    return "".join(pieces) + text[at:]


# Every match of `_REPORTING_BEFORE` or `_REPORTING_AFTER` holds one of these (lower-cased).
_REPORTING_STEMS = ("say", "said", "writ", "wrote", "call", "shout", "chant", "tweet", "post", "quot", "insult",
                    "label", "word", "term", "phrase", "slogan")


def _may_report(lowered: str) -> bool:
    """False only if `_REPORTING_BEFORE` and `_REPORTING_AFTER` cannot match in the ASCII text whose
    lower case is `lowered` (outside ASCII, case-insensitive matching has more equivalences)."""
    for stem in _REPORTING_STEMS:  # a loop: quicker than any() over a generator
        if stem in lowered:
            return True
    return False


# Every match of `_FRAME` holds one of these (lower-cased), so an ASCII text holding none of them
# cannot match: a substring test is several times quicker than the search.
_FRAME_WORDS = tuple(word for _, words in _FRAMES for word in words)
# Every match of `QUOTED` begins with one of these.
_QUOTE_MARKS = ('"', "“", "‘", "«", "'")


def _may_frame(text: str) -> bool:
    """False only if `_FRAME` cannot match `text` (outside ASCII, case-insensitive matching has more
    equivalences than `str.lower`: those texts are always searched)."""
    if not text.isascii():
        return True
    lowered = text.lower()
    for word in _FRAME_WORDS:  # a loop: quicker than any() over a generator
        if word in lowered:
            return True
    return False


def _has_frame(text: str) -> bool:
    """`_FRAME.search(text) is not None`, quicker: for an ASCII text only the frames whose words it
    holds are searched for, each alone (a frame found anywhere is a match of their alternation)."""
    if not text.isascii():
        return _FRAME.search(text) is not None
    lowered = text.lower()
    for pattern, words in _EACH_FRAME:
        for word in words:
            if word in lowered:
                if pattern.search(text):
                    return True
                break
    return False


def may_review(text: str) -> bool:
    """False only if `review_quoted` cannot move any of the text's violations: no passage in
    quotation marks can be found in it and no counter-speech frame can match it.

    >>> may_review("You are an idiot."), may_review("Don't you dare."), may_review("Calling them 'dogs' is wrong")
    (False, False, True)
    """
    if not text.isascii() or '"' in text:  # the other double marks are not ASCII
        return True
    if "'" in text and _OPENING_APOSTROPHE.search(text):  # a single mark opens a passage only there
        return True
    return _may_frame(text)


# An apostrophe after no word character: where a passage in single marks (`QUOTED`) can begin;
# the apostrophe of "don't" cannot. The literal first lets the search skip to each apostrophe.
_OPENING_APOSTROPHE = re.compile(r"'(?<!\w')")


def counter_speech(text: str) -> str | None:
    """The phrase that frames `text` as condemning or reporting speech, or None.

    >>> counter_speech("Stop calling people names."), counter_speech("You are an idiot.")
    ('Stop calling', None)
    """
    if not _has_frame(text):
        return None
    return _FRAME.search(text).group()


def review_quoted(model: "Model", text: str, decision: Decision) -> Decision:
    """`decision` with the model's violations sent to review when they lie in quotes or counter-speech.

    Only categories rejected by the model's own score move; the comment goes to review, never to allow.
    """
    return review_quoted_many(model, [text], [decision])[0]


def review_quoted_many(model: "Model", texts: Sequence[str], decisions: Sequence[Decision],
                       hits: Sequence[list] | None = None) -> list[Decision]:
    """`review_quoted` of each text and its decision, the texts without their quotes scored in one call;
    `hits`, when given, are each text's word-list hits (`Policy.lexicon_hits`), already found."""
    out = list(decisions)
    pending: list[tuple[int, list[str], str | None]] = []  # (index, categories that may move, text without quotes)
    for j, (text, decision) in enumerate(zip(texts, decisions)):
        if not decision.violations:
            continue
        found = model.policy.lexicon_hits(text) if hits is None else hits[j]
        forced = {h.term.category for h in found if h.term.action == "reject" and not h.quoted}
        moving = [c for c in decision.violations if c not in forced]
        if moving:
            stripped = without_quotes(text)
            pending.append((j, moving, stripped if stripped is not None and stripped.strip() else None))
    stripped_texts = [stripped for _, _, stripped in pending if stripped is not None]
    proba = iter(model.predict_proba(stripped_texts)) if stripped_texts else iter(())
    order = {name: i for i, name in enumerate(model.categories)}
    for j, moving, stripped in pending:
        reason = None
        if stripped is not None:
            scores = dict(zip(model.categories, next(proba)))
            if all(scores[c] < model.thresholds[c]["reject"] for c in moving):
                reason = "the violation lies in quotation marks (quoting is not using): review"
        if reason is None:
            frame = counter_speech(texts[j])
            if frame is not None:
                reason = f"counter-speech ({frame!r}): review"
        if reason is None:
            continue
        decision = out[j]
        violations = [c for c in decision.violations if c not in moving]
        out[j] = Decision(
            decision="reject" if violations else "review",
            violations=violations,
            review=sorted(set(decision.review) | set(moving), key=order.__getitem__),
            reasons=decision.reasons + [reason],
        )
    return out
