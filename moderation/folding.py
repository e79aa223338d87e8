"""Compiled (numba) step 1 of normalisation and the pre-check of steps 2-5, over a batch's code points.

`fold_chunk` takes the code points of consecutive comments and writes each one's folded form
(step 1, through an int32 table per BMP code point) together with a status: which of steps 2-5
the pre-check says could change it, or that the comment must go through the Python path (a code
point outside the BMP, one that folds to several characters, or one the table does not know yet;
those are recorded so that the caller can fill the table in). `step_mask` is the same pre-check on
one comment. `moderation.normalize` builds the tables and holds the reference code (`str.translate`
and `_step_conditions`) that the tests hold these kernels to.
"""

from __future__ import annotations

from typing import Callable

import numba
import numpy as np

__all__ = ["DELETE", "SLOW", "UNKNOWN", "LETTER", "STAND_IN", "SEPARATOR", "LOOKALIKE", "LEAD", "TRAIL", "DIGIT",
           "PYTHON", "fold_chunk", "step_mask"]

# fold table entries: a code point >= 0 (the folded character), or one of these
DELETE, SLOW, UNKNOWN = -1, -2, -3
# class bits of a folded BMP code point (what `_step_conditions` looks for)
LETTER, STAND_IN, SEPARATOR, LOOKALIKE = 1, 2, 4, 8
LEAD, TRAIL, DIGIT = 16, 32, 64  # a stand-in that may start a word, one that may end it, an ASCII digit
PYTHON = 16  # status bit: the comment goes through the Python path (bits 0-3: steps 2-5 to run)
_AT, _S, _DOLLAR = ord("@"), ord("s"), ord("$")


def _jit(fn: Callable) -> Callable:
    """`fn` compiled by numba without the GIL; cached on disk when numba finds a writable directory
    (as the featuriser's kernels are, without importing them)."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # numba found no writable cache directory: compile in memory at each start
        return numba.njit(nogil=True)(fn)


@_jit
def _nb_at(cp, s, e, i):  # noqa: ANN001 - numba kernels are typed by their callers
    """cp[i] inside the comment cp[s:e], 0 (NUL, which is in no class) outside it."""
    return cp[i] if s <= i < e else np.uint32(0)


@_jit
def _nb_step_mask(cp, s, e, classes):  # noqa: ANN001
    """Bit k set: the condition of step 2 + k holds somewhere in the folded comment cp[s:e].

    One pass with the next two characters and their classes at hand, without branches but for the
    spaced letters' condition, which looks further only after a single letter and a separator.
    Characters are read unchecked but for the last five, where the comment's end is near."""
    mask, before = 0, 0  # before: the class of the previous character
    c1, c2 = _nb_at(cp, s, e, s), _nb_at(cp, s, e, s + 1)
    k1, k2 = np.int64(classes[c1]), np.int64(classes[c2])
    inner = max(s, e - 5)
    for i in range(s, e):
        c0, k0, c1, k1 = c1, k1, c2, k2
        c2 = cp[i + 2] if i < inner else _nb_at(cp, s, e, i + 2)
        k2 = np.int64(classes[c2])
        letter = k0 & LETTER
        mask |= (k0 & LOOKALIKE) >> 3  # "іdiot"
        mask |= (letter & (k1 >> 1) & (k2 | k2 >> 1) & 1) << 2  # "sh1t", "a$$", "f**"
        mask |= (letter & np.int64(c1 == c0) & np.int64(c2 == c0)) << 3  # "fuuuck"
        mask |= np.int64((c0 == _AT) & ((c1 == _S) | (c1 == _DOLLAR))) << 2  # "@ss"
        # "$hit": a stand-in that may start a word, after no letter or digit, before a letter or a
        # stand-in that is not a digit; "shi7": one that may end a word, after a letter, before no
        # letter or digit
        mask |= ((k0 >> 4) & ~(before | before >> 6) & ((k1 | (k1 >> 1) & ~(k1 >> 6)) & 1)) << 2
        mask |= ((k0 >> 5) & before & ~(k1 | k1 >> 6) & 1) << 2
        if letter & (k1 >> 2) & k2 & ~before & 1:  # "f u c k"
            c3, c4, c5 = _nb_at(cp, s, e, i + 3), _nb_at(cp, s, e, i + 4), _nb_at(cp, s, e, i + 5)
            if c3 == c1 and classes[c4] & LETTER and not classes[c5] & LETTER:
                mask |= 2
        before = k0
    return mask


@_jit
def fold_chunk(cp, offsets, fold, classes, out, out_offsets, status, unknown):  # noqa: ANN001
    """Step 1 and the pre-check of the comments cp[offsets[d]:offsets[d + 1]].

    Writes comment d's folded code points to out[out_offsets[d]:out_offsets[d + 1]] (nothing for
    a comment sent to the Python path) and its status (step bits, or PYTHON) to status[d]; code
    points whose table entry is UNKNOWN go to `unknown`, as many as fit. Returns how many did.
    """
    pos, n_unknown = 0, 0
    out_offsets[0] = 0
    for d in range(offsets.shape[0] - 1):
        start, python = pos, False
        for i in range(offsets[d], offsets[d + 1]):
            c = cp[i]
            f = fold[c] if c < 0x10000 else SLOW
            out[pos] = f  # overwritten by the next character unless it is one
            pos += f >= 0
            if f < DELETE:
                python = True
                if f == UNKNOWN and n_unknown < unknown.shape[0]:
                    unknown[n_unknown] = c
                    n_unknown += 1
        if python:
            pos = start
            status[d] = PYTHON
        else:
            status[d] = _nb_step_mask(out, start, pos, classes)
        out_offsets[d + 1] = pos
    return n_unknown


@_jit
def step_mask(cp, classes):  # noqa: ANN001
    """The pre-check of one folded comment's code points: step bits (all four if a code point is
    outside the BMP, which the class table does not cover)."""
    for i in range(cp.shape[0]):
        if cp[i] >= 0x10000:
            return 15
    return _nb_step_mask(cp, 0, cp.shape[0], classes)
