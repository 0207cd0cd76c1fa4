"""Local sources: ``file://`` URLs and plain paths, for feeds declared in the config file.

They go through the same size cap and change detection as HTTP so that the pipeline treats them alike.
Only regular files are read: a device (``/dev/zero``), FIFO or directory would block or never end.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import stat
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from monitor.core import FetchResult
from monitor.fetch._errors import FetchError
from monitor.fetch._headers import body_hash
from monitor.fetch._policy import FetchPolicy, Validators

__all__ = ["fetch_local", "local_path"]

_EXTRA_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".xml": "application/xml",
    ".json": "application/json",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
}


def local_path(url: str) -> Path | None:
    """The path a ``file://`` URL or plain path names, or ``None`` for anything with another scheme.

    A single-letter "scheme" is a Windows drive letter. ``file://host/...`` with a host other than
    ``localhost`` is refused: it names a file on another machine.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise FetchError("scheme", f"file URL with remote host {parts.netloc!r}", url=url)
        return Path(url2pathname(unquote(parts.path)))
    if scheme == "" or (len(scheme) == 1 and os.name == "nt"):
        return Path(url)
    return None


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _EXTRA_TYPES:
        return _EXTRA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def _read_capped(path: Path, cap: int, url: str) -> bytes:
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below anyway.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise FetchError("io", "not a regular file", url=url)
            if info.st_size > cap:
                raise FetchError("too_large", f"file is {info.st_size} bytes, cap is {cap}", url=url)
            data = handle.read(cap + 1)  # the file may grow between fstat and read
    except FileNotFoundError as exc:
        raise FetchError("io", "file not found", url=url) from exc
    except IsADirectoryError as exc:
        raise FetchError("io", "not a regular file (a directory)", url=url) from exc
    except OSError as exc:
        raise FetchError("io", f"cannot read file: {exc.strerror or exc}", url=url) from exc
    if len(data) > cap:
        raise FetchError("too_large", f"file exceeds {cap} bytes", url=url)
    return data


async def fetch_local(
    url: str, path: Path, *, policy: FetchPolicy, validators: Validators | None
) -> FetchResult:
    """Read a local file as if it were a 200 response; ``not_modified`` comes from the body hash."""
    if not policy.allow_local_files:
        raise FetchError(
            "local_file", "not an http(s) URL, and local files are not allowed for this source", url=url
        )
    started = time.perf_counter()
    # The cap is the smaller of both limits: a file is its own wire and decoded form.
    cap = min(policy.max_wire_bytes, policy.max_decoded_bytes)
    body = await asyncio.to_thread(_read_capped, path, cap, url)
    digest = body_hash(body)
    absolute = path if path.is_absolute() else Path.cwd() / path
    return FetchResult(
        url=url,
        final_url=absolute.as_uri(),
        status=200,
        headers={"content-type": _content_type(path)},
        body=body,
        body_hash=digest,
        not_modified=validators is not None and validators.body_hash == digest,
        elapsed_s=time.perf_counter() - started,
    )
