"""Scoring kernels: hashed word and character n-grams to TF-IDF rows to linear scores, compiled with numba.

What scoring needs and nothing more (numpy and numba; no scikit-learn, no scipy): the column
hashing, the n-gram and counting kernels, `DecisionKernel` (`transform(docs) @ coef` for encoded
documents, no matrix built) and `decide` (the same over any number of documents, in chunks on
threads). `moderation.features.HashingTfidf` is the estimator built on them, and `Model` scores
with a `DecisionKernel` saved beside it without unpickling the estimator.

numba caches the compiled kernels on disk next to this file (or in its user-wide cache
directory); where it can write neither, they are compiled at each start.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Callable, Iterable, NamedTuple

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["DecisionKernel", "decide"]

_M64 = (1 << 64) - 1
_P = 0x9E3779B97F4A7C15  # odd base of the polynomial hash of an n-gram's code points
_SPACE = ord(" ") + 1  # a code point c enters the hash as c + 1
_WORD, _CHAR = 1, 2
_MODE_WB, _MODE_CHAR, _MODE_WS = 0, 1, 2  # cfg[5], the char_mode
_CHAR_MODES = {"wb": _MODE_WB, "char": _MODE_CHAR, "ws": _MODE_WS}
_CHUNK_DOCS, _CHUNK_CHARS = 20_000, 1 << 17


# --------------------------------------------------------------------------- hashing, pure Python

def _py_fmix(h: int) -> int:
    """murmur3's 64-bit finaliser on a Python int."""
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def _seed(block: int, n: int) -> int:
    """Seed of one n-gram kind (word or char, and its n), so that kinds never collide systematically."""
    return _py_fmix((block << 32) | n)


def _py_hash(gram: str, block: int, n: int) -> int:
    """The finalised 64-bit hash of one n-gram string: polynomial hash of its code points, then fmix."""
    h = 0
    for ch in gram:
        h = (h * _P + ord(ch) + 1) & _M64
    return _py_fmix(h ^ _seed(block, n))


def _py_kept(f: int, block: int, kept: np.ndarray | None) -> bool:
    """Whether the n-gram of finalised hash `f` survives the pruning `kept` (None: no pruning).

    `kept` is a bitset of 2 * 2**b bits (uint64 words, bit i of the set is bit i % 64 of word
    i // 64): bit `f % 2**b` of the first half for a word n-gram, of the second half for a char
    n-gram. Those are the n-grams' columns in a feature space of 2 * 2**b columns, which is how
    `HashingTfidf.fit` counts their document frequencies."""
    if kept is None:
        return True
    bits = len(kept) * 32
    i = f % bits + (bits if block == _CHAR else 0)
    return bool((int(kept[i // 64]) >> (i % 64)) & 1)


_PRUNE_BITS = 24  # the pruning's bitset: 2**24 bits per block (4 MB), document frequencies counted on as many


def _pruning(kept: np.ndarray) -> np.ndarray | None:
    """`kept` (a fitted featuriser's bitset, empty when nothing is pruned) as the kernels take it: None
    for no pruning, so that they run a variant compiled without the bit test."""
    return kept if len(kept) else None


def _kept_bitset(df: np.ndarray, word_min_df: int, char_min_df: int) -> np.ndarray:
    """The bitset (`_py_kept`) of the n-grams whose document frequency reaches the block's minimum,
    from the frequencies `df` counted in a feature space of 2 * 2**b columns (word block first)."""
    half = len(df) // 2
    keep = np.concatenate([df[:half] >= word_min_df, df[half:] >= char_min_df])
    return np.packbits(keep, bitorder="little").view("<u8").astype(np.uint64)



# --------------------------------------------------------------------------- compiled kernels (numba)
#
# One document at a time: its words, then the column of every n-gram (`_nb_ngrams`), counted in an
# array of one counter per column that is emptied after each document (`_nb_count`). Nothing is
# sorted or hashed across the batch, so the cost of a chunk is linear in its characters. The
# kernels hold no GIL, so `n_jobs` threads run them side by side.

_TF_BINARY, _TF_SUBLINEAR, _TF_RAW = 0, 1, 2
_NORMS = {None: 0, "l1": 1, "l2": 2}
_U1, _U33 = np.uint64(1), np.uint64(33)
_UP, _USPACE = np.uint64(_P), np.uint64(_SPACE)
_UM1, _UM2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)


def _jit(fn: Callable) -> Callable:
    """`fn` compiled by numba without the GIL; cached on disk when numba finds a writable directory."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # numba found no writable cache directory: compile in memory at each start
        return numba.njit(nogil=True)(fn)


class _Spec(NamedTuple):
    n_features: int
    word_range: tuple[int, int] | None  # None: block skipped (its weight is 0)
    char_range: tuple[int, int] | None
    char_mode: str


@cache
def _kernel_spec(spec: _Spec) -> tuple[np.ndarray, np.ndarray]:
    """`spec` for the kernels: int64 [n_features, word min n, max n, char min n, max n, char mode] (0: skipped;
    mode `_MODE_WB`, `_MODE_CHAR` or `_MODE_WS`)
    and the uint64 seeds [block, n]."""
    word, char = spec.word_range or (0, 0), spec.char_range or (0, 0)
    cfg = np.array([spec.n_features, *word, *char, _CHAR_MODES[spec.char_mode]], np.int64)
    seeds = np.zeros((3, max(word[1], char[1]) + 1), np.uint64)
    for block, (lo, hi) in ((_WORD, word), (_CHAR, char)):
        for n in range(max(lo, 1), hi + 1):
            seeds[block, n] = _seed(block, n)
    return cfg, seeds


@cache
def _bmp_word_table() -> np.ndarray:
    """`\\w` membership of every code point below 0x10000 (what `re` uses: isalnum or '_'), by numpy's
    `isalnum` over the code points as strings of one character (as `str.isalnum` judges them)."""
    bmp = np.arange(0x10000, dtype="<u4")
    return np.char.isalnum(bmp.view("<U1")) | (bmp == ord("_"))


def _is_word(cp: np.ndarray) -> np.ndarray:
    """Boolean mask of word characters for an array of code points."""
    table = _bmp_word_table()
    word = table[np.minimum(cp, 0xFFFF)]
    astral = cp > 0xFFFF
    if astral.any():
        high = np.unique(cp[astral])
        ok = np.fromiter((chr(c).isalnum() for c in high.tolist()), bool, len(high))
        word[astral] = ok[np.searchsorted(high, cp[astral])]
    return word


def _encode(docs: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The documents' code points end to end (uint32), their offsets, and the sorted astral word
    characters among them (the kernels look the others up in `_bmp_word_table`)."""
    offsets = np.zeros(len(docs) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, docs), np.int64, len(docs)), out=offsets[1:])
    cp = np.frombuffer("".join(docs).encode("utf-32-le", "surrogatepass"), np.uint32)
    return cp, offsets, _astral_words(cp)


def _astral_words(cp: np.ndarray) -> np.ndarray:
    """The sorted word characters outside the BMP among the code points `cp` (uint32)."""
    astral = np.zeros(0, np.uint32)
    if len(cp) and cp.max() > 0xFFFF:
        astral = np.unique(cp[cp > 0xFFFF])
        astral = astral[_is_word(astral)]
    return astral


@intrinsic
def _nb_prefetch(typingctx, array, index):  # noqa: ANN001
    """Start loading array[index] into the caches (llvm.prefetch: a hint, which never faults)."""
    if not (isinstance(array, types.Array) and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):  # noqa: ANN001
        arraytype = signature.args[0]
        pointer = cgutils.get_item_pointer(context, builder, arraytype,
                                           context.make_array(arraytype)(context, builder, args[0]),
                                           [args[1]], wraparound=False)
        byte_pointer, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        prefetch = builder.module.declare_intrinsic(
            "llvm.prefetch", [byte_pointer], ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]))
        builder.call(prefetch, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])  # read, keep, data
        return context.get_dummy_value()

    return types.void(array, index), codegen


