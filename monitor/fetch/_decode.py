"""Content-Encoding decoders whose output is bounded, so a decompression bomb cannot grow memory.

httpx's own decoders inflate whatever arrives in one call; a 1 MB gzip of zeros becomes 1 GB before any
size check could run. Here every stage asks its decompressor for at most ``limit + 1`` bytes (zlib's
``max_length``, brotli's ``output_buffer_limit``), so at most about the cap is ever held, and exceeding
the cap raises at once. Stages are chained for stacked encodings (``Content-Encoding: gzip, br``).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, Mapping
from typing import Protocol

import brotli

from monitor.fetch._errors import FetchError

__all__ = ["BodyDecoder", "DecodeError", "OutputTooLarge", "make_decoder", "read_body"]

_GZIP_MAGIC = b"\x1f\x8b"
# brotli >= 1.2 can bound its output buffer; older releases inflate a whole input chunk in one go.
_BROTLI_BOUNDED = hasattr(brotli.Decompressor(), "can_accept_more_data")
_BROTLI_FALLBACK_PIECE = 64  # input bytes per call when the installed brotli cannot bound its output


class DecodeError(Exception):
    """The body is not valid for its declared Content-Encoding."""


class OutputTooLarge(Exception):
    """The decoded body exceeded the cap."""


class _Stage(Protocol):
    def feed(self, data: bytes) -> list[bytes]: ...
    def flush(self) -> list[bytes]: ...


class _Budget:
    """Running total of one stage's output; raises as soon as it passes the limit."""

    __slots__ = ("limit", "total")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0

    @property
    def ask(self) -> int:
        # One byte more than allowed: getting it proves the cap is exceeded without inflating further.
        return max(1, self.limit - self.total + 1)

    def take(self, chunk: bytes) -> bytes:
        self.total += len(chunk)
        if self.total > self.limit:
            raise OutputTooLarge(f"decoded body exceeds {self.limit} bytes")
        return chunk


class _ZlibStage:
    """gzip (multi-member aware) or deflate (zlib-wrapped, or the raw deflate some servers send)."""

    def __init__(self, *, gzip: bool, limit: int) -> None:
        self._gzip = gzip
        self._wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._budget = _Budget(limit)
        self._started = False
        self._done = False

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        while data and not self._done:
            try:
                chunk = self._obj.decompress(data, self._budget.ask)
            except zlib.error as exc:
                if not self._gzip and not self._started and self._wbits > 0:
                    # "deflate" without the zlib wrapper: retry the same bytes as raw deflate.
                    self._wbits = -zlib.MAX_WBITS
                    self._obj = zlib.decompressobj(self._wbits)
                    continue
                raise DecodeError(f"invalid {'gzip' if self._gzip else 'deflate'} data: {exc}") from exc
            if chunk:
                self._started = True
                out.append(self._budget.take(chunk))
            data = self._obj.unconsumed_tail
            if self._obj.eof:
                rest = self._obj.unused_data
                if self._gzip and rest.startswith(_GZIP_MAGIC):
                    self._obj = zlib.decompressobj(self._wbits)  # next gzip member
                    data = rest
                else:
                    self._done = True  # trailing garbage after the stream is ignored, as gzip(1) does
        return out

    def flush(self) -> list[bytes]:
        # A truncated stream keeps what was decoded (as browsers do); flush() cannot exceed the budget
        # because every decompress() call already drained its input within the limit.
        tail = self._obj.flush() if not self._done else b""
        return [self._budget.take(tail)] if tail else []


