"""What `moderation score` and the service build as they start, against the slow definitions it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from moderation import folding, kernels, normalize as N

BMP = [chr(c) for c in range(0x10000)]


def test_bmp_is_every_code_point_below_0x10000_in_order() -> None:
    assert N._bmp().dtype == np.dtype("<U1") and N._bmp().view("<u4").tolist() == list(range(0x10000))


@pytest.mark.parametrize("name", ["isalnum", "isdecimal", "isspace", "isdigit"])
def test_numpys_string_predicates_judge_the_bmp_as_strs_methods_do(name) -> None:
    """What the tables below rest on, NUL (which numpy reads as the empty string) and surrogates included."""
    assert getattr(np.char, name)(N._bmp()).tolist() == [getattr(c, name)() for c in BMP]


def _writable_bool_tables(*tables: np.ndarray) -> None:
    """The tables as the kernels take them: bool, one entry per BMP code point, writable (numba types
    a read-only array apart, so that one would compile, and cache, kernels of its own)."""
    for table in tables:
        assert table.dtype == bool and table.shape == (0x10000,) and table.flags.writeable


def test_char_tables_equal_their_definition_per_character() -> None:
    letter, stand_in, separator, lookalike = N._char_tables()
    _writable_bool_tables(letter, stand_in, separator, lookalike)
    assert letter.tolist() == [c.isalnum() and not c.isdecimal() and c != "_" for c in BMP]
    assert letter.tolist() == list(map(N._is_letter, BMP))
    assert np.flatnonzero(stand_in).tolist() == sorted(map(ord, N._STANDS_IN))
    assert np.flatnonzero(separator).tolist() == sorted(map(ord, " .*~_-"))
    assert np.flatnonzero(lookalike).tolist() == sorted(c for c in N._confusables().other if c < 0x10000)


def test_class_bits_equal_their_definition_per_character() -> None:
    classes = N._classes()
    assert classes.dtype == np.uint16 and classes.shape == (0x10000,)
    definitions = {
        folding.LETTER: N._is_letter,
        folding.WORD: lambda c: c.isalnum() or c == "_",
        folding.SPACE: str.isspace,
        folding.NUMERIC: str.isdigit,
        folding.DIGIT: lambda c: "0" <= c <= "9",
        folding.LEET: lambda c: c in N._LEET_CHARS,
    }
    for bit, definition in definitions.items():
        assert ((classes & bit) != 0).tolist() == list(map(definition, BMP)), bit


def test_the_kernels_word_table_is_isalnum_or_underscore() -> None:
    table = kernels._bmp_word_table()
    _writable_bool_tables(table)
    assert table.tolist() == [c.isalnum() or c == "_" for c in BMP]