@_jit
def _nb_is_word(c, bmp, astral):  # noqa: ANN001 - numba kernels are typed by their callers
    """Whether code point `c` is a word character."""
    if c < 0x10000:
        return bmp[c]
    i = np.searchsorted(astral, c)
    return i < astral.shape[0] and astral[i] == c


@_jit
def _nb_final(h, seed):  # noqa: ANN001
    """murmur3's finaliser of the polynomial hash `h` xor the kind's seed: the n-gram's 64-bit hash."""
    h ^= seed
    h ^= h >> _U33
    h *= _UM1
    h ^= h >> _U33
    h *= _UM2
    h ^= h >> _U33
    return h


@_jit
def _nb_reduce(f, size, offset):  # noqa: ANN001
    """The column of the finalised hash `f` in a block of `size` columns from `offset` (`_py_column`)."""
    if size & (size - 1) == 0:
        return np.int64(f & np.uint64(size - 1)) + offset
    return np.int64(f % np.uint64(size)) + offset


@_jit
def _nb_kept_bit(f, block, kept):  # noqa: ANN001
    """The index in the bitset `kept` of the bit of the n-gram of finalised hash `f` (`_py_kept`)."""
    bits = np.uint64(kept.shape[0]) << np.uint64(5)  # per block, a power of two
    return (f & (bits - _U1)) + (bits if block == _CHAR else np.uint64(0))


@_jit
def _nb_kept(f, block, kept):  # noqa: ANN001
    """1 if the n-gram of finalised hash `f` survives the pruning, else 0: always 1 if `kept` is None
    (a variant compiled without the test), else its bit in `kept` (`_py_kept`)."""
    if kept is None:
        return 1
    i = _nb_kept_bit(f, block, kept)
    return np.int64((kept[i >> np.uint64(6)] >> (i & np.uint64(63))) & _U1)


@_jit
def _nb_prefetch_kept(f, block, kept):  # noqa: ANN001
    """Start loading the word of `kept` that `_nb_kept(f, block, kept)` will read (nothing if None)."""
    if kept is not None:
        _nb_prefetch(kept, np.int64(_nb_kept_bit(f, block, kept) >> np.uint64(6)))


@_jit
def _nb_is_space(c):  # noqa: ANN001
    """Whether code point `c` is white space (what `str.isspace` and `str.split` say)."""
    if c <= 0x20:
        return c == 0x20 or 0x09 <= c <= 0x0D or 0x1C <= c <= 0x1F
    if c < 0x85:
        return False
    return (c == 0x85 or c == 0xA0 or c == 0x1680 or 0x2000 <= c <= 0x200A or c == 0x2028 or c == 0x2029
            or c == 0x202F or c == 0x205F or c == 0x3000)


@_jit
def _nb_scratch(offsets, cfg, spans):  # noqa: ANN001
    """Work arrays sized for the longest document of a chunk: word starts, ends, hashes and P**length;
    n-gram columns (and spans if `spans`); the distinct columns and counts of a document."""
    longest = 0
    for d in range(offsets.shape[0] - 1):
        longest = max(longest, offsets[d + 1] - offsets[d])
    words = (longest + 1) // 2 + 1
    grams = words * (cfg[2] - cfg[1] + 1) + (longest + 2 * words) * (cfg[4] - cfg[3] + 1) + 1
    span = grams if spans else 0
    return (np.empty(words, np.int64), np.empty(words, np.int64), np.empty(words, np.uint64),
            np.empty(words, np.uint64), np.empty(grams, np.int32), np.empty(span, np.int64),
            np.empty(span, np.int64), np.empty(grams, np.int32), np.empty(grams, np.int32))


