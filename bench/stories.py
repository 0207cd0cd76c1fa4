"""Copy detection and story grouping (monitor.stories): quality on a labelled set, and cost at scale.

Quality: the whole corpus (5,324 real articles) is streamed through a StoryIndex in date order, together
with 200 copies derived from labelled articles (re-headlined, footer changed, trimmed, reordered,
updated...). Pairwise precision/recall are computed on the labelled articles of bench/data/story-labels.json
(150 events in 106 sagas, 265 distractors, 7 natural copy pairs; see docs/stories.md for how it was made).
The corpus texts are read at run time and never stored in the repository.

Cost: a synthetic window of 100,000 articles (corpus sentences recombined and perturbed, spread over
72 hours) is filled, then more articles are added and timed one by one. Memory: the bytes per article
of the window's arrays (``StoryIndex.memory()``, by part) and the RSS growth while filling the window
(which also counts the fixed stop-list sketch and the bounded text caches), then the peak RSS.

Baselines, in the same run: exact-body dedup for copies, exact-title grouping for stories.

    .venv/bin/python bench/stories.py [--quick] [--corpus PATH] [--labels PATH] [--window-size N]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import random
import re
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from monitor.log import configure
from monitor.stories import ArticleRecord, StoryConfig, StoryIndex

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "news-articles.jsonl.gz"
DEFAULT_LABELS = ROOT / "bench" / "data" / "story-labels.json"
FOOTERS = [
    "Reporting by Jane Merriman in London; Editing by Tom Brown and Alison Williams.",
    "Copyright 2019 The Associated Press. All rights reserved. This material may not be published, "
    "broadcast, rewritten or redistributed.",
    "Sign up for the Morning Briefing newsletter to get the day's top stories delivered to your inbox.",
    "Follow the Global Desk on Twitter and Facebook for the latest updates from around the world.",
    "This article has been updated to correct the spelling of a name in the third paragraph.",
    "Additional reporting by Maria Lopez in Madrid and Kenji Sato in Tokyo; writing by Paul Grant.",
    "The views expressed in this article are the author's own and do not reflect those of the publisher.",
    "Have a news tip? Contact our newsroom at any time of day; we read every message we receive.",
]
UPDATE_LINES = [
    "Officials said later on the same day that the figures were still being checked.",
    "A spokesman declined to comment further when reached by telephone on Wednesday evening.",
    "The number of people affected rose again overnight, according to local authorities.",
    "This story was developing and further details were expected in the coming hours.",
]
_SENT = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Item:
    key: str  # corpus id or derived id
    id: int
    title: str
    body: str
    published: datetime
    source: str


def load_corpus(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def corpus_time(row: dict[str, Any]) -> datetime:
    """Only a date is known: a deterministic hour between 06:00 and 22:00 keeps one day's order fixed."""
    day = datetime.fromisoformat(row["date"]).replace(tzinfo=UTC)
    return day + timedelta(minutes=360 + sum(map(ord, row["id"])) * 37 % 960)


