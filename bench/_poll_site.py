"""The site bench/poll.py polls: N generated RSS feeds and their article pages, served from a child process.

Kept apart from the bench so that the server's process holds nothing but bytes: every feed is generated
(our own words, seeded by the feed number, so the naive baseline and the daemon see the same bytes) and
turned into a complete HTTP response before the server reports ready. During the measurement the server
only matches a request line and writes a prepared buffer, so its CPU share stays small and it never shows
up in the daemon's loop lag.

Routes (host names ``f<k>.bench`` all resolve to 127.0.0.1 in the bench):
- ``GET /feed/<i>``: feed i (20 items, about 30 KB, full article HTML in ``content:encoded``), with an
  ETag; a request whose ``If-None-Match`` equals it gets a 304.
- ``GET /a/<i>/<j>``: the article page of item j of feed i (an HTML page with navigation and footer).
- ``GET /_bump``: every tenth feed gains one item (j = 20) that carries no content, so its page must be
  fetched; the oldest item drops out, as in real feeds.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import random
import re

HOSTS = 500
ITEMS = 20

# Text that looks like news to the stages that read it: a few hundred common words, a long Zipfian tail
# of made-up content words, sentences opened by common words or by a name, and a handful of made-up
# proper names per article (the story grouper keys on capitalised names and rare words, so a tiny
# vocabulary would make every article look like one story).
_COMMON = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "that",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
    "was",
    "is",
    "said",
    "it",
    "were",
    "its",
    "after",
    "but",
    "over",
    "more",
    "has",
    "have",
    "which",
    "about",
    "been",
    "their",
    "also",
    "will",
    "this",
    "who",
    "than",
    "had",
    "not",
    "new",
    "two",
    "when",
    "would",
    "year",
    "first",
    "last",
    "people",
    "into",
    "some",
    "other",
    "could",
    "they",
    "while",
    "before",
    "three",
    "city",
    "government",
    "local",
    "officials",
    "week",
    "month",
    "report",
    "public",
    "state",
    "national",
    "council",
    "police",
    "court",
    "plan",
    "price",
    "market",
    "workers",
    "school",
    "water",
    "power",
    "support",
    "service",
    "company",
    "region",
    "since",
    "during",
    "under",
    "between",
    "against",
    "most",
    "many",
    "because",
    "where",
]
_OPENERS = ("The", "In", "On", "After", "But", "However", "This", "It", "A", "When", "Officials", "Last")
_SYLLABLES = [
    "ka",
    "ri",
    "to",
    "men",
    "sal",
    "ve",
    "dor",
    "lin",
    "ast",
    "gra",
    "pel",
    "om",
    "tur",
    "vik",
    "san",
    "bel",
    "cor",
    "das",
    "fen",
    "hal",
    "mir",
    "nor",
    "pra",
    "sel",
    "tov",
    "urn",
    "wes",
    "zan",
    "bri",
    "cha",
    "dru",
    "fla",
    "glo",
    "kru",
    "ple",
    "sto",
    "tra",
]


def _made_up(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(syllables))


_VOCAB_RNG = random.Random(20250602)
CONTENT_WORDS = _CONTENT = [_made_up(_VOCAB_RNG, _VOCAB_RNG.randint(2, 3)) for _ in range(20_000)]
_CONTENT_WEIGHTS = list(itertools.accumulate(1.0 / (rank + 10) for rank in range(len(_CONTENT))))
_NAMES = [_made_up(_VOCAB_RNG, _VOCAB_RNG.randint(2, 3)).capitalize() for _ in range(50_000)]


def _prose(rng: random.Random, words: int, names: list[str] | None = None) -> str:
    """About ``words`` words of sentences; ``names`` are the article's own proper names."""
    cast = names or rng.sample(_NAMES, 3)
    out: list[str] = []
    while words > 0:
        n = rng.randint(9, 20)
        words -= n
        common = rng.choices(_COMMON, k=n)
        content = rng.choices(_CONTENT, cum_weights=_CONTENT_WEIGHTS, k=n)
        chosen = [c if rng.random() < 0.55 else w for c, w in zip(common, content, strict=True)]
        if rng.random() < 0.3:
            chosen[rng.randrange(1, n)] = rng.choice(cast)
        opener = rng.choice(cast) if rng.random() < 0.2 else rng.choice(_OPENERS)
        out.append(" ".join([opener, *chosen[1:]]) + ".")
    return " ".join(out)


def host(i: int) -> str:
    return f"f{i % HOSTS}.bench"


