"""parse_feed / parse_json_feed on the fixture feeds written for these tests (tests/parse/fixtures)."""

from __future__ import annotations

import codecs
import pickle
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import feedparser.mixin
import pytest

from monitor.parse import FeedRefused, ParsedFeed, ParseError, _feed, parse_feed, parse_json_feed

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def offset(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


# -- formats -------------------------------------------------------------------------------------------


def test_rss091_with_netscape_doctype_and_declared_latin1() -> None:
    feed = parse_feed(load("rss091.xml"), url="http://gazette.example.com/rss.xml")
    assert feed.kind == "rss"
    assert feed.problem is None
    assert feed.title == "Gazette du Port"
    assert [e.title for e in feed.entries] == ["Horaires d'été du ferry", "Fête de la mer"]
    assert feed.entries[0].url == "http://gazette.example.com/2024/ferry.html"
    assert feed.entries[0].summary == "Les horaires changent à partir de mai."
    assert feed.entries[0].language == "fr"


def test_rss10_rdf_with_dublin_core_and_syndication_hints() -> None:
    feed = parse_feed(load("rss10.rdf"), url="http://wire.example.org/rss")
    assert feed.kind == "rdf"
    assert feed.ttl_s == 3600 / 4  # sy:updatePeriod hourly, sy:updateFrequency 4
    first, second = feed.entries
    assert first.title == "Zölle auf Stahl steigen"
    assert first.author == "Anna Weber"
    assert first.language == "de"
    assert first.published == datetime(2024, 3, 5, 8, 15, tzinfo=offset(1))
    assert first.published is not None and first.published.utcoffset() == timedelta(hours=1)
    assert second.published == datetime(2024, 3, 6, 14, 0, tzinfo=UTC)


def test_rss20_fields_relative_links_and_offsets() -> None:
    feed = parse_feed(load("rss20.xml"), url="https://courier.example.com/feeds/main.xml")
    assert feed.kind == "rss"
    assert feed.title == "Riverside & District Courier"
    assert feed.link == "https://courier.example.com/feeds/index.html"
    assert feed.ttl_s == 15 * 60
    bridge, library, market = feed.entries
    # Relative link resolved against the feed URL, fragment dropped; guid kept verbatim.
    assert bridge.url == "https://courier.example.com/feeds/pages/bridge-reopens.html"
    assert bridge.guid == "courier-2024-0001"
    # Escaped markup in an RSS title: tags stripped, entities decoded once.
    assert bridge.title == "Bridge reopens & traffic eases"
    assert bridge.author == "Priya Raman"
    assert bridge.summary == "The old bridge is open again."
    assert bridge.content_html is not None
    # Entry HTML is passed on as published (no sanitising, no link rewriting: only text is used).
    assert 'after <a href="../archive/closure.html">the closure</a>.</p>' in bridge.content_html
    assert bridge.published == datetime(2024, 3, 5, 10, 0, tzinfo=offset(5.5))
    assert bridge.published is not None and bridge.published.utcoffset() == timedelta(hours=5, minutes=30)
    # No <link>: the permalink guid is the URL.
    assert library.url == library.guid == "https://courier.example.com/2024/03/library-hours"
    assert library.author == "News Desk"  # "email (Name)"
    assert library.published is not None and library.published.utcoffset() == timedelta(hours=-5)
    assert market.published == datetime(2024, 3, 7, 7, 0, tzinfo=UTC)
    assert market.language == "en-GB"


def test_atom03() -> None:
    feed = parse_feed(load("atom03.xml"), url="http://log.example.net/atom.xml")
    assert feed.kind == "atom"
    horn, boat = feed.entries
    assert horn.guid == "tag:log.example.net,2004:foghorn"
    assert horn.url == "http://log.example.net/2004/05/foghorn"
    assert horn.published == datetime(2004, 5, 1, 8, 0, tzinfo=offset(-4))  # <issued>, offset kept
    assert horn.content_html == "<p>The horn works again after three weeks.</p>"
    assert horn.author == "Tom Keeper"
    assert boat.published == datetime(2004, 4, 28, 9, 30, tzinfo=UTC)  # only <modified>


def test_atom10_xml_base_html_titles_and_longest_content() -> None:
    feed = parse_feed(load("atom10.xml"), url="https://atlas.example.fr/flux.atom")
    assert feed.kind == "atom"
    assert feed.title == "L’Atlas quotidien"
    assert feed.link == "https://atlas.example.fr/actu/"  # "./" against the feed's xml:base
    greve, match = feed.entries
    assert greve.url == "https://atlas.example.fr/actu/2024/03/greve.html"
    assert greve.title == "Grève & transports : ce qui change"
    assert greve.published == datetime(2024, 3, 7, 6, 45, tzinfo=offset(-7))  # published, not updated
    assert greve.language == "fr"
    assert greve.content_html is not None and "circulent peu" in greve.content_html
    assert 'href="../carte.html"' in greve.content_html  # links inside content are left as published
    # An entry-level xml:base overrides the feed's; xml:lang too.
    assert match.url == "https://atlas.example.fr/sport/match-42"
    assert match.language == "en"
    assert match.content_html == "<p>Home side won.</p><p>Crowd of 30,000.</p>"  # type="text", escaped


def test_json_feed_11() -> None:
    feed = parse_json_feed(load("feed11.json"), url="https://orbit.example.com/feed.json")
    assert feed.kind == "json"
    assert feed.title == "Orbit Notes"
    assert feed.link == "https://orbit.example.com/"
    launch, telemetry, elsewhere = feed.entries
    assert launch.url == "https://orbit.example.com/notes/2024/launch-window"
    assert launch.published == datetime(2024, 3, 8, 5, 30, tzinfo=offset(9))
    assert launch.author == "Kenji Sato, Ada Lund"
    assert launch.language == "ja"
    assert telemetry.guid == "18"  # numeric id coerced to a string
    assert telemetry.title == "Telemetry & tracking"
    assert telemetry.content_html == "<p>First line of text.</p><p>Second &lt;paragraph&gt;.</p>"
    assert telemetry.author == "Mission Desk"  # feed-level authors
    assert telemetry.language == "en-US"
    assert elsewhere.url == "https://elsewhere.example.org/story"  # external_url
    assert feed.problem == "1 of 4 items skipped: no usable url"
    # parse_feed recognises JSON and hands it over.
    assert parse_feed(load("feed11.json"), url="https://orbit.example.com/feed.json") == feed


def test_json_feed_10_author_and_rejections() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1", "title": "Old", "author": {"name": "Solo"},'
        b' "items": [{"id": "1", "url": "https://old.example.com/1", "date_published": "2024-03-01"}]}'
    )
    (entry,) = parse_json_feed(body, url="https://old.example.com/feed.json").entries
    assert entry.author == "Solo"
    assert entry.published == datetime(2024, 3, 1, tzinfo=UTC)
    for bad, reason in [
        (b'{"items": []}', "jsonfeed.org/version"),
        (b'["a"]', "not an object"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "'items'"),
        (b'{"version": ', "invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),
    ]:
        with pytest.raises(ParseError, match=reason) as info:
            parse_json_feed(bad, url="https://old.example.com/feed.json")
        assert "https://old.example.com/feed.json" in str(info.value)


# -- encodings -----------------------------------------------------------------------------------------


def test_charset_only_in_the_content_type_header() -> None:
    body = load("charset_from_header.xml")
    headers = {"Content-Type": "application/rss+xml; charset=ISO-8859-1"}  # mixed-case key on purpose
    feed = parse_feed(body, url="https://cafe.example.com/rss", headers=headers)
    assert feed.title == "Café Chronicle"
    assert feed.entries[0].title == "Crème brûlée à la carte"
    assert feed.problem is None


def test_wrongly_declared_encoding_is_recovered_and_reported() -> None:
    feed = parse_feed(load("wrongly_declared.xml"), url="https://patisserie.example.com/rss")
    assert feed.entries[0].title == "Crème brûlée returns"
    assert feed.title == "Pâtisserie Weekly"
    assert feed.problem is not None and "declared as utf-8" in feed.problem


def test_utf16_sniffed_from_the_byte_order_mark() -> None:
    feed = parse_feed(load("utf16_sniffed.xml"), url="https://nandu.example.com/atom")
    assert feed.title == "Ñandú Observatorio"
    assert feed.entries[0].title == "Año nuevo en el observatorio"
    assert feed.problem is None


def test_text_xml_without_charset_follows_the_xml_declaration() -> None:
    body = load("rss10.rdf")  # UTF-8 with umlauts
    feed = parse_feed(body, url="http://wire.example.org/rss", headers={"content-type": "text/xml"})
    assert feed.entries[0].title == "Zölle auf Stahl steigen"
    assert feed.problem is None


def test_non_xml_content_type_is_a_problem_not_a_failure() -> None:
    feed = parse_feed(
        load("rss20.xml"), url="https://c.example.com/rss", headers={"content-type": "text/html"}
    )
    assert len(feed.entries) == 3
    assert feed.problem is not None and "text/html" in feed.problem


def test_html_titles_lose_script_and_style_text() -> None:
    # feedparser no longer sanitises: the title's own markup handling must not let code into the text.
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><title type="html">&lt;script&gt;steal()&lt;/script&gt;Budget
      &lt;style&gt;p{}&lt;/style&gt;passes</title>
      <link href="https://x.example.com/a"/><id>x:1</id><updated>2024-01-01T00:00:00Z</updated></entry></feed>"""
    (entry,) = parse_feed(body, url="https://x.example.com/atom").entries
    assert entry.title == "Budget passes"


@pytest.mark.parametrize(
    ("base", "rel"),
    [
        ("https://a.example/feed.xml", "https://a.example/feed.xml"),
        ("https://a.example/feed.xml", None),
        ("https://a.example/feed.xml", ""),
        ("https://a.example/dir/feed.xml", "../other/"),
        ("https://a.example/feed.xml", "javascript:alert(1)"),
        ("javascript:alert(1)", None),
        ("file:///srv/feeds/atom.xml", "file:///srv/site/"),
        ("http:///a.example/x", "y"),
        ("https://a.example/", "http://[::1"),
        ("https://a.example/", "x" * 5000),
    ],
)
def test_memoised_base_join_gives_feedparsers_answers(base: str, rel: str | None) -> None:
    memoised = feedparser.mixin.make_safe_absolute_uri
    assert _feed._UNCACHED_JOIN is not None and memoised is not _feed._UNCACHED_JOIN
    for _ in range(2):  # a miss, then a hit
        assert memoised(base, rel) == _feed._UNCACHED_JOIN(base, rel)


# -- relative links against file:// URLs (the demo serves feeds from disk) -----------------------------


def test_file_url_feed_resolves_links_to_file_urls(tmp_path: Path) -> None:
    feed_path = tmp_path / "demo" / "feeds" / "rss20.xml"
    feed_path.parent.mkdir(parents=True)
    feed_path.write_bytes(load("rss20.xml"))
    url = feed_path.as_uri()
    assert url.startswith("file:///")
    feed = parse_feed(feed_path.read_bytes(), url=url)
    bridge = feed.entries[0]
    assert bridge.url == (tmp_path / "demo" / "feeds" / "pages" / "bridge-reopens.html").as_uri()
    assert feed.link == (tmp_path / "demo" / "feeds" / "index.html").as_uri()


def test_absolute_file_links_and_xml_base_keep_three_slashes() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="file:///srv/site/">
      <title>t</title><entry><title>a</title><link href="a/one.html"/><id>file:///srv/site/a/one.html</id>
      <updated>2024-01-01T00:00:00Z</updated></entry>
      <entry><title>b</title><link href="file:///srv/other/two.html"/><id>x:2</id>
      <updated>2024-01-01T00:00:00Z</updated></entry></feed>"""
    one, two = parse_feed(body, url="file:///srv/feeds/atom.xml").entries
    assert one.url == "file:///srv/site/a/one.html"
    assert two.url == "file:///srv/other/two.html"


# -- dates ---------------------------------------------------------------------------------------------


def _rss_with_date(date: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>d</title><item><title>x</title>'
        f"<link>https://d.example.com/x</link><pubDate>{date}</pubDate></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tue, 05 Mar 2024 10:00:00 +0530", datetime(2024, 3, 5, 10, 0, tzinfo=offset(5.5))),
        ("Tue, 05 Mar 2024 10:00:00 EST", datetime(2024, 3, 5, 10, 0, tzinfo=offset(-5))),
        ("2024-03-05T10:00:00-03:00", datetime(2024, 3, 5, 10, 0, tzinfo=offset(-3))),
        # Unknown zone name: the offset is unknown, so feedparser's UTC reading is kept.
        ("Tue, 05 Mar 2024 10:00:00 XYZ", datetime(2024, 3, 5, 10, 0, tzinfo=UTC)),
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC)),  # only feedparser reads this one
    ],
)
def test_dates_keep_their_own_offset(raw: str, expected: datetime) -> None:
    (entry,) = parse_feed(_rss_with_date(raw), url="https://d.example.com/rss").entries
    assert entry.published == expected
    assert entry.published is not None and entry.published.utcoffset() == expected.utcoffset()


