"""Compiled (numba) step 1 of normalisation, the pre-check of steps 2-5 and step 5, over a batch's code points.

`fold_chunk` takes the code points of consecutive comments and writes each one's folded form
(step 1, through an int32 table per BMP code point, a sorted one for the code points outside it,
and a table of expansions for those that fold to several characters) together with a status:
which of steps 2-5 the pre-check says could change it, or that the comment must go through the
Python path (a code point that `str.lower` would change, or one the tables do not know yet; those
are recorded so that the caller can fill the tables in). Where step 5 is the only step to run it
runs it too (`collapse_repeats` on one comment). `step_mask` is the same pre-check on one comment,
`leet_runs` step 4's run by run, and `fold_one` step 1 of one comment with the origin of each
folded character. `moderation.normalize` builds the tables and holds the reference code
(`str.translate`, `_step_conditions`, `_collapse_repeats_python`) that the tests hold these kernels to.

The pre-check runs in two stages. A first pass over the comment, without branches, finds where
each step's loose condition holds. For steps 4 and 5 it then looks closer, over the comment with
its URLs and e-mail addresses blanked out (those steps leave them alone): step 5 needs a run of
three or more of one letter next to another letter; step 4 a run of stand-ins that one of its
rules could turn into letters, judged from the token around the run and, where a rule reads the
token as a word of the vocabulary, whether any word of the vocabulary of that length has the
token's letters where it has letters.
"""

from __future__ import annotations

import numpy as np

from moderation.kernels import _jit  # the scoring kernels' numba options (nogil, cached on disk)

__all__ = ["DELETE", "SLOW", "UNKNOWN", "EXPAND", "LETTER", "STAND_IN", "SEPARATOR", "LOOKALIKE", "LEAD", "TRAIL", "DIGIT",
           "WORD", "SPACE", "NUMERIC", "LEET", "PYTHON", "fold_chunk", "fold_one", "leet_runs", "step_mask"]

# fold table entries: a code point >= 0 (the folded character), or one of these, or EXPAND - e for
# the characters of expansion e
DELETE, SLOW, UNKNOWN, EXPAND = -1, -2, -3, -4
# class bits of a folded code point (what `_step_conditions` looks for)
LETTER, STAND_IN, SEPARATOR, LOOKALIKE = 1, 2, 4, 8
LEAD, TRAIL, DIGIT = 16, 32, 64  # a stand-in that may start a word, one that may end it, an ASCII digit
WORD, SPACE, NUMERIC, LEET = 128, 256, 512, 1024  # `\w`, `\s`, `str.isdigit`, a stand-in of `_LEET_CHARS`
PYTHON = 16  # status bit: the comment goes through the Python path (bits 0-3: steps 2-5 to run)
_AT, _S, _DOLLAR = ord("@"), ord("s"), ord("$")
_HTTP, _HTTPS, _WWW = (np.array([ord(c) for c in s], np.uint32) for s in ("http://", "https://", "www."))
_DOT, _PLUS, _MINUS, _LOW_A, _LOW_Z = ord("."), ord("+"), ord("-"), ord("a"), ord("z")
_BANG, _STAR, _HASH, _UNDER = ord("!"), ord("*"), ord("#"), ord("_")
_LEET_DIGITS = np.array([ord(c) for c in "013457"], np.uint32)
_EDGE_TAILS = np.array([ord(c) for c in "013457$@€©"], np.uint32)


@_jit
def _nb_at(cp, s, e, i):  # noqa: ANN001 - numba kernels are typed by their callers
    """cp[i] inside the comment cp[s:e], 0 (NUL, which is in no class) outside it."""
    return cp[i] if s <= i < e else np.uint32(0)


@_jit
def _nb_class(c, classes, astral_cp, astral_classes):  # noqa: ANN001
    """The class bits of code point c: from the BMP table, or from the sorted astral ones."""
    if c < 0x10000:
        return np.int64(classes[c])
    k = np.searchsorted(astral_cp, c)
    if k < astral_cp.shape[0] and astral_cp[k] == c:
        return np.int64(astral_classes[k])
    return np.int64(0)


