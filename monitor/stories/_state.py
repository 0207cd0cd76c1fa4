"""Export and import of a StoryIndex, so that a restart keeps the window, the IDF and the stop-list.

The state is a flat dict of numpy arrays (one JSON document among them, as bytes), written with
``numpy.savez_compressed``: no pickle, so loading a state file cannot run code. Derived structures
(LSH buckets, sentence index, postings) are not stored; they are rebuilt from the stored signatures,
sentence hashes and features, which keeps the file small and the format simple.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from monitor.stories._types import StoryConfig

if TYPE_CHECKING:
    from monitor.stories._index import StoryIndex

FORMAT_VERSION = 1


def _flat(arrays: list[npt.NDArray[Any]], dtype: Any) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([len(a) for a in arrays], out=offsets[1:])
    flat = np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype=dtype)
    return flat, offsets


def _split(flat: npt.NDArray[Any], offsets: npt.NDArray[np.int64]) -> list[npt.NDArray[Any]]:
    return [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def export_state(index: StoryIndex) -> dict[str, npt.NDArray[Any]]:
    docs = sorted(index._docs.values(), key=lambda d: d.seq)
    config = {
        k: (v.total_seconds() if isinstance(v, timedelta) else v) for k, v in asdict(index.config).items()
    }
    meta = {
        "version": FORMAT_VERSION,
        "config": config,
        "seq": index._seq,
        "sources": [d.source for d in docs],
        "published": [d.published.isoformat() for d in docs],
        "stories": [
            [r.id, r.first_seen.isoformat(), r.last_seen.isoformat()] for r in index._stories.values()
        ],
        "df_docs": index._df.n_docs,
    }
    sents, sents_off = _flat([d.sents for d in docs], np.uint64)
    indexed, indexed_off = _flat([d.indexed for d in docs], np.uint64)
    feats, feats_off = _flat([d.feats for d in docs], np.uint64)
    weights, _ = _flat([d.weights for d in docs], np.float32)
    df = index._df.to_state()["df"]
    stop = index._stoplist.to_state()
    return {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        "ids": np.array([d.id for d in docs], dtype=np.int64),
        "ts": np.array([d.ts for d in docs], dtype=np.float64),
        "story": np.array([d.story for d in docs], dtype=np.int64),
        "copy_of": np.array([-1 if d.copy_of is None else d.copy_of for d in docs], dtype=np.int64),
        "has_copy": np.array([d.copy_of is not None for d in docs], dtype=np.bool_),
        "seq": np.array([d.seq for d in docs], dtype=np.int64),
        "body_hash": np.array([d.body_hash for d in docs], dtype=np.uint64),
        "norm": np.array([d.norm for d in docs], dtype=np.float64),
        "sigs": (
            np.stack([d.sig for d in docs]) if docs else np.zeros((0, index.config.num_perm), dtype=np.uint32)
        ),
        "sents": sents,
        "sents_off": sents_off,
        "indexed": indexed,
        "indexed_off": indexed_off,
        "feats": feats,
        "weights": weights,
        "feats_off": feats_off,
        "df_keys": np.fromiter(df.keys(), dtype=np.uint64, count=len(df)),
        "df_values": np.fromiter(df.values(), dtype=np.int64, count=len(df)),
        "stop_counts": stop["counts"],
        "stop_last": stop["last"],
        "stop_observed": np.array([stop["observed"]], dtype=np.int64),
    }


def import_state(state: Any) -> StoryIndex:
    """Rebuild an index from :func:`export_state` output (a dict or an ``np.load`` result)."""
    from monitor.stories._index import StoryIndex, _Doc, _StoryRec

    meta = json.loads(bytes(np.asarray(state["meta"], dtype=np.uint8)).decode("utf-8"))
    if meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"unsupported story index state version {meta.get('version')!r}")
    known = {f.name for f in fields(StoryConfig)}
    cfg = {k: v for k, v in meta["config"].items() if k in known}
    cfg["window"] = timedelta(seconds=cfg["window"])
    index = StoryIndex(config=StoryConfig(**cfg))
    index._seq = int(meta["seq"])
    index._df.load_state(
        {
            "n_docs": meta["df_docs"],
            "df": dict(zip(state["df_keys"].tolist(), state["df_values"].tolist(), strict=True)),
        }
    )
    index._stoplist.load_state(
        {
            "counts": state["stop_counts"],
            "last": state["stop_last"],
            "observed": int(state["stop_observed"][0]),
        }
    )
    for sid, first, last in meta["stories"]:
        index._stories[int(sid)] = _StoryRec(
            int(sid), datetime.fromisoformat(first), datetime.fromisoformat(last)
        )
    sents = _split(state["sents"], state["sents_off"])
    indexed = _split(state["indexed"], state["indexed_off"])
    feats = _split(state["feats"], state["feats_off"])
    weights = _split(state["weights"], state["feats_off"])
    ids = state["ids"].tolist()
    for i, article_id in enumerate(ids):
        doc = _Doc(
            id=article_id,
            ts=float(state["ts"][i]),
            published=datetime.fromisoformat(meta["published"][i]),
            source=meta["sources"][i],
            story=int(state["story"][i]),
            copy_of=int(state["copy_of"][i]) if bool(state["has_copy"][i]) else None,
            sig=np.asarray(state["sigs"][i], dtype=np.uint32),
            sents=sents[i],
            indexed=indexed[i],
            body_hash=int(state["body_hash"][i]),
            feats=feats[i],
            weights=weights[i],
            norm=float(state["norm"][i]),
            seq=int(state["seq"][i]),
        )
        index._docs[article_id] = doc
        heapq.heappush(index._heap, (doc.ts, article_id))
        index._index(doc, index._copies.lsh.keys(doc.sig))
        rec = index._stories.get(doc.story)
        if rec is None:  # a story record missing from meta: rebuild it from its members
            rec = index._stories[doc.story] = _StoryRec(doc.story, doc.published, doc.published)
        rec.members.append(article_id)
    return index
