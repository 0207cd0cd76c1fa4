"""Export and import of a StoryIndex, so that a restart keeps the window, the IDF and the stop-list.

The state is a flat dict of numpy arrays (one JSON document among them, as bytes), written with
``numpy.savez`` (:func:`write_state`): no pickle, so loading a state file cannot run code. Derived structures
(LSH and sentence tables, postings) are not stored; they are rebuilt from the stored signatures,
sentence hashes and features, which keeps the file small and the format simple.

The format is the first version's (``FORMAT_VERSION`` 1, one entry per article: feature hashes rather
than the vocabulary ids used in memory), so state files written before the columnar index still load,
and the other way round. Articles are listed in arrival order; ``seq`` only has to preserve it.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from os import PathLike
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from monitor.stories._table import NO_COPY, ranges
from monitor.stories._types import StoryConfig

if TYPE_CHECKING:
    from monitor.stories._index import StoryIndex

FORMAT_VERSION = 1


def write_state(file: str | PathLike[str] | IO[bytes], state: Mapping[str, Any]) -> None:
    """Write a state dict as an uncompressed ``.npz`` (``numpy.load`` reads it like ``numpy.savez``'s).

    Not compressed on purpose: most of the bytes are hashes (MinHash signatures, sentence hashes, the
    stop-list's story tags), which deflate leaves at 80% of their size, while deflating the 24 MB
    stop-list alone took 4 to 14 s of CPU on this project's 2-core bench machine. The daemon saves
    every ``save_every`` and at the end of every ``run --once``, so that time came straight out of
    polling; writing the arrays as they are takes milliseconds.

    Written here rather than by ``numpy.savez``, which writes a zip member through ``tobytes`` copies of
    16 MB chunks: the stop-list's 16 MB tag array was copied whole, a 16 MB jump of the daemon's RSS at
    every save (issue #3's peak). Each array's bytes go to the member as a view of the array itself.
    Object arrays are refused: loading never unpickles (``allow_pickle=False``), so none may be written.
    """
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, value in state.items():
            array = np.asarray(value, order="C")  # what the index holds is contiguous: no copy
            if array.dtype.hasobject:
                raise ValueError(f"state entry {key!r} holds Python objects, which a state file cannot")
            header = np.lib.format.header_data_from_array_1_0(array)
            with archive.open(f"{key}.npy", mode="w", force_zip64=True) as member:
                try:
                    np.lib.format.write_array_header_1_0(member, header)
                except ValueError:  # a header past 64 KiB (a huge structured dtype): format 2.0
                    np.lib.format.write_array_header_2_0(member, header)
                member.write(array.reshape(-1).view(np.uint8).data)


def _offsets(lengths: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def export_state(index: StoryIndex) -> dict[str, npt.NDArray[Any]]:
    docs, stories, vocab = index._w.docs, index._w.stories, index._w.vocab
    rows = docs.live_rows()
    config = {
        k: (v.total_seconds() if isinstance(v, timedelta) else v) for k, v in asdict(index.config).items()
    }
    srows = stories.live_rows().tolist()
    when = docs.times.when
    meta = {
        "version": FORMAT_VERSION,
        "config": config,
        "seq": index._seq,
        "sources": [docs.sources.values[c] for c in docs.source[rows].tolist()],
        "published": [docs.published(r).isoformat() for r in rows.tolist()],
        "stories": [
            [
                int(stories.ids[s]),
                when(float(stories.first_ts[s]), int(stories.first_zone[s])).isoformat(),
                when(float(stories.last_ts[s]), int(stories.last_zone[s])).isoformat(),
            ]
            for s in srows
        ],
        "df_docs": vocab.n_docs,
    }
    s_len = docs.s_len[rows].astype(np.int64)
    f_len = docs.f_len[rows].astype(np.int64)
    f_pos = ranges(docs.f_off[rows], f_len)
    indexed, indexed_off = index._w.copies.indexed(rows)
    df_keys, df_values = vocab.counts()
    stop = index._stoplist.to_state()
    copy_of = docs.copy_of[rows]
    return {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        "ids": docs.ids[rows],
        "ts": docs.ts[rows],
        "story": stories.ids[docs.story[rows]],
        "copy_of": np.where(copy_of == NO_COPY, -1, copy_of),
        "has_copy": copy_of != NO_COPY,
        "seq": index._seq - len(rows) + 1 + np.arange(len(rows), dtype=np.int64),
        "body_hash": docs.body[rows],
        "norm": docs.norm[rows].astype(np.float64),
        "sigs": docs.sig[rows],
        "sents": docs.sents[ranges(docs.s_off[rows], s_len)],
        "sents_off": _offsets(s_len),
        "indexed": indexed,
        "indexed_off": indexed_off,
        "feats": vocab.keys[docs.fids[f_pos]],
        "weights": docs.fweights[f_pos],
        "feats_off": _offsets(f_len),
        "df_keys": df_keys,
        "df_values": df_values,
        "stop_counts": stop["counts"],
        "stop_last": stop["last"],
        "stop_observed": np.array([stop["observed"]], dtype=np.int64),
    }


def import_state(state: Any) -> StoryIndex:
    """Rebuild an index from :func:`export_state` output (a dict or an ``np.load`` result)."""
    from monitor.stories._index import StoryIndex

    meta = json.loads(bytes(np.asarray(state["meta"], dtype=np.uint8)).decode("utf-8"))
    if meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"unsupported story index state version {meta.get('version')!r}")
    known = {f.name for f in fields(StoryConfig)}
    cfg = {k: v for k, v in meta["config"].items() if k in known}
    cfg["window"] = timedelta(seconds=cfg["window"])
    index = StoryIndex(config=StoryConfig(**cfg))
    index._seq = int(meta["seq"])
    vocab, docs, stories = index._w.vocab, index._w.docs, index._w.stories
    vocab.load_counts(int(meta["df_docs"]), state["df_keys"].astype(np.uint64), state["df_values"])
    index._stoplist.load_state(
        {
            "counts": state["stop_counts"],
            "last": state["stop_last"],
            "observed": int(state["stop_observed"][0]),
        }
    )
    split = docs.times.split
    for sid, first, last in meta["stories"]:
        stories.restore(int(sid), split(datetime.fromisoformat(first)), split(datetime.fromisoformat(last)))

    ids = np.asarray(state["ids"], dtype=np.int64)
    n = len(ids)
    zones = np.array([split(datetime.fromisoformat(p))[1] for p in meta["published"]], dtype=np.uint16)
    ts = np.asarray(state["ts"], dtype=np.float64)
    story_ids = np.asarray(state["story"], dtype=np.int64)
    uniq, first_at, inverse = np.unique(story_ids, return_index=True, return_inverse=True)
    story_rows = []
    for sid, at in zip(uniq.tolist(), first_at.tolist(), strict=True):
        row = stories.find(sid)
        if row < 0:  # a story missing from meta: rebuilt from its first member
            row = stories.open(sid, float(ts[at]), int(zones[at]))
        story_rows.append(row)
    srow = np.array(story_rows, dtype=np.int32)[inverse.reshape(-1)] if n else np.zeros(0, dtype=np.int32)
    np.add.at(stories.count, srow, 1)

    sents_off = np.asarray(state["sents_off"], dtype=np.int64)
    feats_off = np.asarray(state["feats_off"], dtype=np.int64)
    feats = np.asarray(state["feats"], dtype=np.uint64)
    fids = vocab.ensure(feats, vocab.lookup(feats))
    has_copy = np.asarray(state["has_copy"], dtype=np.bool_)
    docs.load(
        {
            "ids": ids,
            "ts": ts,
            "zone": zones,
            "source": np.array([docs.sources.code(s) for s in meta["sources"]], dtype=np.uint32),
            "story": srow,
            "copy_of": np.where(has_copy, np.asarray(state["copy_of"], dtype=np.int64), NO_COPY),
            "body": np.asarray(state["body_hash"], dtype=np.uint64),
            "norm": np.asarray(state["norm"], dtype=np.float32),
            "sig": np.asarray(state["sigs"], dtype=np.uint32).reshape(n, index.config.num_perm),
            "s_len": np.diff(sents_off),
            "f_len": np.diff(feats_off),
        },
        np.asarray(state["sents"], dtype=np.uint64),
        fids,
        np.asarray(state["weights"], dtype=np.float32),
    )
    index._w.ids.bulk(ids.astype(np.uint64), np.arange(n))
    indexed_off = np.asarray(state["indexed_off"], dtype=np.int64)
    index._w.copies.bulk(
        index._w.copies.lsh.keys_of(docs.sig[:n]),
        np.asarray(state["indexed"], dtype=np.uint64),
        np.repeat(np.arange(n), np.diff(indexed_off)),
        docs.body[:n],
    )
    originals = np.flatnonzero(~has_copy)
    f_len = np.diff(feats_off)[originals]
    index._w.postings.reserve(vocab.n)
    index._w.postings.bulk(
        fids[ranges(feats_off[originals], f_len)].astype(np.int64), np.repeat(originals, f_len)
    )
    return index