@_jit
def _nb_classes(cp, classes, astral_cp, astral_classes):  # noqa: ANN001
    """The class bits of every code point of cp (`_nb_class` each), in `classes`' dtype."""
    kc = np.empty(cp.shape[0], classes.dtype)
    for i in range(cp.shape[0]):
        kc[i] = _nb_class(cp[i], classes, astral_cp, astral_classes)
    return kc


@_jit
def _nb_loose_mask(cp, kc, s, e):  # noqa: ANN001
    """Bit k set: the loose condition of step 2 + k holds somewhere in the folded comment cp[s:e]
    (kc: the class bits of each code point).

    One pass with the next two characters and their classes at hand, without branches but for the
    spaced letters' condition, which looks further only after a single letter and a separator.
    Characters are read unchecked but for the last five, where the comment's end is near."""
    mask, before = 0, 0  # before: the class of the previous character
    c1, c2 = _nb_at(cp, s, e, s), _nb_at(cp, s, e, s + 1)
    k1, k2 = np.int64(_nb_at(kc, s, e, s)), np.int64(_nb_at(kc, s, e, s + 1))
    inner = max(s, e - 5)
    for i in range(s, e):
        c0, k0, c1, k1 = c1, k1, c2, k2
        c2 = cp[i + 2] if i < inner else _nb_at(cp, s, e, i + 2)
        k2 = np.int64(kc[i + 2] if i < inner else _nb_at(kc, s, e, i + 2))
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
            c3, k4, k5 = _nb_at(cp, s, e, i + 3), _nb_at(kc, s, e, i + 4), _nb_at(kc, s, e, i + 5)
            if c3 == c1 and k4 & LETTER and not k5 & LETTER:
                mask |= 2
        before = k0
    return mask


@_jit
def _nb_starts(cp, i, n, literal):  # noqa: ANN001
    """Whether cp[i:n] starts with `literal`."""
    if i + literal.shape[0] > n:
        return False
    for k in range(literal.shape[0]):
        if cp[i + k] != literal[k]:
            return False
    return True


@_jit
def _nb_blank_links(src, sk, m, mk, n):  # noqa: ANN001
    """Zero m[i] and mk[i] where src[i] (of class sk[i]) is in a match of `normalize._LINKS`, scanning
    as `finditer` does: at each position the URL alternative `(?:https?://|www\\.)\\S+`, then the
    e-mail one `(?<![\\w.+-])[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+`, and on after a match."""
    p = 0
    while p < n:
        c, end = src[p], -1
        if c == _HTTP[0] or c == _WWW[0]:
            k = -1
            if _nb_starts(src, p, n, _HTTP):
                k = p + 7
            elif _nb_starts(src, p, n, _HTTPS):
                k = p + 8
            elif _nb_starts(src, p, n, _WWW):
                k = p + 4
            if k >= 0:
                q = k
                while q < n and not np.int64(sk[q]) & SPACE:
                    q += 1
                if q > k:
                    end = q
        if end < 0 and (p == 0 or not _nb_mail_char(src[p - 1], sk[p - 1])):
            q = p
            while q < n and _nb_mail_char(src[q], sk[q]):
                q += 1
            if p < q < n and src[q] == _AT:
                r = q + 1
                while r < n and _nb_host_char(src[r], sk[r]):
                    r += 1
                if r > q + 1:
                    d = r
                    while d + 1 < n and src[d] == _DOT and _nb_host_char(src[d + 1], sk[d + 1]):
                        d += 2
                        while d < n and _nb_host_char(src[d], sk[d]):
                            d += 1
                    if d > r:
                        end = d
        if end >= 0:
            m[p:end] = 0
            mk[p:end] = 0
            p = end
        else:
            p += 1


@_jit
def _nb_linkless(cp, kc, n):  # noqa: ANN001
    """Copies of cp[:n] and of its class bits kc[:n] with the links blanked (`_nb_blank_links`)."""
    m, mk = cp[:n].copy(), kc[:n].copy()
    _nb_blank_links(cp, kc, m, mk, n)
    return m, mk