@_jit
def _nb_word_cache(n_chars, cfg):  # noqa: ANN001
    """An empty cache of the char n-gram columns of the words of a chunk of `n_chars` characters
    ("wb" and "ws" only, where a word's (token's) char n-grams depend on it alone, and most recur):
    (one 32-byte row a word: hash, length (0: free), offset into the pool, number of columns; the
    pool: each word's code points then its columns; [pool used, words, shift])."""
    cap = 0
    if cfg[3] > 0 and cfg[5] != _MODE_CHAR:
        cap = 16
        while cap < n_chars // 2 and cap < 1 << 15:
            cap *= 2
    bits = 1
    while (1 << bits) < cap:
        bits += 1
    return np.zeros((cap, 4), np.uint64), np.empty(16 * cap, np.int32), np.array([0, 0, 64 - bits], np.int64)


@_jit
def _nb_make_room(cache, need):  # noqa: ANN001
    """Empty `cache` if it cannot take `need` more pool entries or is half full of words."""
    rows, pool, state = cache
    if rows.shape[0] and (2 * state[1] >= rows.shape[0] or state[0] + need > pool.shape[0]):
        rows[:, 1] = 0
        state[0] = state[1] = 0


@_jit
def _nb_find_word(cp, s, length, h, cache):  # noqa: ANN001
    """(slot, offset, count) of the word cp[s:s + length] with hash h in `cache`: its `count` columns
    are pool[offset:offset + count]; count -1 if absent, and then slot is where to remember it (-1 if
    the cache is full)."""
    rows, pool, state = cache
    if rows.shape[0] == 0:
        return -1, 0, -1
    mask, slot = rows.shape[0] - 1, np.int64((h * _UM1) >> np.uint64(state[2]))
    while rows[slot, 1] != 0:
        if rows[slot, 0] == h and rows[slot, 1] == length:
            f, same = np.int64(rows[slot, 2]), True
            for q in range(length):  # the hash says the same word; the characters make sure
                if pool[f + q] != cp[s + q]:
                    same = False
                    break
            if same:
                return slot, f + length, np.int64(rows[slot, 3])
        slot = (slot + 1) & mask
    return (slot if 2 * state[1] < rows.shape[0] else -1), 0, -1


@_jit
def _nb_remember_word(slot, cp, s, length, h, cols, a, b, cache):  # noqa: ANN001
    """Store cols[a:b], the char n-gram columns of the word cp[s:s + length], at `slot` of `cache`."""
    rows, pool, state = cache
    at = state[0]
    if slot < 0 or at + length + b - a > pool.shape[0]:
        return
    for q in range(length):
        pool[at + q] = cp[s + q]
    pool[at + length : at + length + b - a] = cols[a:b]
    rows[slot, 0], rows[slot, 1], rows[slot, 2], rows[slot, 3] = h, length, at, b - a
    state[0] += length + b - a
    state[1] += 1


@_jit
def _nb_word_gram(hw, pw, i, n):  # noqa: ANN001
    """The polynomial hash of the word n-gram "w_i w_i+1 ... w_i+n-1" from the words' hashes and P**length."""
    h = hw[i]
    for j in range(i + 1, i + n):
        h = (h * _UP + _USPACE) * pw[j] + hw[j]
    return h


