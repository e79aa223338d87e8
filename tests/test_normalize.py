"""Normalisation: disguises fold to the plain word, innocent words and other scripts stay, and the
map back to the original is exact and identical on every path (single, batch, with offsets)."""

from __future__ import annotations

import random
import re

import pytest

from moderation.normalize import normalize, normalize_batch, normalize_with_offsets, original_span

DISGUISES = [
    # masks and leetspeak inside a word
    ("f*ck", "fuck"),
    ("F*CKING", "fucking"),
    ("c*nt", "cunt"),
    ("f#cking", "fucking"),
    ("f_ck", "fuck"),
    ("sh1t", "shit"),
    ("id10t", "idiot"),
    ("n00b", "noob"),
    ("a$$hole", "asshole"),
    ("a$$", "ass"),
    ("b!tch", "bitch"),
    ("sh!t!", "shit!"),
    ("b@stard", "bastard"),
    ("@ss", "ass"),
    ("@$$hole", "asshole"),
    ("fu©k", "fuck"),
    ("d€ath", "death"),
    # a mask or an ambiguous stand-in reads as the best-ranked word of the vocabulary that fits
    ("wh*re", "whore"),  # not "where", far more frequent but never masked
    ("sh*t", "shit"),  # not "shut"
    ("f**k", "fuck"),
    ("bu11shit", "bullshit"),  # "1" as "l"
    ("wh0re", "whore"),
    # a stand-in that reads as no word is a mask when the word then reads as a violation word
    ("c1nt", "cunt"),
    ("sl$t", "slut"),
    # at a word's start or end, a stand-in counts when the word then reads as a violation word
    ("$hit happens", "shit happens"),
    ("5lut", "slut"),
    ("shi7!", "shit!"),
    ("@s$", "ass"),
    ("@s$!!", "ass!!"),
    # stand-ins in two places or more: leetspeak throughout, a vocabulary word if one fits
    ("7r@mp", "tramp"),
    ("@r$e", "arse"),  # the leading "@" of a leetspeak word is no mention
    ("@n@l", "anal"),
    ("7i7s", "tits"),
    ("pedoph1l3", "pedophile"),  # "1" as "i", "3" as "e"
    ("$w1n3", "swine"),
    ("l0s3r!!", "loser!!"),
    # ... and each stand-in its own letter when no word fits
    ("3r0t1c", "erotic"),
    ("7r0u$ersnake", "trousersnake"),
    ("m3t@ll1k@", "metallika"),
    # a lone stand-in at a word's end or start when the word then reads as a vocabulary word
    ("boob$", "boobs"),
    ("boob$!!", "boobs!!"),
    ("dild0", "dildo"),  # "dild" is no word
    ("3scort", "escort"),
    ("5tupid", "stupid"),
    # spaced-out letters
    ("f u c k", "fuck"),
    ("f.u.c.k", "fuck"),
    ("s-h-i-t", "shit"),
    ("f*u*c*k", "fuck"),
    ("you f u c k i n g idiot", "you fucking idiot"),
    # a one-letter word before spaced-out letters stays a word when the rest is the better word
    ("what a f u c k", "what a fuck"),
    ("you are such a b i t c h", "you are such a bitch"),
    ("i h a t e you", "i hate you"),
    ("a s s", "ass"),  # "ass" is the better word than "ss"
    ("you a s s h o l e", "you asshole"),
    ("what a b l o r g", "what a blorg"),  # neither is a word: an article after a word
    # elongation
    ("fuuuuck", "fuck"),
    ("FUCKKKKKK", "fuck"),
    ("stuuuupid", "stupid"),
    ("sooo", "so"),
    ("killl", "kill"),  # two letters when that reads as the better word
    ("asss", "ass"),
    ("yesss", "yes"),
    # look-alike letters of other scripts, in a word mixed with Latin letters
    ("іdiot", "idiot"),  # Cyrillic і
    ("аsshole", "asshole"),  # Cyrillic а
    ("stupіd", "stupid"),
    ("tαlκ", "talk"),  # Greek α, κ
    ("ΙDΙΟΤ", "idiot"),  # Greek capitals among Latin D and T
    ("ІDІОТ", "idiot"),  # Cyrillic capitals: т only through its capital Т
    ("fօօl", "fool"),  # Armenian օ
    # a word made only of look-alikes in an otherwise Latin comment
    ("you аѕѕ", "you ass"),
    ("уоu аrе аn іdіоt", "you are an idiot"),  # every word look-alike: nothing else to go by
    # Unicode compatibility, zero-width and controls
    ("Ｆｕｃｋ", "fuck"),
    ("f\u200buck", "fuck"),
    ("f\u00adu\u200dck\u0007", "fuck"),
    ("ﬁlthy", "filthy"),
    ("ᴜgly", "ugly"),  # Latin small capital U, a listed look-alike
    ("crétin", "cretin"),
]

INNOCENT = [
    "Scunthorpe", "therapist", "assassination", "cocktail", "Dickens", "Sussex", "Essex",
    "Hancock", "Cockburn", "pass", "class", "good", "cool", "Mississippi", "classic assessment",
    "Penistone", "shitake", "grasshopper", "Matsushita",
]  # fmt: skip