@_jit
def _nb_mail_char(c, k):  # noqa: ANN001
    """`[\\w.+-]` (k: the class bits of c)"""
    return c == _DOT or c == _PLUS or c == _MINUS or k & WORD != 0


@_jit
def _nb_host_char(c, k):  # noqa: ANN001
    """`[\\w-]` (k: the class bits of c)"""
    return c == _MINUS or k & WORD != 0


@_jit
def _nb_repeat(m, mk, n):  # noqa: ANN001
    """Step 5's condition on m[:n] (links blanked): a run of three or more of one letter next to a letter."""
    i = 0
    while i < n:
        c = m[i]
        if not np.int64(mk[i]) & LETTER:
            i += 1
            continue
        j = i + 1
        while j < n and m[j] == c:
            j += 1
        if j - i >= 3 and ((i > 0 and np.int64(mk[i - 1]) & LETTER)
                           or (j < n and np.int64(mk[j]) & LETTER)):
            return True
        i = j
    return False


@_jit
def _nb_in(c, values):  # noqa: ANN001
    for v in values:
        if c == v:
            return True
    return False


@_jit
def _nb_punctuation(c):  # noqa: ANN001
    """`normalize._PUNCTUATION`: "!*#_"."""
    return c == _BANG or c == _STAR or c == _HASH or c == _UNDER


@_jit
def _nb_fits(m, a, b, words, bounds):  # noqa: ANN001
    """Whether one of `words` has m[a:b]'s letters a-z where it has them, whatever it has where m[a:b]
    has a stand-in. `words` (rows padded with 0) are sorted by length and first letter;
    bounds[length, k]: the first row of that length and first letter k (26: the end of that length)."""
    length = b - a
    if length >= bounds.shape[0]:
        return False
    c0 = m[a]
    if _LOW_A <= c0 <= _LOW_Z:
        lo, hi = bounds[length, c0 - _LOW_A], bounds[length, c0 - _LOW_A + 1]
    else:
        lo, hi = bounds[length, 0], bounds[length, 26]
    for w in range(lo, hi):
        ok = True
        for k in range(length):
            c = m[a + k]
            if _LOW_A <= c <= _LOW_Z and words[w, k] != c:
                ok = False
                break
        if ok:
            return True
    return False


