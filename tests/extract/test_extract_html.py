"""extract_html: metadata choices (title, canonical URL, date, language) and the extractor fallbacks."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from monitor.extract import ExtractionError, extract_html

PARAGRAPHS = [
    "The regional council voted on Tuesday to extend the tram line to the new hospital by 2027.",
    "Construction will start next spring and is expected to cost about 120 million euros in total.",
    "Residents along the planned route will be invited to two public meetings before the works begin.",
    "The opposition criticised the budget but said it supported the project in principle.",
]
URL = "https://news.example.com/local/tram-extension"


def page(
    *,
    head: str = "",
    h1: str | None = "Tram line to reach the new hospital",
    before: str = "",
    paragraphs: list[str] | None = None,
    lang: str = "en",
) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in (PARAGRAPHS if paragraphs is None else paragraphs))
    heading = f"<h1>{h1}</h1>" if h1 else ""
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>Tram line to reach the new hospital | City News</title>{head}</head>"
        f"<body><article>{heading}{before}{body}</article></body></html>"
    ).encode()


def test_basic_article(fetched_at: datetime) -> None:
    article = extract_html(page(), url=URL, fetched_at=fetched_at)
    assert article.title == "Tram line to reach the new hospital"
    assert article.paragraphs == tuple(PARAGRAPHS)
    assert article.url == URL
    assert article.language == "en"
    assert article.extractor == "trafilatura"
    assert (article.date, article.date_source) == (fetched_at.date(), "first_seen")


@pytest.mark.parametrize(
    ("canonical", "expected"),
    [
        ("https://www.example.com/local/tram?utm_source=rss#top", "https://www.example.com/local/tram"),
        ("/amp/local/tram-extension", "https://news.example.com/amp/local/tram-extension"),
        ("https://aggregator.example.org/story/1", URL),  # another site: not trusted
        ("javascript:void(0)", URL),
    ],
)
def test_canonical_only_on_the_same_registered_domain(
    canonical: str, expected: str, fetched_at: datetime
) -> None:
    data = page(head=f'<link rel="canonical" href="{canonical}">')
    assert extract_html(data, url=URL, fetched_at=fetched_at).url == expected


def test_fetched_url_is_cleaned_of_tracking_parameters(fetched_at: datetime) -> None:
    article = extract_html(page(), url=URL + "?id=3&utm_medium=feed&fbclid=abc", fetched_at=fetched_at)
    assert article.url == URL + "?id=3"


def test_local_file_accepts_any_http_canonical(fetched_at: datetime) -> None:
    data = page(head='<link rel="canonical" href="https://other.example.org/story?utm_source=x">')
    article = extract_html(data, url="file:///srv/demo/story.html", fetched_at=fetched_at)
    assert article.url == "https://other.example.org/story"


def test_title_prefers_h1_that_agrees_with_declared_title(fetched_at: datetime) -> None:
    data = page(
        head='<meta property="og:title" content="Tram line to reach the new hospital – City News">',
        before="<h1>City News</h1>",
    )
    assert extract_html(data, url=URL, fetched_at=fetched_at).title == "Tram line to reach the new hospital"


def test_title_falls_back_to_feed_then_og_without_site_suffix(fetched_at: datetime) -> None:
    head = '<meta property="og:title" content="Council backs tram extension | City News">'
    assert extract_html(page(head=head, h1=None), url=URL, fetched_at=fetched_at).title == (
        "Council backs tram extension"
    )
    article = extract_html(
        page(head=head, h1=None), url=URL, fetched_at=fetched_at, feed_title="Feed headline"
    )
    assert article.title == "Feed headline"


def test_feed_date_keeps_the_publishers_zone(fetched_at: datetime) -> None:
    published = datetime(2024, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=9)))  # 2024-02-29 in UTC
    data = page(head='<meta property="article:published_time" content="2023-01-01T00:00:00Z">')
    article = extract_html(data, url=URL, fetched_at=fetched_at, feed_published=published)
    assert (article.date, article.date_source) == (date(2024, 3, 1), "feed")


def test_feed_date_after_the_fetch_is_not_trusted(fetched_at: datetime) -> None:
    data = page(head='<meta property="article:published_time" content="2024-05-20T08:00:00+02:00">')
    article = extract_html(
        data, url=URL, fetched_at=fetched_at, feed_published=fetched_at + timedelta(days=3)
    )
    assert (article.date, article.date_source) == (date(2024, 5, 20), "page")


def test_date_next_to_the_headline(fetched_at: datetime) -> None:
    data = page(
        before="<p class='byline'>By Ana Ruiz · Published May 3, 2024 · Updated May 20, 2024</p>",
        head='<meta property="article:published_time" content="2019-01-01T00:00:00Z">',
    )
    article = extract_html(data, url=URL, fetched_at=fetched_at)
    assert (article.date, article.date_source) == (date(2024, 5, 3), "page")


def test_update_date_next_to_headline_is_skipped(fetched_at: datetime) -> None:
    data = page(
        before="<p>Updated May 20, 2024</p>",
        head='<script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2024-04-02T09:00:00+02:00"}</script>',
    )
    article = extract_html(data, url=URL, fetched_at=fetched_at)
    assert (article.date, article.date_source) == (date(2024, 4, 2), "page")


def test_page_dates_after_the_fetch_are_ignored_then_url_date(fetched_at: datetime) -> None:
    data = page(before="<p>Published 3 July 2031</p>")
    article = extract_html(data, url="https://news.example.com/2024/02/11/tram", fetched_at=fetched_at)
    assert (article.date, article.date_source) == (date(2024, 2, 11), "url")


def test_language_hint_used_when_page_has_none(fetched_at: datetime) -> None:
    data = page().replace(b' lang="en"', b"")
    assert extract_html(data, url=URL, fetched_at=fetched_at, language_hint="fi").language == "fi"
    assert (
        extract_html(page(lang="de-AT"), url=URL, fetched_at=fetched_at, language_hint="fi").language == "de"
    )


def test_readability_fallback_when_extraction_is_short_of_the_description(fetched_at: datetime) -> None:
    # trafilatura drops <aside>; readability keeps it. The description announces more text than trafilatura
    # found, which is what triggers the fallback; the longer reading wins.
    aside = "Timeline: the first trams will run on the extended line in the autumn of 2027, the council said."
    description = " ".join([*PARAGRAPHS, aside])
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + f"<aside><p>{aside}</p></aside>"
    data = (
        f'<html><head><meta name="description" content="{description}"><title>Tram</title></head>'
        f"<body><article>{body}</article></body></html>"
    ).encode()
    article = extract_html(data, url=URL, fetched_at=fetched_at)
    assert article.extractor == "readability"
    assert article.paragraphs == (*PARAGRAPHS, aside)
    without_description = data.replace(b'name="description"', b'name="keywords"')
    assert extract_html(without_description, url=URL, fetched_at=fetched_at).extractor == "trafilatura"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not html at all",
        b"<html><head><title>Empty</title></head><body></body></html>",
        b"<html><body><nav><a href='/'>Home</a></nav></body></html>",
    ],
)
def test_nothing_usable_raises(data: bytes, fetched_at: datetime) -> None:
    with pytest.raises(ExtractionError):
        extract_html(data, url=URL, fetched_at=fetched_at)


def test_parser_gives_html_elements_and_drops_comments() -> None:
    from lxml.html import HtmlElement

    from monitor.extract._parse import parse_html

    tree = parse_html('<?xml version="1.0" encoding="utf-8"?>\n<html><body><!-- c --><form><p>x</p></form>'
                      "<p>a\x00b</p></body></html>")
    assert isinstance(tree, HtmlElement)
    assert all(isinstance(e, HtmlElement) for e in tree.iter())  # form controls too: one class for all
    assert [p.text_content() for p in tree.iter("p")] == ["x", "a\ufffdb"]
    with pytest.raises(ExtractionError):
        parse_html("just words, no markup")


def test_balanced_rerun_only_when_recall_under_extracts(
    fetched_at: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.extract._html as html_module

    calls: list[bool] = []
    real = html_module._trafilatura

    def spy(tree: object, url: str, *, recall: bool) -> str:
        calls.append(recall)
        return real(tree, url, recall=recall)

    monkeypatch.setattr(html_module, "_trafilatura", spy)
    extract_html(page(), url=URL, fetched_at=fetched_at)
    assert calls == [True]  # recall got all the paragraph text: no second run
    calls.clear()
    # A page whose story sits in a link-heavy teaser box that recall mode prunes, next to a short lead.
    teasers = "".join(
        f"<div class='related-posts'><p><a href='/{i}'>Story number {i} of the day about the tram works "
        f"in the city centre and what they mean for residents and shops</a></p></div>"
        for i in range(40)
    )
    extract_html(page(before=teasers), url=URL, fetched_at=fetched_at)
    assert calls == [True, False]


def test_extraction_in_threads_matches_sequential(fetched_at: datetime) -> None:
    # The daemon may extract in worker threads; the parser is per thread (see monitor.extract._parse).
    from concurrent.futures import ThreadPoolExecutor

    pages = [page(paragraphs=[f"{p} Variant {i}." for p in PARAGRAPHS]) for i in range(16)]
    expected = [extract_html(p, url=URL, fetched_at=fetched_at).to_text() for p in pages]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda p: extract_html(p, url=URL, fetched_at=fetched_at).to_text(), pages))
    assert got == expected


def test_link_lists_removed_before_extraction_prose_in_nav_kept() -> None:
    from monitor.extract._html import _drop_link_lists
    from monitor.extract._parse import parse_html

    prose = " ".join(PARAGRAPHS)
    tree = parse_html(
        "<html><body>"
        '<nav id="menu"><ul><li><a href="/">Home</a></li><li><a href="/local">Local news</a></li>'
        '<li><a href="/sport">Sport</a></li></ul></nav>'
        '<aside id="related"><h3>More</h3><a href="/a">Bus fares rise in May</a> '
        '<a href="/b">New cycle lanes for the harbour</a></aside>'
        f'<nav id="story"><p>{prose}</p><p><a href="/council">Council minutes</a></p></nav>'
        '<aside id="box"><p>The hospital opens in 2027 with 400 beds and a helipad.</p></aside>'
        "</body></html>"
    )
    _drop_link_lists(tree)
    assert [e.get("id") for e in tree.iter("nav", "aside")] == ["story", "box"]



def test_main_container_only_when_it_holds_most_of_the_text() -> None:
    from monitor.extract._html import _main_container, _paragraph_chars
    from monitor.extract._parse import parse_html

    story = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    whole = parse_html(f"<html><body><main><article><h1>T</h1>{story}</article></main></body></html>")
    found = _main_container(whole, _paragraph_chars(whole))
    assert found is not None and found.tag == "article"
    # Half the story outside the <article>: no container.
    first, second = ("".join(f"<p>{p}</p>" for p in half) for half in (PARAGRAPHS[:2], PARAGRAPHS[2:]))
    split = parse_html(f"<html><body><article>{first}</article><div>{second}</div></body></html>")
    assert _main_container(split, _paragraph_chars(split)) is None
    # Two articles side by side: <main> around both is the container.
    two = parse_html(f"<html><body><main><article>{story}</article><article>{story}</article></main></body>")
    found = _main_container(two, _paragraph_chars(two))
    assert found is not None and found.tag == "main"


def test_recall_run_on_the_container_leaves_the_tree_whole() -> None:
    from monitor.extract._html import _recall_run
    from monitor.extract._parse import parse_html

    story = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    tree = parse_html(f"<html><body><div>menu</div><article>{story}</article>tail text<p>after</p></body>")
    before = etree_string(tree)
    container = tree.find(".//article")
    text = _recall_run(tree, container, URL)
    assert all(p in text for p in PARAGRAPHS)
    assert etree_string(tree) == before


def etree_string(tree: object) -> bytes:
    from lxml import etree

    return bytes(etree.tostring(tree))