SENSIBLE = [
    ("$5", "$5"),
    ("it cost $5 in 2020, up 10%", "it cost $5 in 2020, up 10%"),
    ("1st 2nd 3rd 4th 5am 80s", "1st 2nd 3rd 4th 5am 80s"),
    ("4x4 h1n1 mp3 covid19 b52s", "4x4 h1n1 mp3 covid19 b52s"),
    ("@USER thanks", "@user thanks"),
    ("mail john.doe1@example.com now", "mail john.doe1@example.com now"),
    ("see http://www.example.com/a1b2?x=1$3&y=f*ck", "see http://www.example.com/a1b2?x=1$3&y=f*ck"),
    ("www.sh1t.com", "www.sh1t.com"),
    ("KKK www zzz", "kkk www zzz"),
    ("user_talk snake_case_name", "user_talk snake_case_name"),
    ("great!thanks", "great!thanks"),
    ("*really* **bold** footnote*", "*really* **bold** footnote*"),
    ("US$ 5", "us$ 5"),
    ("e.g. i.e. U.S.", "e.g. i.e. u.s."),
    ("$USD 5, 10am 3pm 4u b4 gr8", "$usd 5, 10am 3pm 4u b4 gr8"),  # no violation word to read
    ("@USER @sam", "@user @sam"),
    ("gr$t", "grst"),  # no word fits: the default reading
    ("h1n1 h5n1 1v1 e4e5 x509 a1b2 k1bond007", "h1n1 h5n1 1v1 e4e5 x509 a1b2 k1bond007"),  # too few letters, other digits, a number
    ("top5 win7 ps4 iphone5 web3", "top5 win7 ps4 iphone5 web3"),  # the letters before are a word
    ("0pen 1st 4chan 3some 4ever", "0pen 1st 4chan 3some 4ever"),  # the letters after are a word, or none fits
    ("@user1 @braham ho3 A$", "@user1 @braham ho3 a$"),  # mentions; under four letters
    ("@pr3ttyn33 @kr3tz3r15", "@pr3ttyn33 @kr3tz3r15"),  # a mention is no word: its stand-ins stay
]

OTHER_SCRIPTS = [  # only case and accents change: no letter becomes its Latin look-alike
    ("Россия", "россия"),
    ("Армения и Россия", "армения и россия"),
    ("сок и рак", "сок и рак"),  # every letter has a Latin look-alike, but the comment is Russian
    ("Հայաստան", "հայաստան"),
    ("Հայերը միշտ կպաշտպանեն իրենց հայրենիքը", "հայերը միշտ կպաշտպանեն իրենց հայրենիքը"),
    ("Ελλάδα", "ελλαδα"),
    ("the Greek word ετητης", "the greek word ετητησ"),  # ε τ η look like Latin only as capitals
    ("Ermeniler bizim topraklarimizi isgal etti", "ermeniler bizim topraklarimizi isgal etti"),
    ("Qarabağ Azərbaycandır", "qarabag azərbaycandir"),  # dotless ı is a Latin look-alike of i
]


def sources_ok(text: str) -> None:
    """The offsets invariants, and every ASCII letter in the output comes from itself."""
    norm, origin = normalize_with_offsets(text)
    assert norm == normalize(text)
    assert len(origin) == len(norm) + 1 and origin[-1] == len(text)
    assert all(0 <= o < len(text) for o in origin[:-1])
    assert all(a <= b for a, b in zip(origin, origin[1:]))
    for i, char in enumerate(norm):
        source = text[origin[i]]
        if source.isascii() and source.isalpha():
            assert char == source.lower(), (text, i, char, source)


@pytest.mark.parametrize("text, expected", DISGUISES)
def test_disguises_fold_to_the_plain_word(text: str, expected: str) -> None:
    assert normalize(text) == expected
    sources_ok(text)


@pytest.mark.parametrize("word", INNOCENT)
def test_innocent_words_are_unchanged(word: str) -> None:
    assert normalize(word) == word.lower()
    sentence = f"I read {word} at the cocktail party in Sussex."
    assert normalize(sentence) == sentence.lower()


@pytest.mark.parametrize("text, expected", SENSIBLE)
def test_numbers_links_mentions_and_markup_stay_sensible(text: str, expected: str) -> None:
    assert normalize(text) == expected
    sources_ok(text)


@pytest.mark.parametrize("text, expected", OTHER_SCRIPTS)
def test_words_of_other_scripts_are_untouched(text: str, expected: str) -> None:
    assert normalize(text) == expected
    sources_ok(text)


def test_mixed_script_word_folds_but_its_neighbours_stay() -> None:
    assert normalize("Россия іdiot") == "россия idiot"
    assert normalize("Hеllo Россия") == "hello россия"  # Cyrillic е in a Latin word