@_jit
def _nb_ngrams(cp, a, b, bmp, astral, cfg, seeds, ws, we, hw, pw, cols, starts, ends, spans, cache, kept):  # noqa: ANN001
    """Columns of every n-gram of the document cp[a:b] that the pruning keeps (all if `kept` is None)
    into `cols` (spans into starts/ends if `spans`); returns how many. ws, we, hw, pw: scratch for the
    words; cache: `_nb_word_cache`, which holds the kept columns of a word's char n-grams."""
    half = cfg[0] // 2
    nw, i = 0, a
    while i < b:  # words: maximal runs of word characters, with their hashes and P**length
        if not _nb_is_word(cp[i], bmp, astral):
            i += 1
            continue
        h, p, j = np.uint64(0), _U1, i
        while j < b:  # the character loaded once, and the test apart from the loop's: 3x faster
            c = cp[j]
            if not _nb_is_word(c, bmp, astral):
                break
            h = h * _UP + (np.uint64(c) + _U1)
            p *= _UP
            j += 1
        ws[nw], we[nw], hw[nw], pw[nw] = i, j, h, p
        nw += 1
        i = j
    m = 0
    if cfg[1] > 0:  # word n-grams: the hash of "w1 w2 ..." from the words' hashes
        if kept is not None:  # the bits to test loaded first, side by side, rather than each when needed
            for n in range(cfg[1], cfg[2] + 1):
                for i in range(nw - n + 1):
                    _nb_prefetch_kept(_nb_final(_nb_word_gram(hw, pw, i, n), seeds[_WORD, n]), _WORD, kept)
        for n in range(cfg[1], cfg[2] + 1):
            for i in range(nw - n + 1):
                f = _nb_final(_nb_word_gram(hw, pw, i, n), seeds[_WORD, n])
                cols[m] = _nb_reduce(f, half, 0)
                if spans:
                    starts[m], ends[m] = ws[i] - a, we[i + n - 1] - a
                m += _nb_kept(f, _WORD, kept)
    if cfg[3] > 0:
        lo, hi, size = cfg[3], cfg[4], cfg[0] - half
        if cfg[5] == _MODE_CHAR:  # over the document whole
            for i in range(a, b):
                h = np.uint64(0)
                for n in range(1, min(hi, b - i) + 1):
                    h = h * _UP + (np.uint64(cp[i + n - 1]) + _U1)
                    if n >= lo:
                        f = _nb_final(h, seeds[_CHAR, n])
                        cols[m] = _nb_reduce(f, size, half)
                        if spans:
                            starts[m], ends[m] = i - a, i - a + n
                        m += _nb_kept(f, _CHAR, kept)
            return m
        if cfg[5] == _MODE_WS:  # the words become the tokens: maximal runs of non-space, with their hashes
            nw, i = 0, a
            while i < b:
                if _nb_is_space(cp[i]):
                    i += 1
                    continue
                h, j = np.uint64(0), i
                while j < b:  # as the words' loop above
                    c = cp[j]
                    if _nb_is_space(c):
                        break
                    h = h * _UP + (np.uint64(c) + _U1)
                    j += 1
                ws[nw], we[nw], hw[nw] = i, j, h
                nw += 1
                i = j
        for w in range(nw):  # "wb", "ws": inside each word (token) padded with a space on each side
            s, length = ws[w], we[w] - ws[w]
            slot, at, count = _nb_find_word(cp, s, length, hw[w], cache) if not spans else (-1, 0, -1)
            if count >= 0:
                cols[m : m + count] = cache[1][at : at + count]
                m += count
                continue
            first = m
            for probing in range(1 if kept is not None else 0, -1, -1):  # pruning: the bits to test loaded first
                for i in range(length + 2):
                    h = np.uint64(0)
                    for n in range(1, min(hi, length + 2 - i) + 1):
                        k = i + n - 1  # position in the padded word
                        h = h * _UP + (_USPACE if k == 0 or k == length + 1 else np.uint64(cp[s + k - 1]) + _U1)
                        if n >= lo:
                            f = _nb_final(h, seeds[_CHAR, n])
                            if probing:  # side by side, rather than each when it is tested
                                _nb_prefetch_kept(f, _CHAR, kept)
                                continue
                            cols[m] = _nb_reduce(f, size, half)
                            if spans:  # the padding clipped off
                                starts[m] = s - a + min(max(i - 1, 0), length)
                                ends[m] = s - a + min(i + n - 1, length)
                            m += _nb_kept(f, _CHAR, kept)  # without a branch: a pruned n-gram is overwritten
            _nb_remember_word(slot, cp, s, length, hw[w], cols, first, m, cache)
    return m


@_jit
def _nb_count(cols, m, tally, dcols, dcounts, ahead, stride):  # noqa: ANN001
    """Distinct columns of cols[:m] into dcols, their counts into dcounts, in order of first
    occurrence; returns how many. `tally` has a counter per column (int32), all 0, and is left so.
    The entries ahead[c * stride] (unless `ahead` is empty) that the columns c will read are
    prefetched meanwhile."""
    nd = 0
    for t in range(m):  # without a branch on whether the column is new: it would be mispredicted
        c = cols[t]
        if ahead.shape[0]:
            _nb_prefetch(ahead, stride * np.int64(c))
        seen = tally[c]
        tally[c] = seen + 1
        dcols[nd] = c
        nd += seen == 0
    for t in range(nd):
        c = dcols[t]
        dcounts[t], tally[c] = tally[c], 0
    return nd


@_jit
def _nb_tf(n, tf, tf_table):  # noqa: ANN001
    """The term frequency of a column counted `n` times, in float64: 1 + log(n), n, or 1."""
    if tf == _TF_SUBLINEAR:
        return tf_table[n] if n < tf_table.shape[0] else 1.0 + np.log(n)
    if tf == _TF_RAW:
        return np.float64(n)
    return 1.0


@_jit
def _nb_norm(total, norm):  # noqa: ANN001
    """A row's l2 norm from its sum of squares, or its l1 norm from its sum (norm 2, 1); 0 for none."""
    return np.sqrt(total) if norm == 2 else total if norm == 1 else 0.0


@_jit
def _nb_weigh(cols, counts, nd, idf, weights, tf, norm, tf_table, values):  # noqa: ANN001
    """values[:nd] = tf x idf x block weight of columns cols[:nd], rounded as numpy rounds them in the
    dtype of `values`; returns the row's l2 or l1 norm (float64; 0 if none or norm is None)."""
    half, total = idf.shape[0] // 2, 0.0
    for t in range(nd):
        c = cols[t]
        values[t] = _nb_tf(counts[t], tf, tf_table)  # rounded to the dtype of `values` here
        values[t] = values[t] * idf[c]
        values[t] = values[t] * weights[0 if c < half else 1]
        x = values[t]
        total += x * x if norm == 2 else abs(x)
    return _nb_norm(total, norm)


