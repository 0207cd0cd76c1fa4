"""Text to sentences, tokens and stable 64-bit hashes.

Every hash here is stable across processes (blake2b, never Python's salted ``hash``) because signatures
and sentence hashes are exported with the index state and compared after a restart.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]

# Typographic characters folded to ASCII (str.replace per pair is far faster than str.translate).
_FOLD = (
    ("\u2018", "'"),
    ("\u2019", "'"),
    ("\u201a", "'"),
    ("\u201b", "'"),
    ("\u2032", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u201e", '"'),
    ("\u2033", '"'),
    ("\u2013", "-"),
    ("\u2014", "-"),
    ("\u2212", "-"),
    ("\u00a0", " "),
    ("\u200b", ""),
)
_WORD = re.compile(r"\w+")


def normalize(text: str) -> str:
    """NFKC, typographic quotes and dashes folded, so that re-typeset copies compare equal."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        for a, b in _FOLD:
            if a in text:
                text = text.replace(a, b)
    return text


# ASCII text is tokenised by mapping every non-word character to a space and splitting: the same tokens
# as ``\w+`` (for ASCII, [A-Za-z0-9_]), six times faster than the regex. The marker survives.
_NON_WORD = {i: " " for i in range(128) if not _WORD.fullmatch(chr(i)) and chr(i) != "\x00"}
_NON_WORD_ALL = {**_NON_WORD, 0: " "}


def words(text: str) -> list[str]:
    """Lower-cased word tokens ("Russia's" gives "russia", "s": harmless for shingles and hashes)."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered.translate(_NON_WORD_ALL).split()
    return _WORD.findall(lowered)


class _TokenHashes(dict[str, int]):
    """token -> stable 64-bit hash, computed once per distinct token (the vocabulary is small)."""

    def __missing__(self, key: str) -> int:
        value = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")
        if len(self) > 500_000:  # a bounded cache: a pathological stream must not grow it forever
            self.clear()
        self[key] = value
        return value


_TOKEN_HASHES = _TokenHashes()


def token_hashes(tokens: list[str]) -> U64:
    return np.fromiter(map(_TOKEN_HASHES.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


def stable_hash(text: str) -> int:
    """A stable 63-bit hash (it fits a signed 64-bit database column)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little") >> 1