def derive(row: dict[str, Any], ops: list[dict[str, Any]]) -> tuple[str, str]:
    """Apply the labelled derivation operations (deterministic from their parameters) to one article."""
    title = row["title"]
    sents = [s for s in _SENT.split(row["body"].replace("\n", " ")) if s.strip()]
    for op in ops:
        kind = op["op"]
        if kind == "reheadline":
            rng = random.Random(op["seed"])
            cand = [w for w in re.findall(r"[A-Za-z][\w'-]+", " ".join(sents[:2])) if len(w) > 3]
            pick = sorted(rng.sample(range(len(cand)), min(8, len(cand))))
            title = " ".join(cand[i] for i in pick).capitalize() or "Update"
        elif kind == "footer":
            drop = op["drop_last_sentences"]
            sents = (sents[:-drop] if drop and len(sents) > drop + 2 else sents) + [FOOTERS[op["footer"]]]
        elif kind == "trim":
            sents = sents[: max(2, round(len(sents) * op["keep"]))]
        elif kind == "lead_trim":
            sents = sents[op["drop_sentences"] :] if len(sents) > op["drop_sentences"] + 2 else sents
        elif kind == "reorder":
            rng = random.Random(op["seed"])
            n = op["blocks"]
            size = max(1, -(-len(sents) // n))
            blocks = [sents[i : i + size] for i in range(0, len(sents), size)]
            order = list(range(len(blocks)))
            while len(order) > 1 and order == sorted(order):
                rng.shuffle(order)
            sents = [s for i in order for s in blocks[i]]
        elif kind == "update":
            rng = random.Random(op["seed"])
            for _ in range(op["edits"]):
                i = rng.randrange(len(sents))
                toks = sents[i].split()
                j = rng.randrange(len(toks))
                toks[j] = rng.choice(["officials", "several", "reportedly", "nearly", "17", "Tuesday"])
                sents[i] = " ".join(toks)
            for _ in range(op["add_sentences"]):
                sents.insert(rng.randrange(len(sents) + 1), rng.choice(UPDATE_LINES))
        else:
            raise ValueError(f"unknown derivation op {kind!r}")
    return title, " ".join(sents)


def build_stream(rows: list[dict[str, Any]], labels: dict[str, Any]) -> list[Item]:
    by_id = {r["id"]: r for r in rows}
    items = [
        Item(r["id"], n + 1, r["title"], r["body"], corpus_time(r), r["source_url"] or r["source"])
        for n, r in enumerate(rows)
    ]
    for k, d in enumerate(labels["derived"]):
        src = by_id[d["from"]]
        title, body = derive(src, d["ops"])
        when = corpus_time(src) + timedelta(hours=d["delay_hours"])
        items.append(Item(d["id"], 1_000_001 + k, title, body, when, d["source"]))
    items.sort(key=lambda it: (it.published, it.id))
    return items


# -- scoring -------------------------------------------------------------------------------------------


class Truth:
    """Labels turned into: copy group per item, event key and saga per item (None = not scored)."""

    def __init__(self, labels: dict[str, Any]) -> None:
        self.event: dict[str, str] = {}
        self.saga: dict[str, str] = {}
        self.related: set[str] = set()
        for saga in labels["sagas"]:
            for name, ids in saga["events"].items():
                for i in ids:
                    self.event[i], self.saga[i] = name, saga["name"]
            self.related.update(saga["related"])
        self.distractors = set(labels["distractors"])
        for i in self.distractors:
            self.event[i] = "d:" + i
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.get(x, x) != x:
                x = parent[x]
            return x

        for a, b in labels["natural_copies"]:
            parent[find(a)] = find(b)
        self.derived_from = {d["id"]: d["from"] for d in labels["derived"]}
        for d, src in self.derived_from.items():
            parent[find(d)] = find(src)
        self.copy_group = {x: find(x) for x in [*self.event, *self.related, *self.derived_from]}

    def universe(self) -> set[str]:
        return set(self.copy_group)

    def story_scored(self, a: str, b: str) -> bool:
        ea, eb = self.event.get(a), self.event.get(b)
        if ea is None or eb is None:
            return False
        if ea.startswith("d:") and eb.startswith("d:") and ea != eb:
            return False  # distractors were not checked against each other
        sa, sb = self.saga.get(a), self.saga.get(b)
        return not (sa is not None and sa == sb and ea != eb)


def pairs_of(groups: Iterable[list[str]]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for g in groups:
        g = sorted(g)
        out.update((g[i], g[j]) for i in range(len(g)) for j in range(i + 1, len(g)))
    return out


def prf(pred: set[tuple[str, str]], true: set[tuple[str, str]]) -> tuple[float, float]:
    hit = len(pred & true)
    return (hit / len(pred) if pred else 1.0), (hit / len(true) if true else 1.0)


def evaluate(truth: Truth, copy_root: dict[str, str], story: dict[str, Any]) -> dict[str, float]:
    uni = truth.universe()
    groups: dict[Any, list[str]] = defaultdict(list)
    for k in uni:
        groups[copy_root[k]].append(k)
    true_groups: dict[str, list[str]] = defaultdict(list)
    for k in uni:
        true_groups[truth.copy_group[k]].append(k)
    cp, cr = prf(pairs_of(groups.values()), pairs_of(true_groups.values()))
    originals = [k for k in truth.event if k not in truth.derived_from]
    sgroups: dict[Any, list[str]] = defaultdict(list)
    egroups: dict[str, list[str]] = defaultdict(list)
    for k in originals:
        sgroups[story[k]].append(k)
        egroups[truth.event[k]].append(k)
    pred = {p for p in pairs_of(sgroups.values()) if truth.story_scored(*p)}
    sp, sr = prf(pred, pairs_of(egroups.values()))
    return {"copy_precision": cp, "copy_recall": cr, "story_precision": sp, "story_recall": sr}


def run_index(items: list[Item], config: StoryConfig) -> tuple[dict[str, str], dict[str, int], float]:
    index = StoryIndex(config=config)
    key_of = {it.id: it.key for it in items}
    copy_root: dict[str, str] = {}
    story: dict[str, int] = {}
    t0 = time.process_time()
    for n, it in enumerate(items):
        a = index.add(ArticleRecord(it.id, it.title, it.body, it.published, it.source))
        copy_root[it.key] = copy_root.get(key_of[a.copy_of], key_of[a.copy_of]) if a.copy_of else it.key
        story[it.key] = a.story_id
        if n % 200 == 0:
            index.prune(before=it.published - config.window)
    return copy_root, story, (time.process_time() - t0) * 1000 / len(items)


def baseline(items: list[Item]) -> tuple[dict[str, str], dict[str, str]]:
    """Exact normalised body = copy; exact normalised title = same story (copies join by body)."""
    def norm(text: str) -> str:
        return " ".join(re.findall(r"\w+", text.lower()))

    first_body: dict[str, str] = {}
    first_title: dict[str, str] = {}
    copy_root: dict[str, str] = {}
    story: dict[str, str] = {}
    for it in items:
        root = first_body.setdefault(norm(it.body), it.key)
        copy_root[it.key] = root
        story[it.key] = story[root] if root != it.key else first_title.setdefault(norm(it.title), it.key)
    return copy_root, story


# -- cost at scale ---------------------------------------------------------------------------------------


def synthetic(
    rows: list[dict[str, Any]], n: int, *, start: datetime, span: timedelta, seed: int
) -> Iterator[Item]:
    """Articles recombined from corpus sentences with word substitutions: realistic vocabulary and
    length, but not copies of each other (each draws from three articles and perturbs 10% of words).
    The sentence table is built now; the articles are generated lazily, so that the texts of a
    100,000-article window count neither in the peak RSS nor in the window's RSS growth."""
    rng = random.Random(seed)
    sents = [[s for s in _SENT.split(r["body"].replace("\n", " ")) if s] for r in rows]
    vocab = [w for r in rng.sample(rows, 200) for w in r["body"].split()]

    def generate() -> Iterator[Item]:
        for k in range(n):
            parts = []
            for _ in range(3):
                ss = sents[rng.randrange(len(sents))]
                a = rng.randrange(len(ss))
                parts.extend(ss[a : a + rng.randint(4, 14)])
            toks = " ".join(parts).split()
            for _ in range(len(toks) // 10):
                toks[rng.randrange(len(toks))] = rng.choice(vocab)
            title = " ".join(rng.choice(rows)["title"].split()[:6] + rng.sample(vocab, 3))
            when = start + span * (k / n)
            yield Item(f"s{k}", 10_000_000 + k, title, " ".join(toks), when, f"synthetic-{k % 500}")

    return generate()


def current_rss() -> int:
    """Resident set size now, in bytes (Linux /proc; the peak from getrusage elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cost(
    rows: list[dict[str, Any]], config: StoryConfig, *, window_size: int, measured: int
) -> dict[str, Any]:
    start = datetime(2021, 1, 1, tzinfo=UTC)
    stream = synthetic(rows, window_size + measured, start=start, span=config.window, seed=7)
    gc.collect()
    rss0 = current_rss()
    index = StoryIndex(config=config)
    fill_s = 0.0
    for done in range(0, window_size, 1000):  # generated in chunks, outside the timing
        chunk = [
            ArticleRecord(it.id, it.title, it.body, it.published, it.source)
            for it in islice(stream, min(1000, window_size - done))
        ]
        t0 = time.perf_counter()
        for record in chunk:
            index.add(record)
        fill_s += time.perf_counter() - t0
    fill = fill_s * 1000 / window_size
    del chunk
    gc.collect()
    rss_window = current_rss() - rss0
    parts = index.memory()
    records = [ArticleRecord(it.id, it.title, it.body, it.published, it.source) for it in stream]
    times = []
    cpu0 = time.process_time()
    for record in records:
        t = time.perf_counter()
        index.add(record)
        times.append((time.perf_counter() - t) * 1000)
    cpu = (time.process_time() - cpu0) * 1000 / measured
    t = time.perf_counter()
    pruned = index.prune(before=records[0].published)
    prune_ms = (time.perf_counter() - t) * 1000
    times.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fixed = parts.pop("stoplist")
    return {
        "window": len(index) + pruned,
        "cpu_ms": cpu,
        "fill_ms": fill,
        "mean_ms": sum(times) / len(times),
        "p50_ms": times[len(times) // 2],
        "p99_ms": times[int(len(times) * 0.99)],
        "prune_ms": prune_ms,
        "pruned": pruned,
        "peak_rss_mb": rss / 1024,
        "rss_window_mb": rss_window / 2**20,
        "rss_bytes_per_article": rss_window / window_size,
        "bytes_per_article": sum(parts.values()) / window_size,
        "parts": {k: v / window_size for k, v in parts.items()},
        "fixed_mb": fixed / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    ap.add_argument("--quick", action="store_true", help="10,000-article window instead of 100,000")
    ap.add_argument("--window-size", type=int, default=None)
    args = ap.parse_args(argv)
    configure(level="WARNING")
    if not args.corpus.exists():
        print(f"corpus not found: {args.corpus} (pass --corpus PATH)", file=sys.stderr)
        return 2
    rows = load_corpus(args.corpus)
    labels = json.loads(args.labels.read_text())
    truth = Truth(labels)
    config = StoryConfig()
    items = build_stream(rows, labels)
    print(f"stream: {len(items)} articles ({len(labels['derived'])} derived copies); labelled universe "
          f"{len(truth.universe())}, events {sum(len(s['events']) for s in labels['sagas'])}")
    copy_root, story, ms_stream = run_index(items, config)
    ours = evaluate(truth, copy_root, story)
    t0 = time.process_time()
    b_copy, b_story = baseline(items)
    ms_base = (time.process_time() - t0) * 1000 / len(items)
    base = evaluate(truth, b_copy, b_story)
    print(f"{'':24}{'stories index':>14}{'naive baseline':>16}{'ratio':>8}")
    for k in ours:
        ratio = ours[k] / base[k] if base[k] else float("inf")
        print(f"{k:24}{ours[k]:>14.3f}{base[k]:>16.3f}{ratio:>8.2f}")
    print(f"{'CPU ms/article (stream)':24}{ms_stream:>14.3f}{ms_base:>16.4f}")
    size = args.window_size or (10_000 if args.quick else 100_000)
    c = cost(rows, config, window_size=size, measured=500 if args.quick else 2_000)
    print(f"cost with {c['window']:,} articles in the window: add() CPU {c['cpu_ms']:.3f} ms/article; "
          f"wall mean {c['mean_ms']:.3f} ms, "
          f"p50 {c['p50_ms']:.3f} ms, p99 {c['p99_ms']:.3f} ms (fill {c['fill_ms']:.3f} ms/article); "
          f"prune of {c['pruned']:,} took {c['prune_ms']:.0f} ms; peak RSS {c['peak_rss_mb']:.0f} MB")
    print(f"memory of the window: {c['bytes_per_article']:,.0f} bytes/article in the index's arrays ("
          + ", ".join(f"{k} {v:,.0f}" for k, v in c["parts"].items())
          + f"), plus the fixed stop-list sketch {c['fixed_mb']:.0f} MB; RSS grew "
          f"{c['rss_window_mb']:.0f} MB filling it = {c['rss_bytes_per_article']:,.0f} bytes/article "
          f"(bounded text caches and the stop-list included)")
    result = {"bench": "stories", **{k: round(v, 4) for k, v in ours.items()},
              "ms_per_article": round(c["cpu_ms"], 4), "wall_ms_per_article": round(c["mean_ms"], 4),
              "window_articles": c["window"], "bytes_per_article": round(c["bytes_per_article"]),
              "rss_bytes_per_article": round(c["rss_bytes_per_article"]),
              "peak_rss_mb": round(c["peak_rss_mb"]), "baseline": {k: round(v, 4) for k, v in base.items()}}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
