"""Benchmark of the extract stage on WCXB article pages, against trafilatura with default settings.

Corpus: ``wcxb-dev-articles`` (711 real article pages with human-reviewed text; see
``/work/shared/corpora/README.md``): ``html/NNNN.html.gz`` and ``ground-truth.jsonl``.

Figures, for ``monitor.extract.extract_html`` and for the baseline (trafilatura with its default settings:
``bare_extraction(with_metadata=True)``, body = text then comments exactly as ``trafilatura.extract``
prints them, title and date from its metadata), run on the same pages in the same process:

* body precision / recall / F1: bag of lower-cased word tokens (``\\w+``) of the extracted body against
  ``main_content``, computed per page and averaged over pages. Pages whose ground truth body is empty
  (2 of 711) cannot be scored and are left out. A page we fail on (``ExtractionError``) scores 0.
* with / without rates: share of all ``with`` snippets found in the body and of all ``without`` snippets
  absent from it (substring test, case-insensitive, whitespace collapsed and typographic quotes, dashes
  and ellipses folded to ASCII on both sides: we keep "’" as the publisher wrote it, the snippets often
  spell it "'", and that is not a content difference).
* title accuracy: share of pages whose title equals the ground truth title after normalisation
  (NFKC, case-folded, punctuation dropped: the sequence of word tokens must be identical).
* date accuracy: over pages whose ground truth has a publish date, share where our YYYY-MM-DD equals it
  (one ground truth has only YYYY-MM: the month must match). The fetch time given to the extractor is
  the time of the run, so no date is rejected as future by accident. A page with no date found gets
  the fetch date (``first_seen``) and so counts as wrong.
* pages/s: pages divided by the CPU time (``time.process_time``) this one process spent in the extractor
  calls, i.e. pages per second per core, which other work on a shared machine distorts far less than
  wall-clock time; the wall-clock rate of the same calls is printed and reported too
  (``pages_per_s_wall``), with the load average before and after the run (``load``), since contention
  for caches still slows CPU-bound work a little.

Feed fragments (``monitor.extract.normalize_fragment``, the fast path for article HTML carried in a feed's
``content:encoded``): articles of ``news-articles.jsonl.gz`` (see the corpora README; generated text when it
is absent) rendered as ~3 KB HTML fragments (paragraphs, inline links and emphasis, a ``<br>``, a list,
an image and a script to drop), normalised one after the other; ``fragments_per_s`` is fragments per
second of CPU time. The naive baseline is what the pipeline did before the fast path existed: wrap the
fragment in a page and run ``extract_html`` on it (on a sample, it is slow); the ratio is printed.

Usage: ``.venv/bin/python bench/extract.py [--corpus PATH] [--news PATH] [--limit N] [--quick]``. The last
line of output is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import html
import json
import os
import random
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import trafilatura

from monitor.extract import ExtractionError, extract_html, normalize_fragment

_REPO = Path(__file__).resolve().parent.parent
_DEFAULT_CORPUS = _REPO / ".." / "shared" / "corpora" / "wcxb-dev-articles"
_DEFAULT_NEWS = _REPO / ".." / "shared" / "corpora" / "news-articles.jsonl.gz"
_QUICK_PAGES = 80
_FRAGMENTS, _QUICK_FRAGMENTS = 3000, 500
_BASELINE_FRAGMENTS = 150  # the page pipeline is slow: a sample is enough for its rate
_FRAGMENT_CHARS = (2500, 3500)  # "~3 KB", as feed items with the full article are
_TOKEN = re.compile(r"\w+")


@dataclass(slots=True)
class Output:
    body: str
    title: str | None
    day: str | None  # YYYY-MM-DD


@dataclass(slots=True)
class Score:
    name: str
    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)
    with_hits: list[bool] = field(default_factory=list)
    without_hits: list[bool] = field(default_factory=list)
    title_hits: list[bool] = field(default_factory=list)
    date_hits: list[bool] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    pages: int = 0
    failures: int = 0
    notes: Counter[str] = field(default_factory=Counter)

    def mean(self, values: list[float] | list[bool]) -> float:
        return sum(values) / len(values) if values else 0.0


def _tokens(text: str) -> Counter[str]:
    return Counter(token.lower() for token in _TOKEN.findall(text))


def _prf(extracted: str, truth: str) -> tuple[float, float, float]:
    got, want = _tokens(extracted), _tokens(truth)
    overlap = sum((got & want).values())
    p = overlap / sum(got.values()) if got else 0.0
    r = overlap / sum(want.values()) if want else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


_TYPOGRAPHY = str.maketrans({"‘": "'", "’": "'", "‚": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"',
                            "–": "-", "—": "-", "‒": "-", "―": "-", "−": "-", "…": "...", "\u00a0": " "})


def _squash(text: str) -> str:
    return " ".join(text.translate(_TYPOGRAPHY).split()).lower()


def _title_key(text: str | None) -> str:
    return " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", text or "").casefold()))


def _pages(corpus: Path, limit: int | None) -> Iterator[tuple[dict[str, Any], bytes]]:
    with (corpus / "ground-truth.jsonl").open(encoding="utf-8") as lines:
        for count, line in enumerate(lines):
            if limit is not None and count >= limit:
                return
            row = json.loads(line)
            yield row, gzip.decompress((corpus / "html" / f"{row['id']}.html.gz").read_bytes())


def _ours(data: bytes, url: str, fetched_at: datetime, notes: Counter[str]) -> Output:
    try:
        article = extract_html(data, url=url, fetched_at=fetched_at)
    except ExtractionError:
        notes["extraction_error"] += 1
        return Output("", None, None)
    notes[f"date_source={article.date_source}"] += 1
    notes[f"extractor={article.extractor}"] += 1
    return Output(article.body, article.title, article.date.isoformat())


def _baseline(data: bytes, url: str, fetched_at: datetime, notes: Counter[str]) -> Output:
    document = trafilatura.bare_extraction(data, url=url, with_metadata=True)
    if document is None:
        notes["no_output"] += 1
        return Output("", None, None)
    found: Any = document
    # What ``trafilatura.extract`` returns with its defaults: the text, then the comments (on by default).
    body = "\n".join(part for part in (found.text, found.comments) if part)
    return Output(body, found.title, found.date)


def _score(score: Score, row: dict[str, Any], out: Output) -> None:
    truth = row.get("main_content") or ""
    if truth.strip():
        p, r, f = _prf(out.body, truth)
        score.precision.append(p)
        score.recall.append(r)
        score.f1.append(f)
    body = _squash(out.body)
    score.with_hits.extend(_squash(s) in body for s in row.get("with") or [])
    score.without_hits.extend(_squash(s) not in body for s in row.get("without") or [])
    if row.get("title"):
        score.title_hits.append(_title_key(out.title) == _title_key(row["title"]))
    want = row.get("publish_date")
    if want:
        score.date_hits.append(bool(out.day) and str(out.day).startswith(want))


def run(corpus: Path, limit: int | None) -> dict[str, Any]:
    fetched_at = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    runners: list[tuple[Score, Callable[[bytes, str, datetime, Counter[str]], Output]]] = [
        (Score("monitor.extract"), _ours),
        (Score("trafilatura default (baseline)"), _baseline),
    ]
    for row, data in _pages(corpus, limit):
        for score, runner in runners:
            cpu, wall = time.process_time(), time.perf_counter()
            out = runner(data, row["url"], fetched_at, score.notes)
            score.cpu_s += time.process_time() - cpu
            score.wall_s += time.perf_counter() - wall
            score.pages += 1
            _score(score, row, out)
    ours, base = runners[0][0], runners[1][0]
    for score in (ours, base):
        _print(score)
    f1, base_f1 = ours.mean(ours.f1), base.mean(base.f1)
    load = (round(load_before, 2), round(os.getloadavg()[0], 2))
    print(f"\nbody F1 ratio ours/baseline: {f1 / base_f1 if base_f1 else 0.0:.3f}  "
          f"speed ratio (CPU): {(base.cpu_s / ours.cpu_s) if ours.cpu_s else 0.0:.2f}x  "
          f"load average before/after: {load[0]} / {load[1]} ({os.cpu_count()} cores)")
    return {
        "bench": "extract",
        "pages": ours.pages,
        "f1": round(f1, 4),
        "precision": round(ours.mean(ours.precision), 4),
        "recall": round(ours.mean(ours.recall), 4),
        "baseline_f1": round(base_f1, 4),
        "with_rate": round(ours.mean(ours.with_hits), 4),
        "without_rate": round(ours.mean(ours.without_hits), 4),
        "title_accuracy": round(ours.mean(ours.title_hits), 4),
        "date_accuracy": round(ours.mean(ours.date_hits), 4),
        "pages_per_s": round(ours.pages / ours.cpu_s, 1) if ours.cpu_s else 0.0,
        "pages_per_s_wall": round(ours.pages / ours.wall_s, 1) if ours.wall_s else 0.0,
        "baseline_pages_per_s": round(base.pages / base.cpu_s, 1) if base.cpu_s else 0.0,
        "load": load,
    }


def _news_texts(path: Path, count: int) -> list[tuple[str, str, list[str]]]:
    """``(title, url, paragraphs)`` of real articles, or generated ones when the corpus is absent."""
    out: list[tuple[str, str, list[str]]] = []
    if path.is_file():
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                paragraphs = [p.strip() for p in row["body"].split("\n") if p.strip()]
                out.append((row["title"], row["url"], paragraphs))
                if len(out) >= count:
                    break
    rng = random.Random(7)
    words = ["council", "voted", "tram", "line", "hospital", "budget", "minister", "said", "talks", "week",
             "plan", "city", "river", "port"]
    while len(out) < count:
        paragraphs = [" ".join(rng.choice(words) for _ in range(40)).capitalize() + "." for _ in range(12)]
        out.append((f"Generated story {len(out)}", f"https://news.example/{len(out)}", paragraphs))
    return out


def _fragment(paragraphs: list[str], rng: random.Random) -> str | None:
    """2.5-3.5 KB of feed-item HTML built from whole real paragraphs, with the markup feeds carry; None
    when the article's paragraphs cannot make one (too short, or a paragraph break lost in the corpus)."""
    parts = ["<p><img src='/lead.jpg' alt=''></p>"]
    size = len(parts[0])
    for index, text in enumerate(paragraphs):
        words = html.escape(text).split(" ")
        if len(words) > 8:  # inline markup in the middle of the paragraph
            at = rng.randrange(1, len(words) - 3)
            words[at] = f"<a href='https://example.org/{index}'>{words[at]}</a>"
            words[at + 2] = f"<em>{words[at + 2]}</em>"
        body = " ".join(words)
        if index == 2:
            block = f"<blockquote><p>{body}</p></blockquote>"
        elif index == 4:
            block = f"<ul><li>{body}</li><li>One more point.</li></ul>"
        elif index == 5:
            block = f"<p>{body}<br>A line after a break.</p>"
        else:
            block = f"<p>{body}</p>"
        if index == 3:
            block += "<script>window.ads = window.ads || [];</script>"
        if size + len(block) > _FRAGMENT_CHARS[1]:
            break
        parts.append(block)
        size += len(block) + 1
    return "\n".join(parts) if size >= _FRAGMENT_CHARS[0] else None