@pytest.mark.parametrize(
    "text, norm, origin",
    [
        ("f*ck", "fuck", [0, 1, 2, 3]),
        ("s-h-i-t", "shit", [0, 2, 4, 6]),
        ("f u c k", "fuck", [0, 2, 4, 6]),
        ("fuuuuck", "fuck", [0, 1, 5, 6]),
        ("Ｆｕｃｋ", "fuck", [0, 1, 2, 3]),
        ("f\u200buck", "fuck", [0, 2, 3, 4]),
        ("іdiot", "idiot", [0, 1, 2, 3, 4]),
        ("ﬁne", "fine", [0, 0, 1, 2]),
        ("Straße", "strasse", [0, 1, 2, 3, 4, 4, 5]),
        ("a b c f u c k", "abcfuck", [0, 2, 4, 6, 8, 10, 12]),
        ("so a f u c k", "so a fuck", [0, 1, 2, 3, 4, 5, 7, 9, 11]),
        ("wh*re", "whore", [0, 1, 2, 3, 4]),
        ("killl", "kill", [0, 1, 2, 3]),
        ("a b c f.u.c.k", "a b c fuck", [0, 1, 2, 3, 4, 5, 6, 8, 10, 12]),  # which separator? neither
    ],
)
def test_offsets_point_at_the_source_characters(text: str, norm: str, origin: list[int]) -> None:
    got, where = normalize_with_offsets(text)
    assert got == norm
    assert where.tolist() == [*origin, len(text)]


def test_spans_map_back_to_what_the_commenter_wrote() -> None:
    text = "You  f u c k i n g  іdiot, a$$hole!!"
    norm, origin = normalize_with_offsets(text)
    assert norm == "you  fucking  idiot, asshole!!"
    words = {m.group(): original_span(origin, *m.span()) for m in re.finditer(r"\w+", norm)}
    assert {w: text[a:b] for w, (a, b) in words.items()} == {
        "you": "You",
        "fucking": "f u c k i n g",
        "idiot": "іdiot",
        "asshole": "a$$hole",
    }


def _random_strings(seed: int, count: int) -> list[str]:
    pieces = (
        list("abcdefghijklmnopqrstuvwxyz ABCXYZ .,-_*~$@!#%€©0123456789")
        + list("аеорсухіѕтнкм Россия")  # Cyrillic, look-alikes and not
        + list("αορσετηυνκ Ελλάδα")  # Greek
        + list("օսհաք Հայաստան")  # Armenian
        + ["\u0301", "\u0308", "\u20dd"]  # combining marks
        + ["😀", "👍🏽", "👩\u200d💻", "\U0001d41a", "\U00010400"]  # emoji, astral letters
        + ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\x00", "\x07", "\t", "\n", "\r\n"]
        + ["Ｆ", "ﬁ", "ß", "İ", "ı", "ǅ", "½", "²", "٣"]
        + ["f u c k ", "s-h-i-t", "sh1t", "a$$", "@ss", "f**k", "uuuu", "www.", "http://x.y/", "a@b.co"]
    )
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(count)]


ADVERSARIAL = [
    "", " ", "\x00", "\x00\x00a", "a" * 3000, "*" * 200, "$" * 50 + "a", "@" * 20, "f" + " u" * 500,
    "a.b.c.d.e.f.g", "a-b c-d", "www", "http://", "a@b", "@", "!!!a!!!", "1a1a1a1a", "_a_",
    "іііііі", "ааааа bbb", "ǅǅǅ", "İİİ", "ßßß", "\u0301\u0301a", "😀" * 30, "\n\n\t",
]  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_paths_agree_on_random_and_adversarial_strings(seed: int) -> None:
    texts = _random_strings(seed, 1500) + ADVERSARIAL
    singles = [normalize(t) for t in texts]
    assert normalize_batch(texts) == singles
    assert normalize_batch(texts[::-1]) == singles[::-1]  # each text's result ignores its neighbours
    for text, norm in zip(texts, singles):
        assert "\x00" not in norm
        sources_ok(text)
        _, origin = normalize_with_offsets(text)
        for m in re.finditer(r"\w+", norm):
            start, end = original_span(origin, *m.span())
            assert 0 <= start < end <= len(text)


def test_a_large_batch_agrees_with_single_comments() -> None:
    texts = _random_strings(5, 12_000)  # more than one vectorised chunk
    assert normalize_batch(texts) == [normalize(t) for t in texts]


def test_batch_of_nothing() -> None:
    assert normalize_batch([]) == []
    assert normalize("") == ""
    assert normalize_with_offsets("")[1].tolist() == [0]


@pytest.mark.parametrize("seed", [3, 4])
def test_texts_that_skip_steps_come_out_as_if_every_step_ran(seed: int) -> None:
    # A lone Cyrillic "х" and a comma in front make every step run on the text that follows, and
    # change nothing in it; so the result must match that of the text alone, which skips the
    # steps that cannot change it.
    texts = _random_strings(seed, 1500) + ADVERSARIAL + [t for t, _ in DISGUISES + SENSIBLE + OTHER_SCRIPTS]
    forced = normalize_batch(["х," + t for t in texts])
    assert [f[2:] for f in forced] == normalize_batch(texts)