def feed_url(i: int, port: int) -> str:
    return f"http://{host(i)}:{port}/feed/{i}"


def _item(i: int, j: int, port: int, *, content: bool) -> str:
    rng = random.Random(i * 1000 + j)
    names = rng.sample(_NAMES, 3)
    title = f"{_prose(rng, 8, names)[:-1]} ({i}-{j})"
    link = f"http://{host(i)}:{port}/a/{i}/{j}"
    body = ""
    if content:
        paras = "".join(f"<p>{_prose(rng, 62, names)}</p>" for _ in range(3))
        body = f"<content:encoded><![CDATA[<p>Dispatch {i}-{j}.</p>{paras}]]></content:encoded>"
    day = 1 + j % 28
    return (
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>Mon, {day:02d} Jun 2025 {j % 24:02d}:00:00 GMT</pubDate>{body}</item>"
    )


def feed(i: int, port: int, version: int = 0) -> bytes:
    """Feed i: items 0-19 at version 0; at version 1 a new item 20 (title and link only) leads."""
    items = [_item(i, j, port, content=True) for j in range(ITEMS)]
    if version:
        items = [_item(i, ITEMS, port, content=False), *items[:-1]]
    channel = f"<title>Feed {i}</title><link>http://{host(i)}:{port}/</link>{''.join(items)}"
    ns = "xmlns:content='http://purl.org/rss/1.0/modules/content/'"
    head = "<?xml version='1.0' encoding='utf-8'?>"
    return f"{head}<rss version='2.0' {ns}><channel>{channel}</channel></rss>".encode()


def page(i: int, j: int) -> bytes:
    """The article page of item j of feed i: the text is the item's (the lead line says which)."""
    rng = random.Random(i * 1000 + j + 7)
    names = rng.sample(_NAMES, 3)
    title = f"Report {i}-{j}: {_prose(rng, 8, names)[:-1]}"
    paras = "".join(f"<p>{_prose(rng, 62, names)}</p>" for _ in range(4))
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a></nav>"
        f"<article><h1>{title}</h1><p>Dispatch {i}-{j}.</p>{paras}</article>"
        f"<footer>Copyright 2025 Bench Outlet. All rights reserved.</footer></body></html>"
    ).encode()


def _response(status: str, body: bytes, headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body


_REQUEST = re.compile(rb"GET (/[^ ]*) HTTP/1\.[01]")
_INM = re.compile(rb"\r\nif-none-match: *([^\r\n]*)", re.IGNORECASE)


class _Site:
    def __init__(self, feeds: int, port: int) -> None:
        self.port = port
        self.versions = [0] * feeds
        self.responses = [self._feed_response(i) for i in range(feeds)]
        self.not_found = _response("404 Not Found", b"not found")

    def _feed_response(self, i: int) -> bytes:
        etag = f'"v{self.versions[i]}-{i}"'
        head = f"Content-Type: application/rss+xml; charset=utf-8\r\nETag: {etag}\r\n"
        return _response("200 OK", feed(i, self.port, self.versions[i]), head)

    def answer(self, head: bytes) -> bytes:
        found = _REQUEST.match(head)
        path = found.group(1).decode() if found else ""
        parts = path.split("/")
        if (
            len(parts) == 3
            and parts[1] == "feed"
            and parts[2].isdigit()
            and int(parts[2]) < len(self.versions)
        ):
            i = int(parts[2])
            etag = f'"v{self.versions[i]}-{i}"'
            inm = _INM.search(head)
            if inm and inm.group(1).strip().decode() == etag:
                return _response("304 Not Modified", b"", f"ETag: {etag}\r\n")
            return self.responses[i]
        if len(parts) == 4 and parts[1] == "a" and parts[2].isdigit() and parts[3].isdigit():
            return _response("200 OK", page(int(parts[2]), int(parts[3])), "Content-Type: text/html\r\n")
        if path == "/_bump":
            for i in range(0, len(self.versions), 10):
                self.versions[i] = 1
                self.responses[i] = self._feed_response(i)
            return _response("200 OK", b"bumped")
        return self.not_found


class _Conn(asyncio.Protocol):
    site: _Site

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.transport.write(self.site.answer(head))


def serve(feeds: int, ready: multiprocessing.Queue[int]) -> None:  # runs in the child process
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Conn, "127.0.0.1", 0, backlog=2048)
        port = int(server.sockets[0].getsockname()[1])
        _Conn.site = _Site(feeds, port)
        ready.put(port)
        await server.serve_forever()

    asyncio.run(main())
