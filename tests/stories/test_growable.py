"""Arrays that grow in place (mremap) and in-place compaction: same contents, same decisions, no doubled
peak (monitor/stories/_growable.py)."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import monitor.stories._growable as growable
import monitor.stories._window as window_module
from monitor.stories import ArticleRecord, StoryIndex
from tests.stories.test_columnar import FIRST_VERSION, _config, _digest, _run


class _Owner:
    arr: np.ndarray


def test_every_array_mapped_and_moved_in_tiny_chunks_keeps_the_decisions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pinned stream with every array mapped (so each growth is an mremap), gathers and packs a few
    elements at a time, and compaction at tiny thresholds."""
    monkeypatch.setattr(growable, "MAPPED_MIN", 1)
    monkeypatch.setattr(growable, "CHUNK", 3)
    monkeypatch.setattr(window_module, "COMPACT_MIN_DEAD", 4)
    monkeypatch.setattr(window_module, "VOCAB_MIN", 32)
    index = StoryIndex(config=_config())
    assert growable.mapping_of(index._w.docs.sig) is not None
    assert _digest(_run(index)) == FIRST_VERSION
    assert index._w.compactions >= 5


def test_resize_moves_a_mapped_array_in_place_keeping_its_rows() -> None:
    owner = _Owner()
    owner.arr = growable.new((70_000, 4), np.uint32)  # 1.1 MB: mapped
    mapping = growable.mapping_of(owner.arr)
    assert mapping is not None
    owner.arr[:] = np.arange(280_000, dtype=np.uint32).reshape(-1, 4)
    growable.resize(owner, "arr", 100_000)
    assert growable.mapping_of(owner.arr) is mapping  # the same mapping, resized: nothing copied
    assert owner.arr.shape == (100_000, 4)
    assert (owner.arr[:70_000].ravel() == np.arange(280_000)).all()
    assert not owner.arr[70_000:].any()  # new rows are zero
    growable.resize(owner, "arr", 69_000)
    assert (owner.arr.ravel() == np.arange(276_000)).all()


def test_resize_copies_when_a_view_of_the_array_is_still_alive() -> None:
    owner = _Owner()
    owner.arr = growable.new(300_000, np.int64)
    owner.arr[:] = 7
    view = owner.arr[10:20]  # keeps the mapping exported: it cannot move
    growable.resize(owner, "arr", 400_000)
    assert growable.mapping_of(owner.arr) is not growable.mapping_of(view)
    assert (owner.arr[:300_000] == 7).all() and not owner.arr[300_000:].any()
    assert (view == 7).all()  # the old mapping is still valid for whoever holds it


def test_resize_copies_where_the_system_has_no_mremap(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and the BSDs have no mremap: ``mmap.resize`` raises SystemError there. The index must still
    grow (by a copy), and decide as everywhere else."""

    def no_mremap(mapping: object, nbytes: int) -> None:
        raise SystemError("mmap: resizing not available--no mremap()")

    monkeypatch.setattr(growable, "_remap", no_mremap)
    owner = _Owner()
    owner.arr = growable.new(300_000, np.int64)
    owner.arr[:] = 5
    growable.resize(owner, "arr", 400_000)
    assert (owner.arr[:300_000] == 5).all() and not owner.arr[300_000:].any()
    growable.resize(owner, "arr", 200_000)
    assert owner.arr.shape == (200_000,) and (owner.arr == 5).all()
    monkeypatch.setattr(growable, "MAPPED_MIN", 1)
    assert _digest(_run(StoryIndex(config=_config()))) == FIRST_VERSION


@pytest.mark.parametrize("seed", range(20))
def test_gathers_match_fancy_indexing(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(growable, "CHUNK", 4)
    rng = random.Random(seed)
    n = rng.randint(0, 60)
    arr = np.array([rng.randrange(1000) for _ in range(n)], dtype=np.int64)
    keep = np.array(sorted(rng.sample(range(n), rng.randint(0, n))), dtype=np.int64)
    expected = arr[keep].copy()
    growable.gather_prefix(arr, keep)
    assert (arr[: len(keep)] == expected).all()
    # disjoint increasing ranges, some empty, some longer than a chunk
    cuts = sorted(rng.choices(range(n + 1), k=2 * rng.randint(0, 8)))
    offsets = np.array(cuts[0::2], dtype=np.int64)
    lengths = np.array(cuts[1::2], dtype=np.int64) - offsets
    expected = np.concatenate([arr[o : o + k] for o, k in zip(offsets, lengths, strict=True)] or [arr[:0]])
    assert growable.gather_ranges(arr, offsets, lengths) == len(expected)
    assert (arr[: len(expected)] == expected).all()


def _status(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux /proc")
def test_growing_a_large_array_does_not_hold_two_copies() -> None:
    """Growing 48 MB by half raised the peak RSS by the old array's 48 MB when it was a copy."""
    owner = _Owner()
    owner.arr = growable.new(6_000_000, np.int64)
    owner.arr[:] = 1  # resident
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset the peak (VmHWM) to the current RSS
    growable.resize(owner, "arr", 9_000_000)
    owner.arr[-1] = 2
    assert _status("VmHWM") - before < 16
    assert int(owner.arr.sum()) == 6_000_002


def test_a_straggler_dropped_by_compaction_becomes_a_ghost_of_its_own_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pruned article behind a live one in a postings list keeps its article id as a ghost after the
    in-place compaction moved other rows over its row."""
    monkeypatch.setattr(window_module, "COMPACT_MIN_DEAD", 1)
    index = StoryIndex(config=_config())
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    hours = [10, 0, 11, 12]  # article 2 is the early one: pruned while 1 (before it) stays
    words = [f"w{i}x" for i in range(400)]
    for k, h in enumerate(hours, start=1):
        rng = random.Random(k)  # different wording each time (no copies), the same names
        lines = [" ".join(rng.sample(words, 12)) + "." for _ in range(6)]
        body = "Quorbly Vantreth met Zindelmark officials in Prastova. " + " ".join(lines)
        index.add(ArticleRecord(k, f"Quorbly Vantreth talks {k}", body, t0 + timedelta(hours=h), "x"))
    w = index._w
    fid = min(set.intersection(*(set(w.docs.features_of(r)[0].tolist()) for r in range(4))))
    assert index.prune(before=t0 + timedelta(hours=5)) == 1
    assert w.compactions == 1
    length = w.postings.lengths(np.array([fid]))
    entries = w.postings.tails(np.array([fid]), length)
    assert w.entry_ids(entries).tolist() == [1, 2, 3, 4]
    assert entries[1] <= -2  # article 2 is a ghost
