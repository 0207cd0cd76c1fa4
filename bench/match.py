"""Benchmark of the match stage: articles per second against 1,000 / 10,000 / 100,000 watchlists.

Watchlists are generated in the shape users write (2 to 8 terms; phrases, OR groups, NOT, NEAR,
wildcards, fields, cs()), with terms drawn from the corpus itself in proportion to their document
frequency (the most common words, which nobody watches, are left out). Each size runs in its own
subprocess so that peak RSS is measured per size. The naive baseline evaluates every watchlist with
Python regular expressions on the folded text; it runs on the first 300 / 40 / 5 articles at 1,000 /
10,000 / 100,000 watchlists (a quarter of that with --quick), to keep the run short, and the engine's hits
on the same articles are compared with it ("same hits"). Throughput, for the engine and the naive loop
alike, is articles per second of process CPU time (one core; the JSON line reports these), with
wall-clock figures and a calibration loop (a fixed pure-Python loop) printed beside them, because the
machine may be shared.

Run from the repository root: ``.venv/bin/python bench/match.py [--quick] [--corpus PATH]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import random
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from _calibrate import calibration_us

from monitor.match import Document, Engine, WatchlistSpec, parse_query
from monitor.match._ast import And, CaseTerm, Lang, Near, Not, Or, Phrase, Prefix, Query, Source, Term
from monitor.match._fold import clean, fold, words

DEFAULT_CORPUS = Path("/work/shared/corpora/news-articles.jsonl.gz")
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
VOCABULARY_ARTICLES = 2000
MAX_DF = 0.05  # watched terms occur in at most 5% of the articles (the rest is too common to watch)
NAIVE_ARTICLES = {1_000: 300, 10_000: 40, 100_000: 5}


# corpus -------------------------------------------------------------------------------------------------
def load_documents(path: Path | None, limit: int) -> list[Document]:
    if path is not None and path.exists():
        docs = []
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                host = (urlsplit(row.get("url") or "").hostname or "").lower()
                docs.append(Document(title=row.get("title") or "", body=row.get("body") or "", source=host))
                if len(docs) >= limit:
                    break
        return docs
    return generated_documents(limit)


def generated_documents(n: int) -> list[Document]:
    """Fallback text: Zipf-distributed made-up words in sentences (only when the corpus is absent)."""
    rng = random.Random(7)
    syllables = ["ka", "ro", "mi", "te", "lu", "sa", "po", "ni", "ve", "da", "gor", "lin", "tas", "mer"]
    vocab = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(20_000)]
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    docs = []
    for i in range(n):
        sentences = []
        for _ in range(rng.randint(20, 60)):
            ws = rng.choices(vocab, weights, k=rng.randint(8, 25))
            sentences.append(" ".join(ws).capitalize() + ".")
        title = " ".join(rng.choices(vocab, weights, k=8)).capitalize()
        docs.append(Document(title=title, body=" ".join(sentences), source=f"site{i % 50}.example.com"))
    return docs


# watchlists ---------------------------------------------------------------------------------------------
class Vocabulary:
    """Document frequencies of words and bigrams in a sample of the articles."""

    def __init__(self, docs: list[Document]) -> None:
        df: Counter[str] = Counter()
        bigrams: Counter[tuple[str, str]] = Counter()
        for doc in docs:
            ws = words(doc.title) + words(doc.body)
            df.update(set(ws))
            bigrams.update(set(pairwise(ws)))
        n = len(docs)
        common = {w for w, _ in df.most_common(300)}
        self.terms = [w for w, c in df.items() if 3 <= c <= MAX_DF * n and len(w) >= 3 and not w.isdigit()]
        self.terms = sorted(w for w in self.terms if w not in common)  # sorted: same queries every run
        self.term_weights = [float(df[w]) for w in self.terms]
        self.bigrams = sorted(
            b for b, c in bigrams.items() if c >= 3 and b[0] not in common and b[1] not in common and
            len(b[0]) > 2 and len(b[1]) > 2
        )
        self.bigram_weights = [float(bigrams[b]) for b in self.bigrams]
        self.stems = sorted({w[: max(4, len(w) - 3)] for w in self.terms if len(w) >= 7})
        self.hosts = sorted({d.source for d in docs if d.source})


def generate_queries(vocab: Vocabulary, n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    stems = vocab.stems

    def terms(k: int) -> list[str]:
        return rng.choices(vocab.terms, vocab.term_weights, k=k)

    def phrase() -> str:
        a, b = rng.choices(vocab.bigrams, vocab.bigram_weights, k=1)[0]
        return f'"{a} {b}"'

    def group(k: int) -> str:
        return "(" + " OR ".join(terms(k)) + ")"

    shapes: list[tuple[float, Callable[[], str]]] = [
        (25, lambda: " ".join(terms(rng.randint(2, 3)))),
        (5, lambda: " AND ".join(terms(rng.randint(2, 4)))),
        (12, lambda: f"{phrase()} {terms(1)[0]}"),
        (15, lambda: f"{group(rng.randint(2, 4))} AND {group(rng.randint(2, 3))}"),
        (10, lambda: f"{' '.join(terms(2))} NOT {terms(1)[0]}"),
        (3, lambda: f"{phrase()} NOT {group(2)}"),
        (5, lambda: f"{terms(1)[0]} NEAR/{rng.randint(2, 10)} {terms(1)[0]}"),
        (3, lambda: f"{group(2)} NEAR/{rng.randint(3, 15)} {terms(1)[0]} {terms(1)[0]}"),
        (2, lambda: f"{phrase()} ONEAR/{rng.randint(2, 6)} {terms(1)[0]}"),
        (6, lambda: f"{rng.choice(stems)}* {terms(1)[0]}"),
        (4, lambda: f"({rng.choice(stems)}* OR {terms(1)[0]}) {group(2)}"),
        (4, lambda: f"title:{group(2)} {terms(1)[0]}"),
        (3, lambda: f"source:{rng.choice(vocab.hosts or ['example.com'])} {' '.join(terms(2))}"),
        (3, lambda: f"cs({terms(1)[0].capitalize()}) {terms(1)[0]}"),
    ]
    weights = [w for w, _ in shapes]
    makers = [m for _, m in shapes]
    return [rng.choices(makers, weights)[0]() for _ in range(n)]


# naive baseline -----------------------------------------------------------------------------------------
_W = r"[^\W_]"


def _word_re(word: str) -> str:
    return rf"(?<!{_W}){re.escape(word)}(?!{_W})"


def _naive_regex(node: Query) -> str:
    if isinstance(node, Term):
        return _word_re(node.word)
    if isinstance(node, Prefix):
        return rf"(?<!{_W}){re.escape(node.stem)}{_W}*"
    if isinstance(node, Phrase | CaseTerm):
        return rf"(?<!{_W})" + r"[\W_]+".join(map(re.escape, node.words)) + rf"(?!{_W})"
    if isinstance(node, Or):
        return "(?:" + "|".join(_naive_regex(c) for c in node.children) + ")"
    raise TypeError(node)


Naive = Callable[[dict[str, str], Document], bool]


def naive_compile(node: Query) -> Naive:
    """A straightforward regex evaluator (what one would write without an engine)."""
    if isinstance(node, And):
        parts = [naive_compile(c) for c in node.children]
        return lambda f, d: all(p(f, d) for p in parts)
    if isinstance(node, Or) and not all(isinstance(c, Term | Prefix | Phrase) for c in node.children):
        parts = [naive_compile(c) for c in node.children]
        return lambda f, d: any(p(f, d) for p in parts)
    if isinstance(node, Not):
        inner = naive_compile(node.child)
        return lambda f, d: not inner(f, d)
    if isinstance(node, Source):
        host = node.host
        return lambda f, d: d.source == host or d.source.endswith("." + host)
    if isinstance(node, Lang):
        code = node.code
        return lambda f, d: (d.language or "").lower().startswith(code)
    if isinstance(node, CaseTerm):
        rx = re.compile(r"(?<!\w)" + r"\W+".join(map(re.escape, node.originals)) + r"(?!\w)")
        names = ["title_raw", "body_raw"] if node.field == "any" else [node.field + "_raw"]
        return lambda f, d: any(rx.search(f[n]) for n in names)
    if isinstance(node, Near):
        a, b = _naive_regex(node.left), _naive_regex(node.right)
        gap = rf"(?:[\W_]+{_W}+){{0,{node.distance - 1}}}[\W_]+"
        pattern = f"{a}{gap}{b}" if node.ordered else f"{a}{gap}{b}|{b}{gap}{a}"
        rx = re.compile(pattern)
    else:
        rx = re.compile(_naive_regex(node))
    leaf = node.children[0] if isinstance(node, Or) else node
    field = leaf.field if isinstance(leaf, Term | Phrase | Prefix | CaseTerm | Near) else "any"
    names = ["title", "body"] if field == "any" else [field]
    return lambda f, d: any(rx.search(f[n]) for n in names)


def naive_fields(doc: Document) -> dict[str, str]:
    return {
        "title": clean(fold(doc.title)),
        "body": clean(fold(doc.body)),
        "title_raw": doc.title,
        "body_raw": doc.body,
    }


# one size, in a subprocess ------------------------------------------------------------------------------
def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_size(n: int, corpus: Path | None, articles: int, naive_articles: int) -> dict[str, Any]:
    sample = load_documents(corpus, VOCABULARY_ARTICLES)
    vocab = Vocabulary(sample)  # the same watchlists whatever the number of articles matched
    docs = sample[:articles] if articles <= len(sample) else load_documents(corpus, articles)
    queries = generate_queries(vocab, n)
    specs = [WatchlistSpec(id=i + 1, name=f"w{i + 1}", query=q) for i, q in enumerate(queries)]

    started, cpu = time.perf_counter(), time.process_time()
    engine = Engine.build(specs)
    build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    changed = [*specs[:-1], WatchlistSpec(id=n, name="changed", query="nato NEAR/3 summit")]
    started = time.perf_counter()
    Engine.build(changed, previous=engine)
    rebuild_s = time.perf_counter() - started

    for doc in docs[:50]:  # warm caches (folding table, compiled phrase patterns)
        engine.match(doc)
    before = engine.stats
    hits = 0
    started, cpu = time.perf_counter(), time.process_time()
    for doc in docs:
        hits += len(engine.match(doc))
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    after = engine.stats
    peak = rss_mb()  # before the naive baseline allocates its regexes
    candidates = (after.candidates - before.candidates) / len(docs)

    naive_docs = docs[:naive_articles]
    naive = [naive_compile(parse_query(s.query)) for s in specs]
    naive_hits = engine_hits = 0
    started, cpu = time.perf_counter(), time.process_time()
    for doc in naive_docs:
        fields = naive_fields(doc)
        naive_hits += sum(1 for f in naive if f(fields, doc))
    naive_elapsed, naive_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    for doc in naive_docs:
        engine_hits += len(engine.match(doc))
    return {
        "watchlists": n,
        "articles": len(docs),
        "articles_per_s": round(len(docs) / cpu_s, 1),  # per CPU-second
        "articles_per_wall_s": round(len(docs) / elapsed, 1),
        "naive_articles": len(naive_docs),
        "naive_articles_per_s": round(len(naive_docs) / naive_cpu_s, 3),  # per CPU-second
        "naive_articles_per_wall_s": round(len(naive_docs) / naive_elapsed, 3),
        "naive_agrees": naive_hits == engine_hits,
        "candidates_per_article": round(candidates, 1),
        "hits_per_article": round(hits / len(docs), 2),
        "build_s": round(build_s, 2),
        "build_cpu_s": round(build_cpu_s, 2),
        "rebuild_one_changed_s": round(rebuild_s, 2),
        "peak_rss_mb": round(peak, 1),
        "calibration_us": calibration_us(),
        "load_1min": round(os.getloadavg()[0], 2),  # other processes on the machine, for the record
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer articles")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--articles", type=int, default=None, help="articles to match per size")
    parser.add_argument("--sizes", type=str, default=None, help="comma-separated watchlist counts")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--naive-articles", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    corpus = args.corpus if args.corpus.exists() else None
    articles = args.articles or (1000 if args.quick else 100_000)
    if args.worker is not None:
        print(json.dumps(run_size(args.worker, corpus, articles, args.naive_articles or 10)))
        return
    if corpus is None:
        print(f"corpus {args.corpus} not found: using generated text", file=sys.stderr)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (QUICK_SIZES if args.quick else SIZES)
    results = []
    for n in sizes:
        naive_n = NAIVE_ARTICLES.get(n, 10) // (4 if args.quick else 1) or 1
        cmd = [sys.executable, __file__, "--worker", str(n), "--articles", str(articles),
               "--naive-articles", str(naive_n), "--corpus", str(args.corpus)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        results.append(row)
        print(
            f"{n:>7} watchlists: {row['articles_per_s']:>8.1f} articles per CPU-second "
            f"({row['articles_per_wall_s']:.1f}/s wall) over {row['articles']} articles | "
            f"naive {row['naive_articles_per_s']:.3f} per CPU-second "
            f"({row['naive_articles_per_wall_s']:.3f}/s wall) on {row['naive_articles']} articles "
            f"(x{row['articles_per_s'] / row['naive_articles_per_s']:.0f}, "
            f"same hits: {row['naive_agrees']}) | "
            f"{row['candidates_per_article']} candidates, {row['hits_per_article']} hits per article | "
            f"build {row['build_s']} s ({row['build_cpu_s']} s CPU), "
            f"rebuild {row['rebuild_one_changed_s']} s | "
            f"peak RSS {row['peak_rss_mb']} MB | calibration loop {row['calibration_us']} us, "
            f"load {row['load_1min']}",
            flush=True,
        )
    keys = ("watchlists", "articles_per_s", "naive_articles_per_s", "candidates_per_article", "build_s",
            "peak_rss_mb")
    print(json.dumps({"bench": "match", "results": [{k: r[k] for k in keys} for r in results]}))


if __name__ == "__main__":
    main()
