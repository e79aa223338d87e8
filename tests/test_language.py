"""Language support: which comments the English model can judge."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.archive import read_page
from moderation.language import Support, assess_support

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ARAM = "Hayer miyatsek (oo zayratsek) hayrenikoom amenorya kasharakerootyan dem. Mer Teshnamin nersits e aveli kan Azerbaijanits."

ENGLISH = [
    "Ilham Aliyev, hear us Armenians well: Artsakh was never part of Azerbaijan.",
    "Sarkisian and Aliyev met in Sochi again; Nalbandian said nothing about Stepanakert.",
    "Remember Sumgait and Baku. Nagorno-Karabakh will never be returned to the Azeris.",
    "aliyev and sarkisian met in sochi with medvedev about karabakh and artsakh",
    "teh goverment of aliyev is corupt and evrybody knws it, stpid dictatr",
    "Turks, Kurds, Russians, Jews, Muslims and Christians all lived in Kars once.",
    "YOU ARE A DISGRACE TO EVERY ARMENIAN",
    "You f*cking іdiot, nobody cares about your fuuuuck ups",
    "уоu аrе аn іdіоt",  # Cyrillic look-alikes: the model sees Latin letters
    "Free Artsakh!",
]

FOREIGN_LATIN = [
    ARAM,
    "Mer hayrenike mer tunn e, menq petq e paytarenq minchev verj",
    "Ermeniler bizim topraklarimizi isgal etti ve hala inkar ediyorlar",
    "Qarabağ Azərbaycandır və həmişə bizim olacaq, ermənilər bunu bilməlidir",
    "No entiendo por que el gobierno no hace nada contra esta guerra",
]

OTHER_SCRIPT = [
    ("Россия никогда не поддержит Азербайджан в этой войне", "Cyrillic"),
    ("Հայերը միշտ կպաշտպանեն իրենց հայրենիքը", "Armenian"),
    ("لا أفهم لماذا لا تفعل الحكومة شيئا", "Arabic"),
    ("Ελλάδα και Αρμενία μαζί", "Greek"),
    ("Ok Россия Армения Азербайджан", "Cyrillic"),
]

TOO_LITTLE = ["", "   ", "👍👍🔥", "!!!", "2020", "https://example.com/a/b", "@Nairian", "Disgraceful."]


@pytest.mark.parametrize("text", ENGLISH)
def test_english_comments_full_of_names_and_typos_are_supported(text: str) -> None:
    support = assess_support(text)
    assert support == Support(True, "", support.latin_share, support.english_share, support.words)
    assert support.latin_share == 1.0


@pytest.mark.parametrize("text", FOREIGN_LATIN)
def test_latin_letters_but_not_english(text: str) -> None:
    support = assess_support(text)
    assert not support.supported
    assert support.reason == "unsupported language: few English words"
    assert support.latin_share == 1.0 and support.english_share < 0.2


@pytest.mark.parametrize("text, script", OTHER_SCRIPT)
def test_mostly_another_script(text: str, script: str) -> None:
    support = assess_support(text)
    assert not support.supported
    assert support.reason == f"unsupported language: mostly {script} script"
    assert support.latin_share < 0.5


@pytest.mark.parametrize("text", TOO_LITTLE)
def test_too_little_text(text: str) -> None:
    support = assess_support(text)
    assert (support.supported, support.reason) == (False, "too little text to judge")
    assert support.words < 2


def test_an_english_sentence_with_a_russian_name_is_supported() -> None:
    assert assess_support("I watched the news about Россия and Armenia tonight").supported


def test_spam_repeating_one_word_weighs_as_one_word() -> None:
    assert assess_support("Poop boy. You. Poop poop poop poop poop poop poop poop poop boy!").supported


def test_measures() -> None:
    support = assess_support("Hello Россия, hello Армения")
    assert support.words == 4
    assert 0.0 < support.latin_share < 1.0
    assert 0.0 <= support.english_share <= 1.0


def test_only_the_transliterated_armenian_comment_of_the_seed_pages_is_unsupported() -> None:
    decisions = {
        c.id: assess_support(c.text)
        for page in sorted(SEEDS.glob("*.txt"))
        for c in read_page(page).comments
        if c.text.strip()  # an empty comment has nothing to judge; scoring refuses it anyway
    }
    assert len(decisions) > 40
    unsupported = {cid: s.reason for cid, s in decisions.items() if not s.supported}
    assert unsupported == {"000_c87f713ab8df9e35:19": "unsupported language: few English words"}


def test_many_at_once_gives_each_answer(tmp_path):
    from moderation.language import assess_support_many

    texts = ENGLISH + FOREIGN_LATIN + [t for t, _ in OTHER_SCRIPT] + TOO_LITTLE + [
        "don't 'quote' ''x'' it's", "“Curly” quotes — don’t they count?", "OK with a Kelvin sign: \u212aelvin is cold",
        "a b c d e f", "The THE the tHe", "fuuuuck fuuuuck fuuuuck", "@who www.x.org mail@x.org hi there"]
    assert assess_support_many(texts) == [assess_support(t) for t in texts]
    assert [s.supported for s in assess_support_many(ENGLISH)] == [True] * len(ENGLISH)
    assert assess_support_many([]) == []


def test_supported_many_answers_as_assess_support():
    from moderation.language import supported_many

    texts = ENGLISH + FOREIGN_LATIN + ["", "ok", "don't 'quote' me''on it'", "'", "see https://x.org now you fool",
                                       "Россия и Армения", "ты идиот, you know it", "👍👍"]
    assert supported_many(texts) == [assess_support(t).supported for t in texts]
    assert supported_many([]) == []


@pytest.mark.parametrize("text", ["don't", "'quoted' words", "a''b", "end'", "'", "rock'n'roll isn't 'dead'", "x ' y"])
def test_ascii_words_are_the_word_pattern_s(text):
    from moderation.language import _WORD, _ascii_words, _common_counts

    assert _ascii_words(text) == _WORD.findall(text)
    lowered = _WORD.findall(text.lower())
    from moderation.language import _COMMON_LONGER_WORDS
    assert _common_counts(text) == (len(lowered), len(set(lowered) & _COMMON_LONGER_WORDS))


@pytest.mark.parametrize("char", ["µ", "㋐", "ｶ", "а"])  # micro sign -> Greek mu, circled and half-width katakana
def test_a_character_that_folds_to_another_script_takes_the_full_check(char):
    from moderation.language import _latin_only
    from moderation.normalize import normalize

    assert not _latin_only(f"this is {char}")
    assert _latin_only("don’t “quote” me — café, ﬁne, Ⓐ, ℃")
    assert not _latin_only("’ — ’")  # no letter at all: its normalised form may have none either
    assert normalize("µ").isalpha() and not normalize("µ").isascii()


def test_the_steps_after_folding_write_only_ascii_letters():
    """What `_latin_only`'s proof reads from normalisation's tables."""
    from moderation import normalize as n
    from moderation.vocabulary import _words

    assert all(v.isascii() and v.isalpha() for v in n._LEET.values())  # leetspeak
    assert all(t.isascii() and t.isalpha() for t in n._confusables().other.values())  # look-alikes (step 2)
    assert all(w.isascii() and w.isalpha() for w in _words()[1])  # the readings of masks and runs


@pytest.fixture(scope="module")
def label_and_seed_texts() -> list[str]:
    from moderation.inputs import iter_comments
    from moderation.labels import load_labels
    from moderation.policy import Policy

    root = SEEDS.parent
    texts = list(load_labels([root / "labels"], Policy.load(root / "labels" / "policy.toml")).texts)
    return texts + [c.text for c in iter_comments([SEEDS])]


def test_the_latin_only_path_answers_as_the_full_check_on_every_label_and_seed_text(label_and_seed_texts, monkeypatch):
    from moderation import language

    texts = [t for t in label_and_seed_texts if not t.isascii()]  # the path changes nothing else
    assert sum(language._latin_only(language._without_links(t)) for t in texts) > 5_000
    fast = language.assess_support_many(texts), language.supported_many(texts)
    monkeypatch.setattr(language, "_latin_only", lambda text: False)  # every non-ASCII text normalised
    assert fast == (language.assess_support_many(texts), language.supported_many(texts))


def test_the_compiled_count_of_common_words_is_the_python_one(label_and_seed_texts):
    from moderation.language import _common_counts, _common_counts_many, _without_links

    texts = [_without_links(t) for t in label_and_seed_texts if t.isascii()]
    texts += ["", "'", "''", "a'", "'a", "don't", "a''b", "x ' y", "rock'n'roll isn't 'dead'", "The THE the", "I i a"]
    words, common = _common_counts_many(texts)
    assert list(zip(words.tolist(), common.tolist())) == [_common_counts(t) for t in texts]
    assert [a.tolist() for a in _common_counts_many([])] == [[], []]


@pytest.mark.parametrize("text", ["@who www.x.org mail@x.org hi", "a@b.com.+c@d.org x", "@john.doe@x.com",
                                  "see\nhttp://x.org/a b\tc@d.ef", "x  @y  ", "www.a.b@c.d", "é@ü.de ’@x’", "@", ""])
def test_links_are_blanked_piece_by_piece_as_in_the_whole_text(text):
    from moderation.language import _IGNORED, _without_links

    assert _without_links(text) == _IGNORED.sub(" ", text)


def test_the_compiled_count_of_marked_texts_is_the_word_pattern_s(label_and_seed_texts):
    from moderation.language import _COMMON_LONGER_WORDS, _WORD, _common_counts_many, _without_links

    texts = [t for t in map(_without_links, label_and_seed_texts) if not t.isascii()]
    texts += ["don’t ’ ’tis it’s’", "l’homme’’s a’b’c", "café ĸ \u212aelvin ÿes", "\x01a\x02b c’\x01d", "’’", "x’", "’x",
              "the ² and", "it’s the don't"]
    words, common = _common_counts_many(texts, marked=True)
    expected = []
    for text in texts:
        found = _WORD.findall(text)
        expected.append((len(found), len({w.lower() for w in found if w.isascii()} & _COMMON_LONGER_WORDS)))
    assert list(zip(words.tolist(), common.tolist())) == expected


def test_supported_many_answers_as_the_full_check_on_every_label_and_seed_text(label_and_seed_texts):
    from moderation import language

    texts = label_and_seed_texts + ["don’t you dare", "l’été est là", "it’s ’ the end", "\x01 the \x02 and"]
    assert language.supported_many(texts) == [s.supported for s in language.assess_support_many(texts)]


@pytest.mark.parametrize("text", ["a@b@c d", "www.x://y z@", "  @a  @b ", "x@y.z www.q.r http://s.t/u", "@@ :// www.",
                                  "no mark at all", "@", "mail me@x.org, or www.y.org", "end www."])
def test_link_pieces_are_the_pieces_between_spaces_that_hold_a_mark(text):
    from moderation.language import _link_pieces

    pieces, at = [], 0
    for piece in text.split(" "):
        if "@" in piece or "://" in piece or "www." in piece:
            pieces.append((at, at + len(piece)))
        at += len(piece) + 1
    assert _link_pieces(text) == pieces


def test_the_full_check_of_cleaned_texts_is_assess_support_s(label_and_seed_texts):
    from moderation.language import _assess_cleaned, _latin_only, _mostly_common, _without_links, assess_support_many

    texts = label_and_seed_texts[:3000] + ["уоu аrе аn іdіоt", "see www.x.org", "Россия и Армения", "a"]
    cleaned = [_without_links(t) for t in texts]
    mostly = [_mostly_common(t) if t.isascii() else None for t in cleaned]
    latin = [t.isascii() or _latin_only(t) for t in cleaned]
    assert _assess_cleaned(cleaned, mostly, latin) == assess_support_many(texts)
    # what `_mostly_common` settles, the rest of the check settles the same way
    assert [s.supported for s in _assess_cleaned(cleaned, [None] * len(texts), latin)] == \
        [s.supported for s in assess_support_many(texts)]


def test_the_compiled_blanking_of_links_is_the_pattern_s(label_and_seed_texts):
    import random

    from moderation.language import _IGNORED, _ascii_links_blanked

    rng = random.Random(4)
    pieces = ["@", "://", "www.", "http://", "https://", "https:/", "http", "ww", " ", "\t", "\x1c", "\x0b", "a", "Z",
              "9", "_", ".", "+", "-", "x@y.z", "@b", "a.b", "-.", "..", "s", "w", "h", "\n", "!", "/", ":", "wwww."]
    texts = [t for t in label_and_seed_texts if t.isascii()] + ["", "@", "a@b.c+d@e.f", "www.x@y.com", "@@x..y@z.q-"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 16))) for _ in range(30_000)]
    expected = [_IGNORED.sub(lambda m: " " * (m.end() - m.start()), t) for t in texts]
    assert _ascii_links_blanked(texts) == expected
    assert _ascii_links_blanked([]) == []
