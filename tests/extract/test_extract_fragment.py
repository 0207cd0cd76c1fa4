"""normalize_fragment: article HTML carried in a feed entry, cut into paragraphs without trafilatura."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from monitor.extract import ExtractionError, normalize_fragment
from monitor.extract._fragment import fragment_lines

URL = "https://www.harbourgazette.example/news/2024/05/02/ferry?utm_source=rss"
ONE = "The harbour board approved a second ferry for the island route on Thursday evening."
TWO = "The vessel will be leased from a Danish operator for three summers, starting in June."


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(f"<p>{ONE}</p>\n<p>{TWO}</p>", [ONE, TWO], id="paragraphs"),
        pytest.param(f"{ONE}<br>{TWO}<br/><br />", [ONE, TWO], id="br-separated"),
        pytest.param(f"<div>{ONE}<div>{TWO}</div>Closing words of the story.</div>",
                     [ONE, TWO, "Closing words of the story."], id="nested-divs"),
        pytest.param("<ul><li>First point</li><li>Second <b>bold</b> point</li></ul>"
                     "<ol><li>Numbered</li></ol>", ["First point", "Second bold point", "Numbered"],
                     id="lists"),
        pytest.param(f"<h2>Timetable</h2><p>{ONE}</p><h3>Prices</h3><p>{TWO}</p>",
                     ["Timetable", ONE, "Prices", TWO], id="headings"),
        pytest.param("<p>Caf&eacute; &amp; bar &#8211; &ldquo;open&rdquo; &#x2014; 5&nbsp;km</p>",
                     ["Café & bar – “open” — 5 km"], id="entities"),
        pytest.param(f"<p>{ONE}</p><script>var x = '<p>not text</p>';</script><style>p {{color: red}}</style>"
                     f"<iframe src='https://video.example/1'>Your browser cannot play this</iframe>"
                     f"<noscript>Enable JavaScript</noscript><p>{TWO}</p>", [ONE, TWO],
                     id="scripts-iframes-dropped"),
        pytest.param(f"<p>{ONE}</p><figure><img src='a.jpg'><figcaption>The ferry at dawn</figcaption>"
                     f"</figure><form><input name='q'><button>Search</button></form><p>{TWO}</p>", [ONE, TWO],
                     id="media-and-forms-dropped"),
        pytest.param(f"{ONE}\n\n{TWO}\n", [ONE, TWO], id="bare-text"),
        pytest.param("Fish &amp; chips are back &lt;on the menu&gt;", ["Fish & chips are back <on the menu>"],
                     id="bare-text-with-entities"),
        pytest.param("<table><tr><th>Day</th><th>Departures</th></tr><tr><td>Monday</td><td>4</td></tr>"
                     "</table>", ["Day | Departures", "Monday | 4"], id="table"),
        pytest.param("<pre>line one\n  line two</pre><p>after</p>", ["line one", "line two", "after"],
                     id="pre"),
        pytest.param(f"<p>{ONE}\n   wrapped in the\n   source</p>", [f"{ONE} wrapped in the source"],
                     id="source-newlines-are-spaces"),
    ],
)
def test_fragment_lines(html: str, expected: list[str]) -> None:
    lines, _heading = fragment_lines(html)
    assert lines == expected


def test_golden_feed_item(fetched_at: datetime) -> None:
    html = (
        f"<p>{ONE}</p><p><img src='x.png'> Share on Facebook</p><blockquote><p>“It is a relief,” said the "
        f"mayor.</p></blockquote><p>{TWO}<br>Tickets go on sale in <a href='/t'>May</a>.</p>"
        "<h3>Related</h3><ul><li><a href='/1'>Ferry strike ends</a></li></ul>"
        "<p>The post Second ferry approved appeared first on Harbour Gazette.</p>"
    )
    published = datetime(2024, 5, 2, 23, 30, tzinfo=timezone(timedelta(hours=-4)))
    article = normalize_fragment(html, url=URL, fetched_at=fetched_at, title="Second ferry approved",
                                 published=published, language="en")
    assert article.to_text() == (
        "Second ferry approved\n20240502\nhttps://www.harbourgazette.example/news/2024/05/02/ferry\n"
        f"{ONE}\n“It is a relief,” said the mayor.\n{TWO}\nTickets go on sale in May.\n"
    )
    assert (article.date_source, article.language, article.extractor) == ("feed", "en", "fragment")


def test_title_from_leading_heading_and_not_repeated(fetched_at: datetime) -> None:
    html = f"<h1>Second ferry approved</h1><p>{ONE}</p>"
    article = normalize_fragment(html, url=URL, fetched_at=fetched_at)
    assert article.title == "Second ferry approved"
    assert article.paragraphs == (ONE,)


def test_given_title_repeated_in_the_body_is_dropped(fetched_at: datetime) -> None:
    article = normalize_fragment(f"<p>Second ferry approved</p><p>{ONE}</p>", url=URL, fetched_at=fetched_at,
                                 title="  Second   ferry approved ")
    assert article.title == "Second ferry approved"
    assert article.paragraphs == (ONE,)


def test_title_from_first_line_without_a_heading(fetched_at: datetime) -> None:
    article = normalize_fragment(f"<p>Share</p><p>Ferry news</p><p>{ONE}</p>", url=URL, fetched_at=fetched_at)
    assert (article.title, article.paragraphs) == ("Ferry news", (ONE,))


def test_date_order_without_feed_date(fetched_at: datetime) -> None:
    html = f"<p>April 30, 2024</p><p>{ONE}</p>"
    dateline = normalize_fragment(html, url=URL, fetched_at=fetched_at, title="T")
    assert (dateline.date, dateline.date_source) == (date(2024, 4, 30), "text")
    from_url = normalize_fragment(f"<p>{ONE}</p>", url=URL, fetched_at=fetched_at, title="T")
    assert (from_url.date, from_url.date_source) == (date(2024, 5, 2), "url")
    unknown = normalize_fragment(f"<p>{ONE}</p>", url="https://x.example/f", fetched_at=fetched_at, title="T")
    assert (unknown.date, unknown.date_source) == (fetched_at.date(), "first_seen")


def test_feed_date_after_the_fetch_is_not_trusted(fetched_at: datetime) -> None:
    article = normalize_fragment(f"<p>{ONE}</p>", url=URL, fetched_at=fetched_at, title="T",
                                 published=fetched_at + timedelta(days=2))
    assert (article.date, article.date_source) == (date(2024, 5, 2), "url")


@pytest.mark.parametrize(
    "html",
    ["", "   \n ", "<p></p><div> </div>", "<script>alert(1)</script>", "<p>Share</p><p>Comments</p>",
     "<img src='a.jpg'>"],
)
def test_nothing_usable_raises(html: str, fetched_at: datetime) -> None:
    with pytest.raises(ExtractionError):
        normalize_fragment(html, url=URL, fetched_at=fetched_at, title="Second ferry approved")


def test_only_a_title_raises(fetched_at: datetime) -> None:
    with pytest.raises(ExtractionError):
        normalize_fragment("<h2>Second ferry approved</h2>", url=URL, fetched_at=fetched_at)


def test_cleaning_is_shared_with_the_other_paths(fetched_at: datetime) -> None:
    # Mojibake, invisible characters, duplicates and bullets are repaired exactly as on pages.
    html = f"<p>Itâ€™s\u200b official</p><p>• {ONE}</p><p>{ONE}</p>"
    article = normalize_fragment(html, url=URL, fetched_at=fetched_at, title="T")
    assert article.paragraphs == ("It’s official", ONE)
