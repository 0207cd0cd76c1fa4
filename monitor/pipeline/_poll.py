"""One source through every stage: fetch, parse, de-duplicate, extract, match, then one store transaction.

``Pipeline.poll`` decides; ``Store.apply_poll`` applies. Nothing here reads configuration or the clock
directly: options, the clock and the random source are injected, so the pipeline is testable end to end.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from monitor.core import Entry, FetchResult, canonical_url
from monitor.fetch import Fetcher, FetchError, FetchPolicy, Validators
from monitor.log import get_logger
from monitor.match import EngineHolder
from monitor.pipeline._articles import ArticleMaker, Made, finish
from monitor.pipeline._cpu import CpuRunner
from monitor.pipeline._entries import Entries, read_entries
from monitor.pipeline._observe import NullObserver, PollObserver
from monitor.pipeline._recorder import PollRecorder
from monitor.pipeline._work import carry_entries
from monitor.schedule import PollObservation, ScheduleState, next_after_failure, next_after_success
from monitor.store import NewArticle, PollRecord, SourceRow, SourceUpdate, Store

log = get_logger("monitor.pipeline")


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """Plain values the runtime derives from the settings once."""

    policy: FetchPolicy = field(default_factory=FetchPolicy)
    article_concurrency: int = 4
    max_entries_per_poll: int = 200
    recent_entries_kept: int = 50


@dataclass(frozen=True, slots=True)
class PollSummary:
    source: str
    ok: bool
    not_modified: bool = False
    entries: int = 0
    new_articles: int = 0
    duplicates: int = 0
    hits: int = 0
    alerts: int = 0
    error: str | None = None


def _state(src: SourceRow) -> ScheduleState:
    return ScheduleState(
        interval_s=src.current_interval_s,
        min_interval_s=src.min_interval_s,
        max_interval_s=src.max_interval_s,
        error_count=src.error_count,
        recent_entry_times=src.recent_entry_times,
    )


class Pipeline:
    def __init__(
        self,
        *,
        store: Store,
        fetcher: Fetcher,
        engine: EngineHolder,
        cpu: CpuRunner,
        options: PipelineOptions | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        observer: PollObserver | None = None,
        defer_stories: bool = False,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.engine = engine
        self.cpu = cpu
        self.options = options or PipelineOptions()
        self.clock = clock
        self.rng = rng or random.Random()
        self.observer: PollObserver = observer or NullObserver()
        # Stories on: new articles wait for the story stage, which writes their alerts (store/_story_stage).
        self.defer_stories = defer_stories
        # Every poll's outcome goes through one writer thread, in group commits (see _recorder).
        self.recorder = PollRecorder(store, defer_stories=defer_stories)
        # Hashing, rendering and matching new articles (``finish``) is CPU work that grows with the
        # watchlists: one thread does it for every poll, so the event loop never runs the matcher and the
        # engine (not thread-safe: its counters) is only ever used by one thread.
        self._match_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="match")

    def close(self) -> None:
        """Stop the match and writer threads (after the last poll)."""
        self._match_thread.shutdown(wait=True, cancel_futures=True)
        self.recorder.close()

    def policy_for(self, src: SourceRow) -> FetchPolicy:
        allow_private = (
            src.allow_private_networks
            if src.allow_private_networks is not None
            else self.options.policy.allow_private_networks
        )
        return replace(
            self.options.policy,
            allow_private_networks=allow_private,
            allow_local_files=src.origin == "config",
        )

    async def poll(self, src: SourceRow) -> PollSummary:
        """Poll one source and record the outcome; never raises for a source's own failure."""
        policy = self.policy_for(src)
        t0 = time.perf_counter()
        try:
            result = await self.fetcher.fetch(
                src.url,
                validators=Validators(
                    etag=src.etag, last_modified=src.last_modified, body_hash=src.body_hash
                ),
                policy=policy,
            )
        except FetchError as exc:
            self.observer.fetch_done(
                what="source", result=exc.kind, status=exc.status, elapsed_s=time.perf_counter() - t0, size=0
            )
            return await self._failed(src, str(exc), exc.retry_after_s, gone=exc.permanent)
        self.observer.fetch_done(
            what="source",
            result="not_modified" if result.not_modified else "ok",
            status=result.status,
            elapsed_s=time.perf_counter() - t0,
            size=len(result.body),
        )
        if result.not_modified:
            return await self._unchanged(src, result)
        t1 = time.perf_counter()
        mode = _mode(src)
        from_feed = bool(src.options.get("trust_feed_content")) or mode == "skip"
        normalize_at = self.clock() if from_feed else None
        # A first poll's entries are all new: their carried text is normalised with the parse, in one
        # worker call. Later polls parse only, and normalise the entries that turn out new (``_ingest``).
        first = src.polls == 0
        try:
            read = await read_entries(
                src,
                result,
                fetcher=self.fetcher,
                policy=policy,
                cpu=self.cpu,
                normalize_at=normalize_at if first else None,
            )
        except Exception as exc:  # a parser's ParseError or anything unexpected from hostile input
            return await self._failed(src, f"cannot parse {src.url}: {exc}", None, gone=False)
        self.observer.parse_done(kind=src.kind, elapsed_s=time.perf_counter() - t1)
        if read.problem:
            log.warning("feed.ill_formed", source=src.name, problem=read.problem)
        return await self._ingest(src, result, read, policy, carry_at=None if first else normalize_at)

    async def _failed(
        self, src: SourceRow, error: str, retry_after_s: float | None, *, gone: bool
    ) -> PollSummary:
        now = self.clock()
        decision = next_after_failure(_state(src), error_retry_after_s=retry_after_s, now=now, rng=self.rng)
        update = SourceUpdate(
            success=False,
            next_check_at=decision.next_check_at,
            current_interval_s=src.current_interval_s,
            error=error,
            deactivate_reason=f"gone: {error}" if gone else None,
        )
        await self.recorder.record(PollRecord(src.id, update), now=now)
        log.warning(
            "source.failed",
            source=src.name,
            error=error,
            errors=src.error_count + 1,
            next_check_at=decision.next_check_at.isoformat(),
            deactivated=gone,
        )
        return PollSummary(src.name, ok=False, error=error)

    async def _unchanged(self, src: SourceRow, result: FetchResult) -> PollSummary:
        now = self.clock()
        obs = PollObservation(
            new_entries=0, seen_entries=0, entry_times=(), ttl_s=None, max_age_s=result.max_age_s
        )
        decision = next_after_success(_state(src), obs, now=now, rng=self.rng)
        update = SourceUpdate(
            success=True,
            next_check_at=decision.next_check_at,
            current_interval_s=decision.interval_s,
            etag=result.etag or src.etag,
            last_modified=result.last_modified or src.last_modified,
            body_hash=result.body_hash or src.body_hash,
            new_url=result.permanent_redirect_to,
        )
        await self.recorder.record(PollRecord(src.id, update), now=now)
        return PollSummary(src.name, ok=True, not_modified=True)

    async def _ingest(
        self,
        src: SourceRow,
        result: FetchResult,
        read: Entries,
        policy: FetchPolicy,
        *,
        carry_at: datetime | None = None,
    ) -> PollSummary:
        """Store what is new in ``read``; ``carry_at``: normalise the text the new entries carry first
        (a later poll of a source whose articles are made of its feed, see ``poll``)."""
        fresh = _unique_entries(read.entries[: self.options.max_entries_per_poll], canonical=read.canonical)
        known = await asyncio.to_thread(
            self.store.known, urls=[e.url for e in fresh], guids=[e.guid for e in fresh if e.guid]
        )
        new = [e for e in fresh if e.url not in known.urls and not (e.guid and e.guid in known.guids)]
        carried = read.carried
        texts = [e for e in new if e.content_html or e.summary] if carry_at is not None else []
        if texts:
            try:
                carried = await self.cpu.run(carry_entries, texts, fetched_at=carry_at)
            except Exception as exc:  # as when the parse and the normalisation were one call (``poll``)
                return await self._failed(src, f"cannot parse {src.url}: {exc}", None, gone=False)
        first = src.polls == 0
        mode = _mode(src)
        maker = ArticleMaker(
            source=src.name,
            fetcher=self.fetcher,
            cpu=self.cpu,
            engine=self.engine,
            policy=policy,
            clock=self.clock,
            trust_feed_content=bool(src.options.get("trust_feed_content")),
            match=mode != "skip",
            fetch_pages=mode != "skip",
            observer=self.observer,
        )
        sem = asyncio.Semaphore(self.options.article_concurrency)

        async def one(entry: Entry) -> Made | None:
            async with sem:
                return await maker.prepare(entry, carried.get(entry.url))

        made = await asyncio.gather(*(one(e) for e in new))
        ready = [m for m in made if m is not None]
        engine = self.engine.engine if mode != "skip" else None
        built = (
            await asyncio.get_running_loop().run_in_executor(self._match_thread, finish, ready, engine)
            if ready
            else []
        )
        articles = _unique_articles(built)
        incomplete = any(m is None for m in made)
        now = self.clock()
        obs = PollObservation(
            new_entries=len(new),
            seen_entries=len(fresh) - len(new),
            entry_times=tuple(e.published for e in fresh if e.published is not None),
            ttl_s=read.ttl_s,
            max_age_s=result.max_age_s,
        )
        decision = next_after_success(_state(src), obs, now=now, rng=self.rng)
        times = sorted({*src.recent_entry_times, *obs.entry_times}, reverse=True)[
            : self.options.recent_entries_kept
        ]
        update = SourceUpdate(
            success=True,
            next_check_at=decision.next_check_at,
            current_interval_s=decision.interval_s,
            etag=None if incomplete else result.etag,
            last_modified=None if incomplete else result.last_modified,
            body_hash=None if incomplete else result.body_hash,
            new_url=result.permanent_redirect_to,
            recent_entry_times=tuple(t.astimezone(UTC) for t in times),
            new_entries=len(articles),
            parsed=True,
            problem=read.problem,
        )
        record = PollRecord(src.id, update, tuple(articles), alert=mode == "alert")
        report = await self.recorder.record(record, now=now)
        self.observer.ingested(
            source=src.name, articles=report.articles_added, hits_by_watchlist=report.hits_by_watchlist
        )
        log.info(
            "source.polled",
            source=src.name,
            entries=len(fresh),
            new=report.articles_added,
            duplicates=report.duplicates,
            hits=report.hits_added,
            alerts=report.alerts_enqueued,
            first_poll=mode if first else None,
        )
        return PollSummary(
            src.name,
            ok=True,
            entries=len(fresh),
            new_articles=report.articles_added,
            duplicates=report.duplicates + (len(made) - len(articles)),
            hits=report.hits_added,
            alerts=report.alerts_enqueued,
        )


def _mode(src: SourceRow) -> str:
    """How this poll treats new entries: the source's ``first_poll`` policy on its first poll, else alert."""
    return src.first_poll if src.polls == 0 else "alert"


def _unique_entries(entries: Sequence[Entry], *, canonical: bool = False) -> list[Entry]:
    """The entries under their canonical URLs, the first of each URL (``canonical``: they are already)."""
    seen: set[str] = set()
    out: list[Entry] = []
    for entry in entries:
        url = entry.url if canonical else canonical_url(entry.url)
        if url in seen:
            continue
        seen.add(url)
        out.append(entry if canonical else replace(entry, url=url))
    return out


def _unique_articles(articles: Sequence[NewArticle]) -> list[NewArticle]:
    seen: set[str] = set()
    out: list[NewArticle] = []
    for art in articles:
        if art.url in seen or art.content_hash in seen:
            continue
        seen.update((art.url, art.content_hash))
        out.append(art)
    return out
