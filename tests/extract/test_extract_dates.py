"""The publication date of a page: the rule order of ``monitor.extract._pagedate`` on pages written to
exercise one rule each, plus the text-level helpers it relies on."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from monitor.extract import extract_html
from monitor.extract._dates import date_in_url, labelled_month, written_dates
from monitor.extract._meta import read_meta
from monitor.extract._pagedate import stated_original
from monitor.extract._parse import parse_html

URL = "https://news.example.com/local/tram-extension"
BODY = "".join(
    f"<p>{p}</p>"
    for p in (
        "The regional council voted on Tuesday to extend the tram line to the new hospital by 2027.",
        "Construction will start next spring and is expected to cost about 120 million euros in total.",
        "Residents along the planned route will be invited to two public meetings before the works begin.",
    )
)
LD = '<script type="application/ld+json">{json}</script>'


def page(*, head: str = "", byline: str = "", foot: str = "") -> bytes:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Tram line extended</title>'
        f"{head}</head><body><article><h1>Tram line extended</h1>{byline}{BODY}{foot}</article></body></html>"
    ).encode()


def dated(data: bytes, fetched_at: datetime, url: str = URL) -> tuple[date, str]:
    article = extract_html(data, url=url, fetched_at=fetched_at)
    return article.date, article.date_source


def test_original_date_next_to_headline_beats_metadata(fetched_at: datetime) -> None:
    head = '<meta property="article:published_time" content="2019-01-01T00:00:00Z">'
    assert dated(page(head=head, byline="<p>By Ana Ruiz · 3 May 2024</p>"), fetched_at) == (
        date(2024, 5, 3), "page"
    )


def test_update_shown_alone_yields_to_the_declared_publication_date(fetched_at: datetime) -> None:
    head = LD.format(json='{"@type": "NewsArticle", "datePublished": "2024-04-02T09:00:00+02:00", '
                     '"dateModified": "2024-05-20T10:00:00+02:00"}')
    assert dated(page(head=head, byline="<p>Last updated:\n\n\t\t May 20, 2024</p>"), fetched_at) == (
        date(2024, 4, 2), "page"
    )


def test_update_marked_in_markup_only_is_an_update(fetched_at: datetime) -> None:
    # WordPress themes print the modification date in an element classed "updated", with no word "Updated".
    head = '<meta property="article:published_time" content="2024-04-02T09:00:00+00:00">'
    byline = '<p><span class="updated-on"><time datetime="2024-05-20">May 20, 2024</time></span></p>'
    assert dated(page(head=head, byline=byline), fetched_at) == (date(2024, 4, 2), "page")


def test_update_shown_without_any_declared_publication_date_is_used(fetched_at: datetime) -> None:
    assert dated(page(byline="<p>Updated on May 20, 2024</p>"), fetched_at) == (date(2024, 5, 20), "page")


def test_shown_date_a_zone_away_from_the_declared_moment_takes_the_declared_date(
    fetched_at: datetime,
) -> None:
    # 00:30 UTC on 5 May is still 4 May in New York, where the page prints its dates.
    head = '<meta property="article:published_time" content="2024-05-05T00:30:00+00:00">'
    assert dated(page(head=head, byline="<p>May 4, 2024</p>"), fetched_at) == (date(2024, 5, 5), "page")
    # Two days apart is no zone difference: the shown date stands.
    assert dated(page(head=head, byline="<p>May 3, 2024</p>"), fetched_at) == (date(2024, 5, 3), "page")
    # The URL carries the publisher's own calendar date: the shown date stands.
    assert dated(
        page(head=head, byline="<p>May 4, 2024</p>"), fetched_at, url="https://news.example.com/2024/05/04/tram"
    ) == (date(2024, 5, 4), "page")


@pytest.mark.parametrize(
    ("shown", "declared", "expected"),
    [
        ("03/10/2023", "2023-10-03T08:00:00Z", date(2023, 10, 3)),  # day first, as the metadata says
        ("03/10/2023", "2023-03-10T08:00:00Z", date(2023, 3, 10)),  # month first
        ("09.10.2023", "2023-09-10T08:00:00Z", date(2023, 9, 10)),  # dots are day-first unless told
        ("09.10.2023", None, date(2023, 10, 9)),
        ("03/10/2023", None, date(2023, 3, 10)),  # US reading without evidence
    ],
)
def test_ambiguous_numeric_date_read_as_the_metadata_says(
    shown: str, declared: str | None, expected: date, fetched_at: datetime
) -> None:
    head = f'<meta property="article:modified_time" content="{declared}">' if declared else ""
    assert dated(page(head=head, byline=f"<p>{shown}</p>"), fetched_at) == (expected, "page")


def test_stated_original_date_wins_over_everything_on_the_page(fetched_at: datetime) -> None:
    head = '<meta property="article:published_time" content="2024-05-01T00:00:00Z">'
    foot = "<p><em>This article was originally published on <b>26 Sep 2019</b> and has been updated.</em></p>"
    assert dated(page(head=head, byline="<p>May 20, 2024</p>", foot=foot), fetched_at) == (
        date(2019, 9, 26), "page"
    )


def test_stated_original_needs_a_full_date_right_after_the_phrase() -> None:
    latest = date(2024, 6, 2)
    assert stated_original("<p>First published: 3 May 2021</p>", latest) == date(2021, 5, 3)
    assert stated_original("<p>The novel was first published in 1990 to great acclaim.</p>", latest) is None
    assert stated_original("<p>Originally posted on 03/04/2021</p>", latest) is None  # ambiguous
    assert stated_original("<p>Originally published on 3 May 2031</p>", latest) is None  # future
    assert stated_original('{"datePublished": "2021-05-03"}', latest) is None


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<time pubdate datetime="2024-04-02T10:00:00+00:00">2 April</time>', date(2024, 4, 2)),
        ('<time class="entry-date published" datetime="2024-04-03T10:00:00+00:00">3 April</time>',
         date(2024, 4, 3)),
        ('<time itemprop="datePublished" datetime="2024-04-04">4 April</time>', date(2024, 4, 4)),
    ],
)
def test_dates_marked_as_publication_dates_in_markup(
    markup: str, expected: date, fetched_at: datetime
) -> None:
    # Far from the headline, so only the declared date can be found.
    foot = "<div>" + "<p>Filler paragraph of the story that goes on and on.</p>" * 30 + f"{markup}</div>"
    assert dated(page(foot=foot), fetched_at) == (expected, "page")


def test_time_pubdate_beats_json_ld() -> None:
    tree = parse_html(
        '<html><head><script type="application/ld+json">{"@type": "Article", "datePublished": "2024-05-09"}'
        '</script></head><body><time pubdate datetime="2024-05-01">1 May</time></body></html>'
    )
    assert read_meta(tree).published[:2] == ["2024-05-01", "2024-05-09"]


def test_written_metadata_date_is_a_last_resort(fetched_at: datetime) -> None:
    head = '<meta name="published" content="July 17, 2023">'
    assert dated(page(head=head), fetched_at) == (date(2023, 7, 17), "page")


def test_nothing_dated_falls_back_to_the_fetch(fetched_at: datetime) -> None:
    assert dated(page(), fetched_at) == (fetched_at.date(), "first_seen")


def test_dates_after_the_fetch_are_ignored(fetched_at: datetime) -> None:
    head = '<meta property="article:published_time" content="2031-01-01T00:00:00Z">'
    assert dated(page(head=head, byline="<p>Published 3 July 2031</p>"), fetched_at) == (
        fetched_at.date(), "first_seen"
    )


def test_written_dates_give_the_other_reading_of_ambiguous_numbers() -> None:
    found = written_dates("on 03/10/2023, then 28.09.2021, 13/01/2022 and 2022-01-25")
    assert [(value, other) for _, value, other in found] == [
        (date(2023, 3, 10), date(2023, 10, 3)),
        (date(2021, 9, 28), None),
        (date(2022, 1, 13), None),
        (date(2022, 1, 25), None),
    ]


def test_date_in_url_with_a_month_name() -> None:
    assert date_in_url("https://www.example.org/blog/2023/october/03/wine-styles/") == date(2023, 10, 3)
    assert date_in_url("https://www.example.org/blog/2023/october/") is None


def test_fetch_time_zone_allows_a_publisher_one_day_ahead() -> None:
    fetched = datetime(2024, 6, 1, 23, 0, tzinfo=UTC)
    head = '<meta property="article:published_time" content="2024-06-02T08:00:00+14:00">'
    assert dated(page(head=head), fetched) == (date(2024, 6, 2), "page")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("04-ago-2021 5:11:10", date(2021, 8, 4)),  # Spanish abbreviation, hyphenated
        ("21-Nov-2023", date(2023, 11, 21)),
        ("3 de mayo de 2024", date(2024, 5, 3)),
        ("12. März 2023", date(2023, 3, 12)),
        ("1er juin 2022", date(2022, 6, 1)),
        ("18 settembre 2020", date(2020, 9, 18)),
        ("Sept. 9, 2021", date(2021, 9, 9)),
        ("June 4, 2022", date(2022, 6, 4)),  # "June", not "Jun" and a stray "e"
    ],
)
def test_dates_written_with_month_names_of_several_languages(written: str, expected: date) -> None:
    assert [value for _, value, _ in written_dates(f"Publicado {written} por la redacción")] == [expected]


def test_words_that_look_like_month_abbreviations_are_not_dates() -> None:
    assert written_dates("Tickets sold out 10, 2020 times; the set 12, 2021 cost more.") == []
    assert written_dates("See chapter 3, 2024 edition, or 12 items 2023 and 4-pack-2022.") == []


def test_a_dateline_in_another_language_dates_the_page(fetched_at: datetime) -> None:
    byline = "<p>Por Redacción Central el 04-ago-2021 5:11:10</p>"
    assert dated(page(byline=byline), fetched_at) == (date(2021, 8, 4), "page")


def test_labelled_month_without_a_day_at_the_end_of_a_long_page(fetched_at: datetime) -> None:
    # A health agency's page: long, no date anywhere but "Last Updated: June 2022" under the text.
    long_text = "<div>" + "<p>Breathing exercises were compared in several small studies of adults.</p>" * 400
    foot = long_text + "<div><b>Last Updated:\u00a0</b>June 2022</div></div>"
    assert dated(page(foot=foot), fetched_at) == (date(2022, 6, 1), "page")
    # An unlabelled month in running text is an event, not a dateline.
    foot = long_text + "<p>The survey ran in June 2022 across the region.</p></div>"
    assert dated(page(foot=foot), fetched_at) == (fetched_at.date(), "first_seen")


def test_todays_date_in_the_masthead_is_not_the_articles_date(fetched_at: datetime) -> None:
    data = (
        '<!DOCTYPE html><html lang="en"><head><title>Tram line extended</title></head><body>'
        '<header><p id="todays-date-box"><strong>Saturday</strong>, June 1, 2024</p></header>'
        "<article><h1>Tram line extended</h1><p>By the city desk</p><div>12.05.2024</div>"
        f"{BODY}</article></body></html>"
    ).encode()
    article = extract_html(data, url=URL, fetched_at=fetched_at)
    assert (article.date, article.date_source) == (date(2024, 5, 12), "page")
    assert article.paragraphs[-1].startswith("Residents along the planned route")
    # A large element whose class merely mentions "today" and "date" (a page wrapper) stays.
    wrapped = data.replace(b"<body>", b'<body><div class="today-update-dates">').replace(
        b"</body>", b"</div></body>"
    )
    assert extract_html(wrapped, url=URL, fetched_at=fetched_at).date == date(2024, 5, 12)


def test_labelled_month_needs_a_label_right_before_it() -> None:
    assert labelled_month("Share this. Last Updated:\u00a0 June 2022. Print") == date(2022, 6, 1)
    assert labelled_month("Posted on Sept. 2019 by the desk") == date(2019, 9, 1)
    assert labelled_month("The survey ran in June 2022 across the region.") is None
    assert labelled_month("Updated June 20222") is None
