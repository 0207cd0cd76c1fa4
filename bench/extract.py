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
* pages/s: pages divided by the CPU time of this process spent in the extractor (per core, so other
  work on the machine does not distort it); wall-clock figures are printed too.

Usage: ``.venv/bin/python bench/extract.py [--corpus PATH] [--limit N] [--quick]``. The last line of output
is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
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

from monitor.extract import ExtractionError, extract_html

_REPO = Path(__file__).resolve().parent.parent
_DEFAULT_CORPUS = _REPO / ".." / "shared" / "corpora" / "wcxb-dev-articles"
_QUICK_PAGES = 80
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
    print(f"\nbody F1 ratio ours/baseline: {f1 / base_f1 if base_f1 else 0.0:.3f}  "
          f"speed ratio (CPU): {(base.cpu_s / ours.cpu_s) if ours.cpu_s else 0.0:.2f}x")
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
    }


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
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
