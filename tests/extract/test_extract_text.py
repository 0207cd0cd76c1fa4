"""normalize_text / normalize_document: the plain-text path and the HTML/text dispatcher."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.extract import ExtractionError, normalize_document, normalize_text

BODY = "Moscow on Tuesday accused the United States of ratcheting up tensions over Ukraine."


def test_reference_header_is_used(fetched_at: datetime) -> None:
    text = f"Russia says US troop alert escalating tensions\n20220125\nhttp://example.com/a?utm_source=x\n{BODY}\n"
    article = normalize_text(text, fetched_at=fetched_at)
    assert article.title == "Russia says US troop alert escalating tensions"
    assert (article.date, article.date_source) == (date(2022, 1, 25), "text")
    assert article.url == "http://example.com/a"
    assert article.paragraphs == (BODY,)
    assert article.extractor == "text"


def test_first_line_is_the_title_without_header(fetched_at: datetime) -> None:
    article = normalize_text(f"A headline\n\n{BODY}", fetched_at=fetched_at, url="https://example.com/x")
    assert article.title == "A headline"
    assert article.paragraphs == (BODY,)
    assert (article.date, article.date_source) == (fetched_at.date(), "first_seen")


def test_furniture_before_the_title_is_skipped(fetched_at: datetime) -> None:
    text = (
        f"!-- Google tag (gtag.js) -->\n\nThe real headline\n\nSeptember 28, 2021\nThe real headline\n{BODY}"
    )
    article = normalize_text(text, fetched_at=fetched_at)
    assert article.title == "The real headline"
    assert (article.date, article.date_source) == (date(2021, 9, 28), "text")
    assert article.paragraphs == (BODY,)


def test_explicit_arguments_win(fetched_at: datetime) -> None:
    published = datetime(2022, 1, 25, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    text = f"Old title\n20200101\nhttp://example.com/old\n{BODY}"
    article = normalize_text(
        text, fetched_at=fetched_at, url="https://example.com/new", title="New title", published=published
    )
    assert article.title == "New title"
    assert article.url == "https://example.com/new"
    # The publisher's own calendar date, not the UTC one (which would be 2022-01-26).
    assert (article.date, article.date_source) == (date(2022, 1, 25), "feed")


def test_url_date_when_text_has_none(fetched_at: datetime) -> None:
    article = normalize_text(
        f"Title\n{BODY}", fetched_at=fetched_at, url="https://example.com/2023/05/17/story"
    )
    assert (article.date, article.date_source) == (date(2023, 5, 17), "url")


def test_dates_after_the_fetch_are_ignored(fetched_at: datetime) -> None:
    future = datetime(2030, 1, 1, tzinfo=UTC)
    text = f"Title\n20300101\nhttps://example.com/2031/01/01/x\n{BODY}"
    article = normalize_text(text, fetched_at=fetched_at, published=future)
    assert (article.date, article.date_source) == (fetched_at.date(), "first_seen")


def test_missing_url_never_leaves_a_blank_line(fetched_at: datetime) -> None:
    article = normalize_text(f"Title\n{BODY}", fetched_at=fetched_at)
    assert article.url == "about:blank"
    assert "\n\n" not in article.to_text()


@pytest.mark.parametrize("text", ["", "\n\n  \n", "Only a title line", "Share this article\nAdvertisement"])
def test_nothing_usable_raises(text: str, fetched_at: datetime) -> None:
    with pytest.raises(ExtractionError):
        normalize_text(text, fetched_at=fetched_at)


def test_document_sniffs_plain_text(fetched_at: datetime, tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    data = f"Headline\n{BODY}\n".encode()
    article = normalize_document(data, fetched_at=fetched_at, path=str(path))
    assert article.extractor == "text"
    assert article.url == path.absolute().as_uri()


def test_document_sniffs_html(fetched_at: datetime, golden_dir: Path) -> None:
    data = (golden_dir / "pull_quote.html").read_bytes()
    article = normalize_document(data, fetched_at=fetched_at, url="https://example.com/recipes")
    assert article.extractor != "text"
    assert article.title == "Library opens its archive of handwritten recipes"


def test_document_media_type_decides(fetched_at: datetime) -> None:
    data = f"Why the <html> tag matters\n{BODY}".encode()  # would be sniffed as HTML without a media type
    as_text = normalize_document(data, fetched_at=fetched_at, content_type="text/plain; charset=utf-8")
    assert (as_text.extractor, as_text.title) == ("text", "Why the <html> tag matters")


def test_document_decodes_legacy_text(fetched_at: datetime) -> None:
    data = "Café headline\nLe café a ouvert ses portes à Zoë et à ses amis ce matin.\n".encode("cp1252")
    article = normalize_document(data, fetched_at=fetched_at, content_type="text/plain; charset=windows-1252")
    assert article.title == "Café headline"
    assert article.paragraphs == ("Le café a ouvert ses portes à Zoë et à ses amis ce matin.",)