def run_fragments(news: Path, count: int, fetched_at: datetime) -> dict[str, Any]:
    rng = random.Random(11)
    fragments: list[tuple[str, str, str]] = []
    for title, url, paragraphs in _news_texts(news, count * 2):
        fragment = _fragment(paragraphs, rng)
        if fragment is not None:
            fragments.append((title, url, fragment))
            if len(fragments) == count:
                break
    published = fetched_at.replace(microsecond=0)
    failures = 0
    cpu = time.process_time()
    for title, url, fragment in fragments:
        try:
            normalize_fragment(fragment, url=url, fetched_at=fetched_at, title=title, published=published)
        except ExtractionError:
            failures += 1
    fast_s = time.process_time() - cpu
    sample = fragments[:_BASELINE_FRAGMENTS]
    cpu = time.process_time()
    for title, url, fragment in sample:
        page = (f"<html><head><title>{html.escape(title)}</title></head><body><article>"
                f"<h1>{html.escape(title)}</h1>{fragment}</article></body></html>").encode()
        with contextlib.suppress(ExtractionError):
            extract_html(page, url=url, fetched_at=fetched_at, feed_title=title, feed_published=published)
    slow_s = time.process_time() - cpu
    rate = len(fragments) / fast_s if fast_s else 0.0
    base_rate = len(sample) / slow_s if slow_s else 0.0
    mean_chars = sum(len(f) for _, _, f in fragments) / len(fragments) if fragments else 0.0
    print(f"\n== feed fragments: {len(fragments)} fragments, mean {mean_chars:.0f} characters of HTML")
    print(f"  normalize_fragment  {rate:.0f} fragments/s per core (CPU time), {failures} failures")
    print(f"  baseline: wrapped in a page through extract_html  {base_rate:.1f} fragments/s "
          f"({len(sample)} fragments)  ratio {rate / base_rate if base_rate else 0.0:.0f}x")
    return {"fragments_per_s": round(rate, 1)}