@_jit
def _nb_count_chunk(cp, offsets, bmp, astral, cfg, seeds, kept):  # noqa: ANN001
    """Raw counts of the documents cp[offsets[d]:offsets[d + 1]]: (counts, columns, nonzeros per row),
    columns sorted within each row; only the n-grams that `kept` keeps (all if it is None)."""
    ws, we, hw, pw, grams, starts, ends, dcols, dcounts = _nb_scratch(offsets, cfg, False)
    cache, none, tally = _nb_word_cache(cp.shape[0], cfg), np.empty(0, np.float32), np.zeros(cfg[0], np.int32)
    n, bits = offsets.shape[0] - 1, 1
    while (1 << bits) < cfg[0]:
        bits += 1
    out_cols, out_counts = np.empty(cp.shape[0] * 2 + 16, np.int32), np.empty(cp.shape[0] * 2 + 16, np.int32)
    slots, packed = np.empty(dcols.shape[0], np.int64), np.empty(dcols.shape[0], np.int64)
    row_nnz, bins, total = np.zeros(n, np.int64), np.empty(256, np.int64), 0
    for d in range(n):
        m = _nb_ngrams(cp, offsets[d], offsets[d + 1], bmp, astral, cfg, seeds, ws, we, hw, pw, grams,
                       starts, ends, False, cache, kept)
        nd = _nb_count(grams, m, tally, dcols, dcounts, none, 0)
        for t in range(nd):  # column and count in one int64, sorted by column
            slots[t] = (np.int64(dcols[t]) << 32) | dcounts[t]
        _nb_radix_sort(slots, nd, 32, 32 + bits, packed, bins)
        if total + nd > out_cols.shape[0]:
            size = max(2 * out_cols.shape[0], total + nd)
            out_cols, out_counts = _nb_grow(out_cols, size, total), _nb_grow(out_counts, size, total)
        for t in range(nd):
            out_cols[total + t], out_counts[total + t] = slots[t] >> 32, slots[t] & 0xFFFFFFFF
        row_nnz[d], total = nd, total + nd
    return out_counts[:total], out_cols[:total], row_nnz


@_jit
def _nb_radix_sort(a, n, lo, hi, tmp, bins):  # noqa: ANN001
    """Sort the int64 a[:n] by their bits lo..hi (least significant byte first); tmp: scratch as
    large as a; bins: 256 scratch counters. Several times faster than a comparison sort here."""
    src, dst = a, tmp
    for shift in range(lo, hi, 8):
        bins[:] = 0
        for t in range(n):
            bins[(src[t] >> shift) & 255] += 1
        at = 0
        for b in range(256):
            bins[b], at = at, at + bins[b]
        for t in range(n):
            b = (src[t] >> shift) & 255
            dst[bins[b]] = src[t]
            bins[b] += 1
        src, dst = dst, src
    if src is not a:
        a[:n] = src[:n]


@_jit
def _nb_add_counts(df, cols):  # noqa: ANN001
    """df[c] += 1 for each c in `cols`, saturating at the largest value of df's dtype."""
    top = np.iinfo(df.dtype).max
    for c in cols:
        if df[c] < top:
            df[c] += 1


@_jit
def _nb_grow(a, size, used):  # noqa: ANN001
    """A copy of a[:used] in a new array of `size` elements."""
    out = np.empty(size, a.dtype)
    out[:used] = a[:used]
    return out


@_jit
def _nb_weigh_chunk(counts, cols, row_nnz, idf, weights, tf, norm, tf_table, data):  # noqa: ANN001
    """TF-IDF values of consecutive rows into `data`, rows normalised, zeros dropped (`cols` and
    `row_nnz` compacted in place); returns the number of values kept."""
    at = kept = 0
    scale = np.empty(1, data.dtype)
    for d in range(row_nnz.shape[0]):
        k = row_nnz[d]
        total = _nb_weigh(cols[at:], counts[at:], k, idf, weights, tf, norm, tf_table, data[at:])
        scale[0] = total if total > 0 else 1.0  # the norm rounded to the dtype, as numpy divides by it
        first = kept
        for t in range(at, at + k):
            if data[t] != 0:
                data[kept], cols[kept] = data[t] / scale[0], cols[t]
                kept += 1
        row_nnz[d], at = kept - first, at + k
    return kept


@_jit
def _nb_decision_chunk(cp, offsets, bmp, astral, cfg, seeds, table, weights, tf, norm, tf_table, out, cache,  # noqa: ANN001
                       kept, tally):
    """out[d] += (TF-IDF row of document d) @ coef, one document at a time, no matrix built.

    table[c] is (idf[c], coef[c, 0], ..., coef[c, k - 1], padding) in the dtype of coef (`_decision_table`):
    a distinct column costs one cache line, prefetched while the document's n-grams are counted, one
    document ahead of its use (document d is scored after document d + 1 is counted). `cache`: a
    `_nb_word_cache`, kept from chunk to chunk (emptied when full). `kept`: the pruning (None: none).
    `tally`: a counter per column (int32, all 0, as each document leaves it), kept from chunk to
    chunk too."""
    ws, we, hw, pw, grams, starts, ends, dcols, dcounts = _nb_scratch(offsets, cfg, False)
    values = np.empty(grams.shape[0], weights.dtype)
    flat, width, n = table.reshape(-1), table.shape[1], offsets.shape[0] - 1
    columns, counts, distinct = (dcols, np.empty_like(dcols)), (dcounts, np.empty_like(dcounts)), np.zeros(2, np.int64)
    for d in range(n + 1):
        if d < n:
            _nb_make_room(cache, 7 * (offsets[d + 1] - offsets[d]) + 8)
            m = _nb_ngrams(cp, offsets[d], offsets[d + 1], bmp, astral, cfg, seeds, ws, we, hw, pw, grams,
                           starts, ends, False, cache, kept)
            distinct[d & 1] = _nb_count(grams, m, tally, columns[d & 1], counts[d & 1], flat, width)
        if d > 0:
            p = (d - 1) & 1
            _nb_score_row(columns[p], counts[p], distinct[p], table, weights, tf, norm, tf_table, values, out[d - 1])