@_jit
def _nb_run_may_change(m, mk, n, start, end, words, bounds, bad_words, bad_bounds):  # noqa: ANN001
    """Whether step 4 (`normalize._unleet_run`) could turn the run of stand-ins m[start:end] into letters:
    its rules, each loosened where it asks the vocabulary to whether a word of that length fits."""
    letter_before = start > 0 and np.int64(mk[start - 1]) & LETTER != 0
    letter_after = end < n and np.int64(mk[end]) & LETTER != 0
    if not (letter_before or letter_after):
        return False
    first, last = start, end  # the token around the run
    while first > 0 and np.int64(mk[first - 1]) & (WORD | STAND_IN):
        first -= 1
    while last < n and np.int64(mk[last]) & (WORD | STAND_IN):
        last += 1
    a, b = first, last  # the word `_reading` reads: the token without punctuation at its ends
    while a < b and _nb_punctuation(m[a]):
        a += 1
    while b > a and _nb_punctuation(m[b - 1]):
        b -= 1
    readable = 2 <= b - a <= 30
    for k in range(a, b):
        c = m[k]
        if not (_LOW_A <= c <= _LOW_Z or (c < 0x80 and mk[k] & STAND_IN)):
            readable = False
            break
    places, inside, ascii_, alpha, stands, digit_run, three = 0, False, True, 0, True, 0, False
    for k in range(first, last):
        c = m[k]
        kc = np.int64(mk[k])
        leet = kc & LEET != 0
        places += leet and not inside
        inside = leet or (inside and kc & STAND_IN != 0)
        ascii_ &= c < 0x80
        is_alpha = c < 0x80 and kc & LETTER != 0
        alpha += is_alpha
        stands &= is_alpha or kc & STAND_IN != 0
        digit_run = digit_run + 1 if kc & DIGIT else 0
        three |= digit_run >= 3
    run_leet = False
    for k in range(start, end):
        run_leet |= np.int64(mk[k]) & LEET != 0
    if places >= 2:
        if readable and _nb_fits(m, a, b, words, bounds):
            return True
        if m[first] != _AT and ascii_ and alpha >= 3 and stands and not three and run_leet:
            return True
    length = end - start
    if letter_before and letter_after:
        digits = 0
        masks = False
        for k in range(start, end):
            c = m[k]
            digits += mk[k] & DIGIT != 0
            masks |= c == _UNDER or c == _BANG or c == _HASH
        numeric_end = (np.int64(mk[first])
                       | np.int64(mk[last - 1])) & NUMERIC
        if not (digits and (digits > 2 or numeric_end)):
            if not masks:
                return True
            p, q = first, last
            while np.int64(mk[p]) & STAND_IN:
                p += 1
            while np.int64(mk[q - 1]) & STAND_IN:
                q -= 1
            letters = True
            for k in range(p, start):
                letters &= np.int64(mk[k]) & LETTER != 0
            for k in range(end, q):
                letters &= np.int64(mk[k]) & LETTER != 0
            if letters and min(start - p, q - end) <= 2 and max(start - p, q - end) <= 5:
                return True
    elif letter_after:
        if first == start and m[start] == _AT:
            only = True
            for k in range(start, end):
                only &= m[k] == _AT or m[k] == _DOLLAR
            ass = only
            for k in range(3):  # the run read as letters, then the text after it, starts with "ass"
                if k < length:
                    c = _LOW_A if m[start + k] == _AT else _S
                elif end + k - length < n:
                    c = m[end + k - length]
                else:
                    c = 0
                ass &= c == (_LOW_A if k == 0 else _S)
            if ass:
                return True  # "@ss", "@$s", "@$$"
        if first == start and length == 1 and m[start] == _DOLLAR and last - first >= 4:
            if readable and _nb_fits(m, a, b, words, bounds):
                return True  # "$hit"
        if first == start and length == 1 and _nb_in(m[start], _LEET_DIGITS) and b - a >= 4:
            if readable and _nb_fits(m, a, b, words, bounds):
                return True  # "3scort"
    else:
        core = end
        while core > start and _nb_punctuation(m[core - 1]):
            core -= 1
        if core - start == 1 and _nb_in(m[start], _EDGE_TAILS) and start - first >= 2 and b - a >= 4:
            if readable and _nb_fits(m, a, b, words, bounds):
                return True  # "boob$"
        mask0 = m[start] == _STAR or m[start] == _HASH
        if length >= 2 and ((m[start] == _DOLLAR and m[start + 1] == _DOLLAR)
                            or (mask0 and (m[start + 1] == _STAR or m[start + 1] == _HASH))):
            if not (mask0 and (m[first] == _STAR or m[first] == _HASH)):
                return True  # "a$$", "f***"
    if start == first and m[start] == _AT and not (end < n and (m[end] == _S or m[end] == _DOLLAR)):
        return False  # a mention
    return readable and _nb_fits(m, a, b, bad_words, bad_bounds)


@_jit
def _nb_leet(m, mk, n, words, bounds, bad_words, bad_bounds):  # noqa: ANN001
    """Step 4's condition on m[:n] (links blanked): a run of stand-ins that might become letters."""
    i = 0
    while i < n:
        if not np.int64(mk[i]) & STAND_IN:
            i += 1
            continue
        start = i
        while i < n and np.int64(mk[i]) & STAND_IN:
            i += 1
        if _nb_run_may_change(m, mk, n, start, i, words, bounds, bad_words, bad_bounds):
            return True
    return False


