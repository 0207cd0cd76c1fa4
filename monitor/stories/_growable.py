"""Large arrays that grow and shrink in place, and in-place gathers: the index's peak without copies.

Why: growing a numpy array means allocating the bigger one and copying, so for a moment both are
resident. At 200,000 articles the signature column alone is ~100 MB, and growing it by half made the
process's peak ~100 MB higher than what it kept; compaction and the postings pack did the same with
their int64 position arrays (8 bytes per pooled entry, several at once).

Here an array of at least ``MAPPED_MIN`` bytes lives in its own private anonymous mapping; :func:`resize`
changes its length with ``mremap`` (the kernel moves page tables: no copy, nothing doubled), and pages
never written (the spare room a growth leaves) are never resident. Shrinking gives the tail's pages back.
:func:`gather_prefix` and :func:`gather_ranges` move kept rows or ranges to the front of an array in
place, a bounded chunk at a time, instead of building the compacted copy beside the original.

tracemalloc does not see mapped arrays (they are not allocated through numpy's allocator); their bytes
are in ``StoryIndex.memory()`` and in the RSS.
"""

from __future__ import annotations

import mmap
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

MAPPED_MIN = 1 << 20  # bytes: smaller arrays are plain numpy arrays (a mapping costs a system call)
CHUNK = 1 << 18  # elements moved per step by the gathers (a few MB of temporaries at most)
_FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS


def ranges(offsets: npt.NDArray[Any], lengths: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Positions of the concatenated ranges [offset, offset + length), in order."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    starts = np.asarray(offsets, dtype=np.int64) - np.cumsum(lengths) + lengths
    out: npt.NDArray[np.int64] = np.arange(total, dtype=np.int64) + np.repeat(starts, lengths)
    return out


def _view(mapping: mmap.mmap, shape: tuple[int, ...], dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    count = int(np.prod(shape))
    return np.frombuffer(mapping, dtype=dtype, count=count).reshape(shape)


def mapping_of(arr: npt.NDArray[Any]) -> mmap.mmap | None:
    """The mapping an array made by :func:`new` lives in (None for a plain array)."""
    base: Any = arr
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap):
        return base.obj
    return None


def new(shape: int | tuple[int, ...], dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """A zero-filled array; mapped when it is large (see the module docstring)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    dt = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dt.itemsize
    if nbytes < MAPPED_MIN:
        return np.zeros(shape, dtype=dt)
    return _view(mmap.mmap(-1, nbytes, flags=_FLAGS), shape, dt)


def resize(owner: object, name: str, rows: int) -> None:
    """Give ``owner.<name>`` ``rows`` rows (first axis), keeping the rows both lengths have; new rows
    are zero. In place for a mapped array that nothing else holds a view of; otherwise by a copy."""
    arr: npt.NDArray[Any] = getattr(owner, name)
    shape = (rows, *arr.shape[1:])
    dtype = arr.dtype
    nbytes = int(np.prod(shape)) * dtype.itemsize
    mapping = mapping_of(arr)
    if mapping is not None and nbytes >= MAPPED_MIN:
        setattr(owner, name, None)  # drop the views this owner holds, so that the mapping can move
        del arr
        try:
            _remap(mapping, nbytes)
        # BufferError: a view is still alive elsewhere, it keeps the old mapping; SystemError: no
        # mremap on this system (macOS, the BSDs); OSError: the kernel refused. Then we copy.
        except (BufferError, SystemError, OSError):
            old = _view(mapping, (len(mapping) // (dtype.itemsize * _row(shape)), *shape[1:]), dtype)
            out = new(shape, dtype)
            keep = min(len(old), rows)
            out[:keep] = old[:keep]
            setattr(owner, name, out)
            return
        setattr(owner, name, _view(mapping, shape, dtype))
        return
    out = new(shape, dtype)
    keep = min(len(arr), rows)
    out[:keep] = arr[:keep]
    setattr(owner, name, out)


def _remap(mapping: mmap.mmap, nbytes: int) -> None:
    """``mremap`` where the system has it (Linux); elsewhere ``mmap.resize`` raises ``SystemError``."""
    mapping.resize(nbytes)


def _row(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape[1:])) if len(shape) > 1 else 1


def gather_prefix(arr: npt.NDArray[Any], keep: npt.NDArray[np.int64]) -> None:
    """``arr[:len(keep)] = arr[keep]`` for increasing ``keep``, in place, a chunk at a time: row
    ``keep[i] >= i``, so a chunk only overwrites rows that were read already."""
    for lo in range(0, len(keep), CHUNK):
        part = keep[lo : lo + CHUNK]
        arr[lo : lo + len(part)] = arr[part]


def gather_ranges(arr: npt.NDArray[Any], offsets: npt.NDArray[Any], lengths: npt.NDArray[Any]) -> int:
    """Move the ranges [offset, offset + length) of ``arr`` to its front, one after the other, in place;
    returns their total length. The ranges must be disjoint and in increasing order (each then moves
    towards the front, past data already read). Done a bounded number of elements at a time."""
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    if not len(lengths):
        return 0
    bounds = chunks(lengths)
    done = 0
    for start, stop in pairwise(bounds):
        pos = ranges(offsets[start:stop], lengths[start:stop])
        arr[done : done + len(pos)] = arr[pos]
        done += len(pos)
    return done


def chunks(lengths: npt.NDArray[np.int64]) -> list[int]:
    """Cut points splitting a list of ranges into groups of about ``CHUNK`` elements (a longer range
    is a group of its own): group g is ``[bounds[g], bounds[g + 1])``."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    cuts = np.searchsorted(ends, np.arange(CHUNK, total, CHUNK), side="right")
    return sorted({0, len(lengths), *(c for c in cuts.tolist() if 0 < c < len(lengths))})


def compress_prefix(arrays: tuple[npt.NDArray[Any], ...], mask: npt.NDArray[np.bool_]) -> int:
    """``arr[:k] = arr[mask]`` for each array (same length as ``mask``), in place, a chunk at a time;
    returns k. Kept rows only move towards the front, past rows already read."""
    done = 0
    for lo in range(0, len(mask), CHUNK):
        part = mask[lo : lo + CHUNK]
        k = int(np.count_nonzero(part))
        for arr in arrays:
            arr[done : done + k] = arr[lo : lo + CHUNK][part]
        done += k
    return done