def test_unparseable_date_is_none_not_an_error() -> None:
    (entry,) = parse_feed(_rss_with_date("sometime last week"), url="https://d.example.com/rss").entries
    assert entry.published is None


# -- ill-formed and hostile feeds ----------------------------------------------------------------------


def test_ill_formed_feed_with_entries_reports_the_problem() -> None:
    feed = parse_feed(load("illformed.xml"), url="https://bakery.example.com/rss")
    assert [e.url for e in feed.entries] == [
        "https://bakery.example.com/sourdough",
        "https://bakery.example.com/oven",
    ]
    assert feed.entries[0].title == "Sourdough & rye are back"
    assert feed.problem is not None and "not well-formed" in feed.problem


def test_entity_declaration_is_refused() -> None:
    with pytest.raises(FeedRefused, match="entities") as info:
        parse_feed(load("entity.xml"), url="https://acme.example.com/rss")
    assert "https://acme.example.com/rss" in str(info.value)
    assert info.value.url == "https://acme.example.com/rss"


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(FeedRefused):
        parse_feed(load("billion_laughs.xml"), url="https://lol.example.com/rss")
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_entity_declaration_is_refused_in_wide_encodings(codec: str) -> None:
    text = load("entity.xml").decode("utf-8").replace('encoding="utf-8"', f'encoding="{codec}"')
    with pytest.raises(FeedRefused):
        parse_feed(text.encode(codec), url="https://acme.example.com/rss")