@_jit
def _nb_step_mask(cp, kc, s, e, words, bounds, bad_words, bad_bounds, work, work_classes):  # noqa: ANN001
    """Bit k set: step 2 + k might change the folded comment cp[s:e] (kc: the class bits of each code
    point; `work`, `work_classes`: scratch of e - s or more). When it returns a mask with bit 2 or 3
    (step 4 or 5), work[:e - s] and work_classes[:e - s] hold the comment with its links blanked."""
    mask = _nb_loose_mask(cp, kc, s, e)
    if mask & 12:
        n = e - s
        m, mk = work[:n], work_classes[:n]
        m[:] = cp[s:e]
        mk[:] = kc[s:e]
        _nb_blank_links(cp[s:e], kc[s:e], m, mk, n)
        if mask & 4 and not _nb_leet(m, mk, n, words, bounds, bad_words, bad_bounds):
            mask &= ~4
        if mask & 8 and not _nb_repeat(m, mk, n):
            mask &= ~8
    return mask


@_jit
def _nb_fold(cp, lo, hi, fold, expand, expand_at, astral_cp, astral_fold, astral_kind, classes,  # noqa: ANN001
             out, kind, origin, pos, unknown, n_unknown):
    """Step 1 of the comment cp[lo:hi], written from out[pos] (with each character's class bits in
    `kind` and, where `origin` has room, the index in `cp` of its source): (the position after it,
    whether the comment needs the Python path, how many code points are in `unknown` now).

    A BMP code point folds through `fold`; one outside it through the sorted `astral_cp` and its
    `astral_fold` (with the class bits of the folded character in `astral_kind`). An entry EXPAND - e
    or lower is expansion e, the code points expand[expand_at[e]:expand_at[e + 1]]. A code point
    missing from the tables (UNKNOWN) is recorded in `unknown`, as many as fit."""
    cap = out.shape[0]
    tracked = origin.shape[0] >= cap
    python = False
    for i in range(lo, hi):
        c = cp[i]
        k = np.int64(0)
        if c < 0x10000:
            f = np.int64(fold[c])
        else:
            j = np.searchsorted(astral_cp, c)
            if j < astral_cp.shape[0] and astral_cp[j] == c:
                f, k = np.int64(astral_fold[j]), np.int64(astral_kind[j])
            else:
                f = np.int64(UNKNOWN)
        if f >= 0:
            if pos >= cap:
                return pos, True, n_unknown
            out[pos] = f
            kind[pos] = classes[f] if f < 0x10000 else k
            if tracked:
                origin[pos] = i
            pos += 1
        elif f <= EXPAND:
            e = EXPAND - f
            if e + 1 >= expand_at.shape[0]:
                return pos, True, n_unknown
            a, b = expand_at[e], expand_at[e + 1]
            if pos + b - a > cap:
                return pos, True, n_unknown
            for x in range(a, b):
                out[pos] = expand[x]
                kind[pos] = classes[expand[x]]
                if tracked:
                    origin[pos] = i
                pos += 1
        elif f != DELETE:
            python = True
            if f == UNKNOWN and n_unknown < unknown.shape[0]:
                unknown[n_unknown] = c
                n_unknown += 1
    return pos, python, n_unknown


@_jit
def fold_chunk(cp, offsets, fold, expand, expand_at, astral_cp, astral_fold, astral_kind,  # noqa: ANN001
               classes, words, bounds, bad_words, bad_bounds, vocab, vocab_rank, finish,
               out, out_offsets, status, unknown):
    """Step 1 and the pre-check of the comments cp[offsets[d]:offsets[d + 1]] (`_nb_fold` reads the
    tables), and step 5 too where `finish` and it is the only step to run (`vocab`, `vocab_rank`: the
    vocabulary for `_nb_rank`).

    Writes comment d's folded code points to out[out_offsets[d]:out_offsets[d + 1]] (nothing for
    a comment sent to the Python path) and its status (step bits, or PYTHON) to status[d]; code
    points whose table entry is UNKNOWN go to `unknown`, as many as fit. Returns how many did.
    A comment whose folded form does not fit in what is left of `out` goes to the Python path.
    """
    pos, n_unknown = 0, 0
    out_offsets[0] = 0
    kind = np.empty(out.shape[0], classes.dtype)  # the class bits of each folded code point
    no_origin = np.empty(0, np.int64)
    work, work_classes = np.empty(out.shape[0], np.uint32), np.empty(out.shape[0], classes.dtype)
    keep = np.empty(out.shape[0] if finish else 0, np.uint8)
    for d in range(offsets.shape[0] - 1):
        start = pos
        pos, python, n_unknown = _nb_fold(cp, offsets[d], offsets[d + 1], fold, expand, expand_at, astral_cp,
                                          astral_fold, astral_kind, classes, out, kind, no_origin, pos, unknown,
                                          n_unknown)
        if python:
            pos = start
            status[d] = PYTHON
        else:
            mask = _nb_step_mask(out, kind, start, pos, words, bounds, bad_words, bad_bounds, work, work_classes)
            if finish and mask == 8:  # step 5 alone: done here, on the comment `_nb_step_mask` left in `work`
                n = pos - start
                if _nb_collapse(work[:n], work_classes[:n], n, vocab, vocab_rank, keep) >= 0:
                    q = start
                    for k in range(n):
                        if keep[k]:
                            out[q] = out[start + k]
                            q += 1
                    pos, mask = q, 0
            status[d] = mask
        out_offsets[d + 1] = pos
    return n_unknown


