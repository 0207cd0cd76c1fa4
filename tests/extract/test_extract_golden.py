"""Golden files: our own pages (``golden/NAME.html``) and their normalised text (``NAME.expected.txt``).

Each page exercises one difficulty named in the spec: furniture around the article (navigation,
breadcrumbs, share buttons, cookie banner, newsletter box, related list, comments, copyright footer),
pull quotes, teaser cards nested as ``<article>`` in the story, charsets declared in ``<meta>`` only, in
the HTTP header only, or wrongly, Shift_JIS, headings glued to the following sentence, and a page that
carries the article twice.

To regenerate after a deliberate change: ``MONITOR_REGEN_GOLDEN=1 .venv/bin/pytest tests/extract`` and
review the diff.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.extract import extract_html

SITE = "https://www.harbourgazette.example"
CASES: dict[str, dict[str, Any]] = {
    "news_boilerplate": {"url": f"{SITE}/news/local/bridge-repairs?id=77&utm_campaign=x"},
    "pull_quote": {"url": f"{SITE}/culture/recipes"},
    "nested_article": {"url": f"{SITE}/travel/night-trains"},
    "cp1252_meta": {"url": f"{SITE}/business/terrace-fee"},
    "latin1_header": {"url": f"{SITE}/news/ferry", "content_type": "text/html; charset=ISO-8859-1"},
    "shift_jis_meta": {"url": f"{SITE}/ja/asaichi"},
    "wrong_declared": {"url": f"{SITE}/food/rye-prize"},
    "glued_headings": {"url": f"{SITE}/news/wind-farm"},
    "article_twice": {"url": f"{SITE}/science/solar-boat"},
}


def test_every_golden_page_has_a_case(golden_dir: Path) -> None:
    pages = {p.name.removesuffix(".html") for p in golden_dir.glob("*.html")}
    assert pages == set(CASES)
    for name in CASES:
        assert (golden_dir / f"{name}.expected.txt").is_file(), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str, golden_dir: Path, fetched_at: datetime) -> None:
    article = extract_html((golden_dir / f"{name}.html").read_bytes(), fetched_at=fetched_at, **CASES[name])
    expected_path = golden_dir / f"{name}.expected.txt"
    if os.environ.get("MONITOR_REGEN_GOLDEN"):
        expected_path.write_text(article.to_text(), encoding="utf-8", newline="\n")
    assert article.to_text() == expected_path.read_text(encoding="utf-8")