@_jit
def _nb_score_row(cols, counts, nd, table, weights, tf, norm, tf_table, values, out):  # noqa: ANN001
    """out += the TF-IDF row of the distinct columns cols[:nd] (counts[:nd]) @ coef: each value
    weighed as `_nb_weigh` weighs it (into `values`) and the products added in the same order as
    `transform(X) @ coef` adds them, so that the scores are the same to the bit."""
    k, half = out.shape[0], table.shape[0] // 2
    total = 0.0
    a0 = a1 = a2 = a3 = 0.0
    for t in range(nd):  # `_nb_weigh`, and the first four columns of coef in registers
        c = cols[t]
        values[t] = _nb_tf(counts[t], tf, tf_table)  # rounded to the dtype of `values` here
        values[t] = values[t] * np.float32(table[c, 0])
        values[t] = values[t] * weights[0 if c < half else 1]
        x = values[t]
        total += x * x if norm == 2 else abs(x)
        v = np.float64(x)
        a0 += v * table[c, 1]
        if k > 1:
            a1 += v * table[c, 2]
        if k > 2:
            a2 += v * table[c, 3]
        if k > 3:
            a3 += v * table[c, 4]
    total = _nb_norm(total, norm)
    scale = 1.0 / total if total > 0 else 1.0
    out[0] += a0 * scale
    if k > 1:
        out[1] += a1 * scale
    if k > 2:
        out[2] += a2 * scale
    if k > 3:
        out[3] += a3 * scale
    for j in range(4, k, 4):  # more columns: four at a time, over the values again
        a0 = a1 = a2 = a3 = 0.0
        for t in range(nd):
            v, c = np.float64(values[t]), cols[t]
            a0 += v * table[c, 1 + j]
            if j + 1 < k:
                a1 += v * table[c, 2 + j]
            if j + 2 < k:
                a2 += v * table[c, 3 + j]
            if j + 3 < k:
                a3 += v * table[c, 4 + j]
        out[j] += a0 * scale
        if j + 1 < k:
            out[j + 1] += a1 * scale
        if j + 2 < k:
            out[j + 2] += a2 * scale
        if j + 3 < k:
            out[j + 3] += a3 * scale