class _BrotliStage:
    def __init__(self, *, limit: int) -> None:
        self._obj = brotli.Decompressor()
        self._budget = _Budget(limit)

    def _process(self, data: bytes) -> bytes:
        try:
            if _BROTLI_BOUNDED:
                return bytes(self._obj.process(data, output_buffer_limit=self._budget.ask))
            return bytes(self._obj.process(data))
        except brotli.error as exc:
            raise DecodeError(f"invalid brotli data: {exc}") from exc

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        if _BROTLI_BOUNDED:
            out.append(self._budget.take(self._process(data)))
            while not self._obj.can_accept_more_data():
                out.append(self._budget.take(self._process(b"")))
        else:  # pragma: no cover - only with brotli < 1.2
            view = memoryview(data)
            for start in range(0, len(view), _BROTLI_FALLBACK_PIECE):
                piece = bytes(view[start : start + _BROTLI_FALLBACK_PIECE])
                out.append(self._budget.take(self._process(piece)))
        return [chunk for chunk in out if chunk]

    def flush(self) -> list[bytes]:
        return []


class BodyDecoder:
    """Feed raw (wire) chunks, get the decoded body from ``finish``; raises past ``limit`` bytes."""

    def __init__(self, stages: list[_Stage], *, limit: int) -> None:
        self._stages = stages
        self._budget = _Budget(limit)
        self._parts: list[bytes] = []

    def feed(self, data: bytes) -> None:
        self._push(0, [data])

    def _push(self, index: int, chunks: list[bytes]) -> None:
        if index == len(self._stages):
            for chunk in chunks:
                self._parts.append(self._budget.take(chunk))
            return
        stage = self._stages[index]
        for chunk in chunks:
            produced = stage.feed(chunk)
            if produced:
                self._push(index + 1, produced)

    def finish(self) -> bytes:
        for index, stage in enumerate(self._stages):
            tail = stage.flush()
            if tail:
                self._push(index + 1, tail)
        body = b"".join(self._parts)
        self._parts = [body]
        return body


def make_decoder(content_encoding: str | None, *, limit: int) -> BodyDecoder:
    """A decoder for a ``Content-Encoding`` header value (codings listed in the order applied).

    Unknown codings pass through unchanged, like httpx does: parse/extract will then see binary data and
    fail loudly, which beats refusing a feed whose server mislabels an identity body.
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    known = [c for c in reversed(codings) if c in ("gzip", "x-gzip", "deflate", "br")]
    stages: list[_Stage] = []
    for index, coding in enumerate(known):
        # An inner layer is compressed data, which may be a little larger than the final body (stored
        # blocks, headers); give it a small slack. The last stage gets exactly the cap.
        budget = limit if index == len(known) - 1 else limit + limit // 64 + 1024
        if coding == "br":
            stages.append(_BrotliStage(limit=budget))
        else:
            stages.append(_ZlibStage(gzip=coding != "deflate", limit=budget))
    return BodyDecoder(stages, limit=limit)


async def read_body(
    chunks: AsyncIterable[bytes],
    headers: Mapping[str, str],
    *,
    max_wire_bytes: int,
    max_decoded_bytes: int,
    url: str,
    status: int,
) -> bytes:
    """Read at most ``max_wire_bytes`` off the wire and decode to at most ``max_decoded_bytes``
    (``headers``: the response's, by lower-case name); a body over either bound is a ``too_large``
    :class:`FetchError`, a body its encoding cannot decode a ``decompression`` one."""
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_wire_bytes:
        raise FetchError(
            "too_large", f"Content-Length {declared} exceeds {max_wire_bytes} bytes", url=url, status=status
        )
    decoder = make_decoder(headers.get("content-encoding"), limit=max_decoded_bytes)
    wire = 0
    try:
        async for chunk in chunks:
            wire += len(chunk)
            if wire > max_wire_bytes:
                raise FetchError(
                    "too_large", f"body exceeds {max_wire_bytes} bytes on the wire", url=url, status=status
                )
            decoder.feed(chunk)
        return decoder.finish()
    except OutputTooLarge as exc:
        raise FetchError(
            "too_large", f"decoded body exceeds {max_decoded_bytes} bytes", url=url, status=status
        ) from exc
    except DecodeError as exc:
        raise FetchError("decompression", str(exc), url=url, status=status) from exc