@_jit
def step_mask(cp, classes, astral_cp, astral_classes, words, bounds, bad_words, bad_bounds):  # noqa: ANN001
    """The pre-check of one folded comment's code points: step bits. `astral_cp` (sorted) and
    `astral_classes` give the classes of its code points outside the BMP."""
    n = cp.shape[0]
    kc = _nb_classes(cp, classes, astral_cp, astral_classes)
    work, work_classes = np.empty(n, np.uint32), np.empty(n, classes.dtype)
    return _nb_step_mask(cp, kc, 0, n, words, bounds, bad_words, bad_bounds, work, work_classes)


@_jit
def leet_runs(cp, classes, astral_cp, astral_classes, words, bounds, bad_words, bad_bounds):  # noqa: ANN001
    """Step 4's condition run by run on the folded comment cp (links aside): the runs of stand-ins that
    might become letters, one row each, (start, end, first, last): the run cp[start:end] and the token
    cp[first:last] around it (word characters and stand-ins, up to a link)."""
    n = cp.shape[0]
    m, mk = _nb_linkless(cp, _nb_classes(cp, classes, astral_cp, astral_classes), n)
    runs = np.empty(((n + 1) // 2, 4), np.int64)
    count, i = 0, 0
    while i < n:
        if not mk[i] & STAND_IN:
            i += 1
            continue
        start = i
        while i < n and mk[i] & STAND_IN:
            i += 1
        if _nb_run_may_change(m, mk, n, start, i, words, bounds, bad_words, bad_bounds):
            first, last = start, i
            while first > 0 and np.int64(mk[first - 1]) & (WORD | STAND_IN):
                first -= 1
            while last < n and np.int64(mk[last]) & (WORD | STAND_IN):
                last += 1
            runs[count, 0], runs[count, 1], runs[count, 2], runs[count, 3] = start, i, first, last
            count += 1
    return runs[:count]


@_jit
def fold_one(cp, fold, expand, expand_at, astral_cp, astral_fold, astral_kind, classes,  # noqa: ANN001
             words, bounds, bad_words, bad_bounds, out, origin):
    """Step 1 and the pre-check of one comment, with the index in `cp` of each folded code point's
    source (`origin`, as long as `out`): (how many were written, the step bits), or (-1, 0) if the
    comment needs the Python path (a SLOW or UNKNOWN entry, or a folded form longer than `out`)."""
    kind = np.empty(out.shape[0], classes.dtype)
    pos, python, _ = _nb_fold(cp, 0, cp.shape[0], fold, expand, expand_at, astral_cp, astral_fold, astral_kind,
                              classes, out, kind, origin, 0, np.empty(0, np.uint32), 0)
    if python:
        return -1, 0
    work, work_classes = np.empty(pos, np.uint32), np.empty(pos, classes.dtype)
    mask = _nb_step_mask(out, kind, 0, pos, words, bounds, bad_words, bad_bounds, work, work_classes)
    return pos, mask


@_jit
def _nb_rank(buf, length, vocab, vocab_rank):  # noqa: ANN001
    """The rank of the word buf[:length] (code points) in the vocabulary, -1 if it is not in it.
    `vocab`: the words as rows of bytes padded with 0, sorted; vocab_rank[k]: row k's rank."""
    width = vocab.shape[1]
    if length > width:
        return -1
    lo, hi = 0, vocab.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        order = 0
        for k in range(width):
            x = np.int64(buf[k]) if k < length else np.int64(0)
            y = np.int64(vocab[mid, k])
            if x != y:
                order = -1 if x < y else 1
                break
        if order == 0:
            return np.int64(vocab_rank[mid])
        if order < 0:
            hi = mid
        else:
            lo = mid + 1
    return -1


@_jit
def _nb_kept_in_word(m, a, b, at, vocab, vocab_rank, buf):  # noqa: ANN001
    """`normalize._kept_in_word` for the run at m[at] in the word of letters m[a:b]: 1 or 2, or -1 when
    the word has more than eight runs (left to the Python code)."""
    if b - a > 30:
        return 1
    for k in range(a, b):
        if not _LOW_A <= m[k] <= _LOW_Z:
            return 1
    starts, ends = np.empty(16, np.int64), np.empty(16, np.int64)
    runs, which, k = 0, -1, a
    while k < b:  # the runs of three or more of one letter
        j = k + 1
        while j < b and m[j] == m[k]:
            j += 1
        if j - k >= 3:
            if runs == 8:
                return -1
            if k == at:
                which = runs
            starts[runs], ends[runs] = k, j
            runs += 1
        k = j
    best, kept = -1, 1
    for choice in range(1 << runs):  # as itertools.product((1, 2), repeat=runs): the last run varies fastest
        length, p = 0, a
        for r in range(runs):
            for q in range(p, starts[r]):
                buf[length] = m[q]
                length += 1
            for _ in range(1 + (choice >> (runs - 1 - r) & 1)):
                buf[length] = m[starts[r]]
                length += 1
            p = ends[r]
        for q in range(p, b):
            buf[length] = m[q]
            length += 1
        found = _nb_rank(buf, length, vocab, vocab_rank)
        if found >= 0 and (best < 0 or found < best):
            best, kept = found, 1 + (choice >> (runs - 1 - which) & 1)
    return kept


@_jit
def _nb_collapse(m, mk, n, vocab, vocab_rank, keep):  # noqa: ANN001
    """Step 5 (`normalize._collapse_repeats`) on m[:n] with its links blanked out: keep[i] = 0 for each
    character it deletes, 1 for the others. Returns how many it deletes, or -1 if a word needs the
    Python code (more than eight runs)."""
    keep[:n] = 1
    buf = np.empty(64, np.uint32)
    deleted, i = 0, 0
    while i < n:
        c = m[i]
        j = i + 1
        while j < n and m[j] == c:
            j += 1
        if j - i >= 3 and np.int64(mk[i]) & LETTER:
            before = i > 0 and np.int64(mk[i - 1]) & LETTER != 0
            after = j < n and np.int64(mk[j]) & LETTER != 0
            if before or after:  # not a whole word ("www", "zzz")
                a, b = i, j
                while a > 0 and np.int64(mk[a - 1]) & LETTER:
                    a -= 1
                while b < n and np.int64(mk[b]) & LETTER:
                    b += 1
                kept = _nb_kept_in_word(m, a, b, i, vocab, vocab_rank, buf)
                if kept < 0:
                    return -1
                keep[i + kept : j] = 0
                deleted += j - i - kept
        i = j
    return deleted


@_jit
def collapse_repeats(cp, classes, astral_cp, astral_classes, vocab, vocab_rank, keep):  # noqa: ANN001
    """Step 5 on one text (code points `cp`; `astral_cp`, `astral_classes` as for `step_mask`), links
    left alone: keep[i] = 0 where it deletes cp[i]. Returns how many it deletes, or -1 when a word
    needs the Python code."""
    n = cp.shape[0]
    m, mk = _nb_linkless(cp, _nb_classes(cp, classes, astral_cp, astral_classes), n)
    return _nb_collapse(m, mk, n, vocab, vocab_rank, keep)