def _decision_table(idf: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """table[c] = (idf[c], coef[c, 0], ..., coef[c, k - 1], zeros) in the dtype of coef, rows of a
    whole number of 32 bytes in memory aligned to 64, so that no row straddles two cache lines."""
    row = 32 // coef.dtype.itemsize
    width = -(-(coef.shape[1] + 1) // row) * row
    size = coef.shape[0] * width
    raw = np.zeros(size + 64 // coef.dtype.itemsize, coef.dtype)
    start = (-raw.ctypes.data % 64) // coef.dtype.itemsize
    table = raw[start : start + size].reshape(coef.shape[0], width)
    table[:, 0], table[:, 1 : coef.shape[1] + 1] = idf, coef
    return table


@_jit
def _nb_occurrences(cp, bmp, astral, cfg, seeds, kept):  # noqa: ANN001
    """(column, start, end) of every n-gram occurrence of the one document cp that `kept` keeps."""
    offsets = np.array([0, cp.shape[0]], np.int64)
    ws, we, hw, pw, grams, starts, ends, _, _ = _nb_scratch(offsets, cfg, True)
    m = _nb_ngrams(cp, 0, cp.shape[0], bmp, astral, cfg, seeds, ws, we, hw, pw, grams, starts, ends, True,
                   _nb_word_cache(0, cfg), kept)
    return grams[:m], starts[:m], ends[:m]


@_jit
def _nb_shares(cols, idf, weights, tf, norm, tf_table, shares):  # noqa: ANN001
    """shares[i] = occurrence i's share of its column's value in the document's TF-IDF row, the row
    weighed as `transform` weighs it (`_nb_weigh_chunk` over the distinct columns in column order),
    each column's value split evenly among its occurrences, in the dtype of `shares`."""
    m = cols.shape[0]
    order = np.argsort(cols, kind="mergesort")
    dcols, dcounts, which, nd = np.empty(m, np.int32), np.empty(m, np.int32), np.empty(m, np.int64), 0
    for t in range(m):  # the distinct columns in column order, their counts, each occurrence's column
        i = order[t]
        if nd == 0 or dcols[nd - 1] != cols[i]:
            dcols[nd], dcounts[nd] = cols[i], 0
            nd += 1
        dcounts[nd - 1] += 1
        which[i] = nd - 1
    kept_cols, data = dcols[:nd].copy(), np.empty(nd, shares.dtype)
    kept = _nb_weigh_chunk(dcounts[:nd], kept_cols, np.array([nd], np.int64), idf, weights, tf, norm, tf_table,
                           data)
    dense, j = np.zeros(nd, shares.dtype), 0
    for t in range(nd):  # the kept columns are a subsequence of dcols: a zero value was dropped
        if j < kept and kept_cols[j] == dcols[t]:
            dense[t] = data[j]
            j += 1
    for i in range(m):
        shares[i] = np.float64(dense[which[i]]) / np.float64(dcounts[which[i]])


@_jit
def _nb_explained_occurrences(cp, bmp, astral, cfg, seeds, where, idf, weights, tf, norm, tf_table, like,  # noqa: ANN001
                              kept):
    """`HashingTfidf.occurrences` of the one document cp (its lower-cased form if the featuriser
    lower-cases, `where` mapping its positions to the text's): (column, start, end, value) sorted by
    start, end, column, as `np.lexsort((col, end, start))` sorts them; values in the dtype of `like`.
    A pruned n-gram (see `kept`) has no occurrence."""
    col, start, end = _nb_occurrences(cp, bmp, astral, cfg, seeds, kept)
    m = col.shape[0]
    mapped_start, mapped_end = np.empty(m, np.int64), np.empty(m, np.int64)
    for i in range(m):  # `_map_spans`
        mapped_start[i] = where[start[i]]
        mapped_end[i] = where[end[i] - 1] + 1 if end[i] > start[i] else where[start[i]]
    value = np.empty(m, like.dtype)
    _nb_shares(col, idf, weights, tf, norm, tf_table, value)
    order = np.argsort(col, kind="mergesort")  # stable sorts, least significant key first
    order = order[np.argsort(mapped_end[order], kind="mergesort")]
    order = order[np.argsort(mapped_start[order], kind="mergesort")]
    return col[order], mapped_start[order], mapped_end[order], value[order]


@cache
def _tf_table() -> np.ndarray:
    """1 + log(k) for counts k below 1024, computed as numpy computes it (index 0 unused)."""
    table = np.zeros(1024)
    table[1:] = 1 + np.log(np.arange(1, 1024))
    return table


def _count_chunk(docs: list[str], spec: _Spec, kept: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw n-gram counts of `docs` as CSR pieces: (counts, columns, nonzeros per row); only the
    n-grams that the bitset `kept` keeps (`_pruning`), all if it is None."""
    cp, offsets, astral = _encode(docs)
    return _nb_count_chunk(cp, offsets, _bmp_word_table(), astral, *_kernel_spec(spec), kept)


def _checked_coef(coef: np.ndarray, n_features: int) -> np.ndarray:
    """`coef` as a C-contiguous float32 or float64 array of shape (n_features, k); ValueError otherwise."""
    coef = np.asarray(coef)
    if coef.ndim != 2 or coef.shape[0] != n_features or not np.issubdtype(coef.dtype, np.number):
        raise ValueError(f"coef must be a numeric array of shape (n_features={n_features}, k), "
                         f"got {coef.dtype} {coef.shape}")
    return np.ascontiguousarray(coef, np.float32 if coef.dtype == np.float32 else np.float64)


def _encoded(encoded: tuple[np.ndarray, np.ndarray], n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """What an `encode` function returned for `n_docs` documents, checked: (uint32 code points, int64 offsets)."""
    cp, offsets = (np.asarray(a) for a in encoded)
    if not (cp.ndim == 1 and cp.dtype == np.uint32 and offsets.shape == (n_docs + 1,)
            and np.issubdtype(offsets.dtype, np.integer) and offsets[0] == 0
            and offsets[-1] == len(cp) and (np.diff(offsets) >= 0).all()):
        raise ValueError(f"encode must return uint32 code points and {n_docs + 1} increasing offsets from 0 to "
                         f"their length, got {cp.dtype} {cp.shape} and {offsets.dtype} {offsets.shape}")
    return cp, np.ascontiguousarray(offsets, np.int64)



def _chunks(docs: list[str], max_docs: int = _CHUNK_DOCS, max_chars: int = _CHUNK_CHARS) -> list[list[str]]:
    """`docs` cut into consecutive slices of at most `max_docs` documents and ~`max_chars` characters."""
    if len(docs) <= 1:  # one comment, as the service scores them
        return [docs] if docs else []
    ends = np.cumsum(np.fromiter(map(len, docs), np.int64, len(docs)) + 1)
    chunks, a = [], 0
    while a < len(docs):
        budget = (ends[a - 1] if a else 0) + max_chars
        b = max(a + 1, min(a + max_docs, int(np.searchsorted(ends, budget, side="right"))))
        chunks.append(docs[a:b])
        a = b
    return chunks


def _check_texts(X: Iterable[str]) -> list[str]:
    """The documents of X as a list of str; ValueError naming the first one that is not a str."""
    if isinstance(X, (str, bytes)):
        raise ValueError(f"expected a sequence of str, got a single {type(X).__name__}; wrap it in a list")
    texts = list(X)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"X[{i}] is {type(t).__name__} ({t!r:.40}), expected str")
    return texts



class DecisionKernel:
    """`HashingTfidf.decision_kernel`: `kernel(cp, offsets)` is `transform(docs) @ coef` (float64,
    shape (n_docs, k)) for the documents encoded as `cp` (uint32 code points end to end, as
    `moderation.normalize.normalize_encoded` gives them, lower-cased if the featuriser lower-cases)
    and `offsets` (int64, where each starts and the last ends). Holds no lock, only arrays: threads
    and processes may share it. `table` is idf and coef side by side, as the kernel reads them; `kept`
    the featuriser's pruning bitset (`_py_kept`; empty: nothing pruned)."""

    _fields = ("cfg", "seeds", "idf", "weights", "tf", "norm", "coef", "kept")
    __slots__ = (*_fields, "table", "_caches")

    def __init__(self, cfg: np.ndarray, seeds: np.ndarray, idf: np.ndarray, weights: np.ndarray, tf: int,
                 norm: int, coef: np.ndarray, kept: np.ndarray | None = None) -> None:
        self.cfg, self.seeds, self.idf, self.weights, self.tf, self.norm, self.coef = (
            cfg, seeds, idf, weights, tf, norm, coef)
        self.kept = np.zeros(0, np.uint64) if kept is None else kept
        self.table = _decision_table(idf, coef)
        self._caches = threading.local()  # each thread's word cache and tally, kept from call to call

    def __reduce__(self) -> tuple:
        return DecisionKernel, tuple(getattr(self, name) for name in self._fields)

    def __call__(self, cp: np.ndarray, offsets: np.ndarray, out: np.ndarray | None = None,
                 astral: np.ndarray | None = None) -> np.ndarray:
        """The scores of the encoded documents, intercept not added: added to `out` (zeros if None),
        which is returned. `astral`: `_astral_words(cp)`, if the caller has it already."""
        out = np.zeros((len(offsets) - 1, self.coef.shape[1])) if out is None else out
        astral = _astral_words(cp) if astral is None else astral
        cache = getattr(self._caches, "cache", None)  # as large as the largest chunk's so far needs
        if cache is None or 2 * cache[0].shape[0] < min(len(cp), 1 << 16):
            cache = self._caches.cache = _nb_word_cache(len(cp), self.cfg)
        tally = getattr(self._caches, "tally", None)
        if tally is None:
            tally = self._caches.tally = np.zeros(self.cfg[0], np.int32)
        _nb_decision_chunk(cp, offsets, _bmp_word_table(), astral, self.cfg, self.seeds, self.table,
                           self.weights, self.tf, self.norm, _tf_table(), out, cache, _pruning(self.kept), tally)
        return out

    def with_coef(self, coef: np.ndarray) -> "DecisionKernel":
        """The same kernel with other weights `coef` (checked: shape (n_features, k))."""
        return DecisionKernel(self.cfg, self.seeds, self.idf, self.weights, self.tf, self.norm,
                              _checked_coef(coef, self.idf.shape[0]), self.kept)

    def arrays(self) -> dict[str, np.ndarray]:
        """The kernel as named arrays (what `np.savez` writes); `DecisionKernel.from_arrays` reads them back."""
        arrays = {"cfg": self.cfg, "seeds": self.seeds, "idf": self.idf, "weights": self.weights,
                  "tf": np.array(self.tf, np.int64), "norm": np.array(self.norm, np.int64), "coef": self.coef}
        return arrays | ({"kept": self.kept} if len(self.kept) else {})  # as before pruning existed, without

    @classmethod
    def from_arrays(cls, arrays: "dict[str, np.ndarray]", where: str = "arrays") -> "DecisionKernel":
        """The kernel saved by `arrays()`, checked; ValueError naming `where` and the bad array. Arrays
        without `kept` (saved before pruning existed, or with nothing pruned) prune nothing."""
        missing = [name for name in cls._fields if name not in arrays and name != "kept"]
        if missing:
            raise ValueError(f"{where}: no {', '.join(missing)} array")
        cfg, seeds, idf, weights, coef = (np.asarray(arrays[name]) for name in ("cfg", "seeds", "idf", "weights", "coef"))
        kept = np.asarray(arrays.get("kept", np.zeros(0, np.uint64)))
        words = kept.shape[0] if kept.ndim == 1 else 0
        checks = (
            ("cfg", cfg.dtype == np.int64 and cfg.shape == (6,) and cfg[0] >= 2 and cfg[5] in _CHAR_MODES.values(),
             "6 int64 values, the last 0, 1 or 2"),
            ("seeds", seeds.dtype == np.uint64 and seeds.ndim == 2 and seeds.shape[0] == 3, "uint64 of shape (3, n)"),
            ("idf", idf.dtype == np.float32 and cfg.shape == (6,) and idf.shape == (cfg[0],), "float32 of shape (n_features,)"),
            ("weights", weights.dtype in (np.float32, np.float64) and weights.shape == (2,), "2 float32 or float64"),
            ("coef", coef.dtype in (np.float32, np.float64) and coef.ndim == 2 and coef.shape[0] == idf.shape[0],
             "float32 or float64 of shape (n_features, k)"),
            ("tf", int(arrays["tf"]) in (_TF_BINARY, _TF_SUBLINEAR, _TF_RAW), "0, 1 or 2"),
            ("norm", int(arrays["norm"]) in _NORMS.values(), "0, 1 or 2"),
            ("kept", kept.dtype == np.uint64 and kept.ndim == 1 and words & (words - 1) == 0,
             "uint64 of shape (2**k,)"),
        )
        for name, ok, expected in checks:
            if not ok:
                value = np.asarray(arrays[name])
                raise ValueError(f"{where}: {name} must be {expected}, found {value.dtype} {value.shape}")
        return cls(cfg, seeds, np.ascontiguousarray(idf), np.ascontiguousarray(weights), int(arrays["tf"]),
                   int(arrays["norm"]), np.ascontiguousarray(coef), np.ascontiguousarray(kept))


def decide(kernel: DecisionKernel, chunks: list[list[str]],
           encode: Callable[[list[str]], tuple[np.ndarray, np.ndarray]] | None = None,
           n_jobs: int | None = None) -> np.ndarray:
    """The kernel's scores (float64, intercept not added) of the documents of `chunks`, end to end,
    each chunk scored on one of `n_jobs` threads (None: 1, -1: all CPUs).

    `encode` maps a chunk to its code points and offsets (`moderation.normalize.normalize_encoded`);
    None encodes the documents as they are (already lower-cased if the featuriser lower-cases).

    >>> kernel = HashingTfidf(n_features=2**16).fit(["an idiot"]).decision_kernel(np.ones((2**16, 1)))  # doctest: +SKIP
    >>> decide(kernel, [["what an idiot"]]).shape  # doctest: +SKIP
    (1, 1)
    """
    out = np.zeros((sum(map(len, chunks)), kernel.coef.shape[1]))
    ends = np.cumsum([len(chunk) for chunk in chunks], dtype=np.int64)

    def one(i: int) -> None:
        if encode is None:
            cp, offsets, astral = _encode(chunks[i])
        else:
            cp, offsets = _encoded(encode(chunks[i]), len(chunks[i]))
            astral = None
        kernel(cp, offsets, out[ends[i] - len(chunks[i]) : ends[i]], astral)

    _thread_map(one, list(range(len(chunks))), n_jobs)
    return out


def _thread_map(fn: Callable, items: list, n_jobs: int | None) -> list:
    """[fn(item) for item in items], on `n_jobs` threads (the kernels release the GIL)."""
    n_jobs = n_jobs or 1
    if n_jobs < 0:  # -1: every CPU, -2: all but one, ...
        n_jobs = (os.cpu_count() or 1) + 1 + n_jobs
    if n_jobs <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(n_jobs, len(items))) as pool:
        return list(pool.map(fn, items))
