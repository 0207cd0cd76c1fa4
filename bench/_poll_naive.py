"""The naive baseline of ``bench/poll.py``: a sample of the same feeds polled one by one.

httpx GET, ``feedparser.parse``, one ``SELECT`` + ``INSERT`` + commit per entry in sqlite3 (steady: a
conditional GET, and the new item's page through ``trafilatura.extract``). It runs in a child process of
its own (``naive_in_child``), so that feedparser and trafilatura are not loaded into (and counted in) the
daemon's process, which never loads them.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

__all__ = ["naive_in_child"]

SAMPLE_PAGE_SELECT = "SELECT id FROM articles WHERE url = ?"


def naive_in_child(
    port: int, sample: range, db: Path, *, steady: bool, etags: dict[int, str]
) -> tuple[float, dict[int, str]]:
    """``_naive`` in a process of its own: feedparser and trafilatura (which the daemon's process never
    loads: its workers parse and extract) must not count in the daemon process's memory."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(_naive_run, port, sample, db, steady, etags).result()


def _naive_run(
    port: int, sample: range, db: Path, steady: bool, etags: dict[int, str]
) -> tuple[float, dict[int, str]]:
    seconds = _naive(port, sample, db, steady=steady, etags=etags)
    return seconds, etags


def _naive(port: int, sample: range, db: Path, *, steady: bool, etags: dict[int, str]) -> float:
    """Seconds for the sample, one feed after the other (see the module docstring)."""
    import feedparser
    import trafilatura

    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS articles (id INTEGER PRIMARY KEY, url TEXT UNIQUE, title TEXT, body TEXT)"
    )
    started = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        for i in sample:
            headers = {"If-None-Match": etags[i]} if steady and i in etags else {}
            response = client.get(f"http://127.0.0.1:{port}/feed/{i}", headers=headers)
            if response.status_code == 304:
                continue
            etags[i] = response.headers.get("etag", "")
            parsed = feedparser.parse(response.content)
            for entry in parsed.entries:
                if conn.execute(SAMPLE_PAGE_SELECT, (entry.link,)).fetchone():
                    continue
                if "content" in entry:
                    body = entry.content[0].value
                else:
                    page = client.get(f"http://127.0.0.1:{port}/a/" + entry.link.split("/a/", 1)[1])
                    body = trafilatura.extract(page.text) or ""
                conn.execute(
                    "INSERT INTO articles (url, title, body) VALUES (?, ?, ?)",
                    (entry.link, entry.title, body),
                )
                conn.commit()
    conn.close()
    return time.perf_counter() - started