def test_entity_declaration_smuggled_through_a_header_charset_is_refused() -> None:
    text = load("entity.xml").decode("utf-8").replace('<?xml version="1.0" encoding="utf-8"?>\n', "")
    body = codecs.encode(text, "utf-7").replace(b"<", b"+ADw-")  # UTF-7 may spell "<" as "+ADw-"
    assert codecs.decode(body, "utf-7") == text
    assert b"<!ENTITY" not in body
    with pytest.raises(FeedRefused):
        parse_feed(
            body, url="https://acme.example.com/rss", headers={"content-type": "text/xml; charset=utf-7"}
        )


def test_entity_text_inside_cdata_without_doctype_is_fine() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>XML tips</title><item>'
        b"<title>Why &lt;!ENTITY is dangerous</title><link>https://tips.example.com/1</link>"
        b"<description><![CDATA[Never accept <!ENTITY declarations.]]></description></item></channel></rss>"
    )
    (entry,) = parse_feed(body, url="https://tips.example.com/rss").entries
    assert entry.title == "Why <!ENTITY is dangerous"


def test_a_body_that_is_a_local_path_is_never_opened(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes(load("rss20.xml"))  # a perfectly valid feed, were it read from disk
    with pytest.raises(ParseError, match="no feed entries"):
        parse_feed(str(secret).encode(), url="https://evil.example.com/rss")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "no feed entries"),
        (b"<html><body><p>Not a feed</p></body></html>", "no RSS, Atom or RDF"),
        (b"\x00\x01\x02 binary", "no feed entries"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</tit', "no feed entries"),
        (
            b'<?xml version="1.0"?><rss><channel><item><title>no link</title></item></channel></rss>',
            "usable link",
        ),
    ],
)
def test_nothing_usable_raises_parse_error_saying_where(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason) as info:
        parse_feed(body, url="https://broken.example.com/feed")
    assert "https://broken.example.com/feed" in str(info.value)


def test_well_formed_empty_feed_is_not_an_error() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    assert parse_feed(body, url="https://q.example.com/rss") == ParsedFeed(
        title="Quiet", link=None, entries=(), ttl_s=None, problem=None, kind="rss"
    )


def test_gzip_compressed_feed_body() -> None:
    import gzip

    feed = parse_feed(gzip.compress(load("rss10.rdf")), url="http://wire.example.org/rss.gz")
    assert len(feed.entries) == 2


def test_parse_errors_survive_pickling() -> None:
    with pytest.raises(FeedRefused) as info:
        parse_feed(load("entity.xml"), url="https://acme.example.com/rss")
    copy = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own object, as the pool does
    assert type(copy) is FeedRefused
    assert str(copy) == str(info.value)
    assert copy.url == "https://acme.example.com/rss"