def _print(score: Score) -> None:
    print(f"\n== {score.name}: {score.pages} pages")
    print(f"  body   P {score.mean(score.precision):.4f}  R {score.mean(score.recall):.4f}  "
          f"F1 {score.mean(score.f1):.4f}  (over {len(score.f1)} pages with a ground-truth body)")
    print(f"  snippets  with kept {score.mean(score.with_hits):.4f} ({len(score.with_hits)})  "
          f"without dropped {score.mean(score.without_hits):.4f} ({len(score.without_hits)})")
    print(f"  title accuracy {score.mean(score.title_hits):.4f} ({len(score.title_hits)} pages)  "
          f"date accuracy {score.mean(score.date_hits):.4f} ({len(score.date_hits)} pages with a date)")
    cpu_rate = score.pages / score.cpu_s if score.cpu_s else 0.0
    wall_rate = score.pages / score.wall_s if score.wall_s else 0.0
    print(f"  speed  {cpu_rate:.1f} pages/s per core (CPU time)  {wall_rate:.1f} pages/s wall-clock")
    if score.notes:
        print("  " + "  ".join(f"{k}: {v}" for k, v in sorted(score.notes.items())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=_DEFAULT_CORPUS)
    parser.add_argument("--news", type=Path, default=_DEFAULT_NEWS,
                        help="news-articles.jsonl.gz, the text of the feed fragments")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pages")
    parser.add_argument("--quick", action="store_true", help=f"the first {_QUICK_PAGES} pages only")
    args = parser.parse_args(argv)
    corpus: Path = args.corpus.resolve()
    if not (corpus / "ground-truth.jsonl").is_file():
        print(f"corpus not found: {corpus} (give --corpus PATH)", file=sys.stderr)
        return 2
    limit = args.limit if args.limit is not None else (_QUICK_PAGES if args.quick else None)
    print(f"corpus {corpus}  pages {'all' if limit is None else limit}  (started {date.today()})")
    result = run(corpus, limit)
    result.update(run_fragments(args.news.resolve(), _QUICK_FRAGMENTS if args.quick else _FRAGMENTS,
                                datetime.now(UTC)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