class PrefixedHashes(dict[str, int]):
    """Cached :func:`stable_hash` of ``prefix + key``: feature strings repeat across articles, and
    keying the cache by the bare name saves building the prefixed string again (bounded)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __missing__(self, key: str) -> int:
        if len(self) > 300_000:
            self.clear()
        value = self[key] = stable_hash(self.prefix + key)
        return value


_MIX = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
    ],
    dtype=np.uint64,
)
_S29 = np.uint64(29)


def shingle_hashes(hashes: U64, size: int) -> U64:
    """Hashes of the ``size``-word shingles, mixed order-sensitively in uint64 arithmetic.

    Repeated shingles are not removed: the MinHash signature is a minimum, blind to duplicates, and
    sorting them out cost a sort per article. Texts shorter than one shingle give their whole token
    sequence as a single shingle, so that short texts still get a signature.
    """
    n = len(hashes) - size + 1
    if n < 1:
        if len(hashes) == 0:
            return np.zeros(0, dtype=np.uint64)
        acc = hashes[:1] * _MIX[0]
        for j in range(1, len(hashes)):
            acc = (acc ^ (acc >> _S29)) * _MIX[j % len(_MIX)] + hashes[j : j + 1]
        return np.asarray(acc, dtype=np.uint64)
    acc = hashes[:n] * _MIX[0]
    for j in range(1, size):
        acc = (acc ^ (acc >> _S29)) * _MIX[j] + hashes[j : j + n]
    return np.asarray(acc, dtype=np.uint64)


_MARK = "\x00"
# Sentence boundaries: line breaks, and . ! ? (optionally closing quotes/brackets) then spaces and an
# upper-case letter, a digit or an opening quote. Replaced by a marker; the body is then split at the
# markers and each sentence tokenised by one findall.
_SENT_END = re.compile(
    r"([.!?](?<!\b[A-Z]\.)(?<!\bM[rs]\.)(?<!\bMrs\.)(?<!\b(?:Dr|St|Jr|Sr|Lt|No)\.)"
    r"(?<!\b(?:Gen|Sen|Rep|Gov|Col|Sgt)\.)[\"')\]]*)[ \t]+(?=[\"'(\[]?[A-Z0-9])"
)
_POLY = 0x100000001B3
_POLY_INV = pow(_POLY, -1, 1 << 64)
_powers = np.ones(1, dtype=np.uint64)
_inv_powers = np.ones(1, dtype=np.uint64)
_inv_powers_list: list[int] = [1]  # the same, as Python ints (a sentence's hash is finished in Python)


def _ensure_powers(n: int) -> None:
    global _powers, _inv_powers, _inv_powers_list
    if len(_powers) <= n:
        size = max(n + 1, 2 * len(_powers), 4096)
        _powers = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, _POLY, dtype=np.uint64)], dtype=np.uint64)
        _inv_powers = np.cumprod(
            np.r_[np.uint64(1), np.full(size - 1, _POLY_INV, dtype=np.uint64)], dtype=np.uint64
        )
        _inv_powers_list = _inv_powers.tolist()


def _finish(h: U64, lengths: npt.NDArray[np.int64]) -> U64:
    h = h + lengths.astype(np.uint64) * _MIX[2]
    h = (h ^ (h >> _S29)) * _MIX[3]
    return h >> np.uint64(1)  # 63 bits: fits a signed 64-bit column


_M64 = (1 << 64) - 1
_MIX2, _MIX3 = int(_MIX[2]), int(_MIX[3])


def _finish_one(total: int, n: int) -> int:
    """:func:`_finish` of one value, in Python integers (the same uint64 arithmetic, without the
    numpy calls)."""
    h = (total + n * _MIX2) & _M64
    return (((h ^ (h >> 29)) * _MIX3) & _M64) >> 1


@dataclass(frozen=True, slots=True)
class BodyView:
    """A body cut into sentences and tokens in one pass, with hashes computed in numpy.

    ``sent_hash[k]`` is an order-sensitive hash of sentence k's tokens (0 when the sentence has fewer
    than ``min_words`` words and is too short to be evidence of copying). Hashing tokens rather than
    characters makes it blind to the punctuation and spacing changes syndication tools make.
    ``sent_hashes`` is the same as a list, and ``body_hash`` :func:`sequence_hash` of all the tokens
    (a by-product of the sentence hashes).
    """

    sentences: list[str]
    tokens: list[str]
    token_hashes: U64
    starts: npt.NDArray[np.int64]
    lengths: npt.NDArray[np.int64]
    sent_hash: U64
    sent_hashes: list[int]
    body_hash: int

    def token_mask(self, keep_sentences: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        return np.repeat(keep_sentences, self.lengths)


def analyse(body: str, *, min_words: int) -> BodyView:
    # re.split with the boundary's group kept gives the same cuts as substituting the marker, without
    # expanding a template per boundary; a marker already in the text splits there too, as it did.
    text = " ".join(normalize(body).split())
    parts = _SENT_END.split(text)
    sentences = [a + b for a, b in zip(parts[0:-1:2], parts[1::2], strict=True)]
    sentences.append(parts[-1])
    marked = _MARK.join(sentences)
    if _MARK in text:
        sentences = marked.split(_MARK)
    lowered = marked.lower()
    if lowered.isascii():
        per_sentence = [part.split() for part in lowered.translate(_NON_WORD).split(_MARK)]
    else:
        per_sentence = [_WORD.findall(part) for part in lowered.split(_MARK)]
    lengths = list(map(len, per_sentence))
    tokens = list(chain.from_iterable(per_sentence))
    th = token_hashes(tokens)
    n = len(th)
    _ensure_powers(n + 1)
    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(th * _powers[:n], out=prefix[1:])
    # Each sentence's hash from the prefix sums, in Python integers: the uint64 arithmetic of the
    # vectorised version (masked to 64 bits), without a dozen numpy calls on a dozen sentences.
    pre: list[int] = prefix.tolist()
    inv = _inv_powers_list
    sent_hashes: list[int] = []
    starts: list[int] = []
    start = 0
    for length in lengths:
        starts.append(start)
        end = start + length
        if length >= min_words:
            sent_hashes.append(_finish_one(((pre[end] - pre[start]) * inv[start]) & _M64, length))
        else:
            sent_hashes.append(0)
        start = end
    return BodyView(
        sentences,
        tokens,
        th,
        np.array(starts, dtype=np.int64),
        np.array(lengths, dtype=np.int64),
        np.array(sent_hashes, dtype=np.uint64),
        sent_hashes,
        _finish_one(pre[n], n),
    )


def sequence_hash(hashes: U64) -> int:
    """One order-sensitive hash of a token-hash sequence (the exact-body check)."""
    n = len(hashes)
    _ensure_powers(n)
    return _finish_one(int(np.sum(hashes * _powers[:n], dtype=np.uint64)), n)
