"""The reference seed articles (``/work/shared/seeds/*.txt``) normalise without their defects.

Properties, not copies: no duplicate paragraph, no no-break space, no glued heading or sentence, no
furniture line, the title once, every sentence of the article proper kept (compared as word sequences,
so repaired dashes and quotes do not matter). Skipped when the seeds are not on this machine.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest

from monitor.extract import normalize_document
from monitor.extract._paragraphs import paragraph_key

SEEDS = Path("/work/shared/seeds")
SEED_FILES = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
pytestmark = pytest.mark.skipif(not SEED_FILES, reason=f"seed articles not found in {SEEDS}")

# What the test itself (independently of the code under test) calls furniture in the seeds.
FURNITURE = (
    "gtag",
    "Photo Credit",
    "No Comments on",
    "SOURCE:",
    "Related Articles",
    "Leave a comment",
    "Copyright",
    "Subscribe to",
    "Enter your email",
    "Back to Top",
    "research institute",
)
SECTION_END = ("Related Articles", "Leave a comment")
_GLUED = re.compile(r"[a-z][.!?][\"'”’]?[A-Z][a-z]|\b[A-Z][a-z]+ (?:in|of) the [A-Z][a-z]+[A-Z][a-z]+ ")
# Sentence ends, also glued ones ("non-starter.The crisis"); over-splitting is harmless here.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’]?\s*(?=[\"“‘]?[A-Z])")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _words(text: str) -> str:
    text = _CAMEL.sub(" ", unicodedata.normalize("NFC", text))
    return " " + " ".join(re.findall(r"\w+", text.casefold())) + " "


def _proper_lines(raw: str) -> list[str]:
    lines = []
    for line in raw.splitlines():
        if any(marker in line for marker in SECTION_END):
            break
        if line.strip() and not any(marker in line for marker in FURNITURE):
            lines.append(line)
    return lines


@pytest.fixture(params=SEED_FILES, ids=[p.name for p in SEED_FILES])
def seed(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


def test_seed_is_clean(seed: Path, fetched_at: datetime) -> None:
    raw = seed.read_text(encoding="utf-8")
    article = normalize_document(seed.read_bytes(), fetched_at=fetched_at, path=str(seed))
    text = article.to_text()
    lines = text.split("\n")
    assert text.endswith("\n") and "" not in lines[:-1], "blank line"
    assert "\u00a0" not in text and "  " not in text
    assert not any(unicodedata.category(ch) == "Cc" for ch in text.replace("\n", ""))
    keys = [paragraph_key(p) for p in article.paragraphs]
    assert len(keys) == len(set(keys)), "duplicate paragraph"
    assert paragraph_key(article.title) not in keys, "title repeated as a body line"
    for line in lines:
        assert not any(marker in line for marker in FURNITURE), line
        assert not _GLUED.search(line), line
    output_words = _words(text)
    for line in _proper_lines(raw):
        for sentence in _SENTENCE_END.split(line):
            if len(sentence.split()) >= 4:
                assert _words(sentence) in output_words, sentence


def test_seed_004_specific_repairs(fetched_at: datetime) -> None:
    path = SEEDS / "004_fc12bb4fc2921868.txt"
    if not path.is_file():
        pytest.skip("seed 004 not present")
    article = normalize_document(path.read_bytes(), fetched_at=fetched_at, path=str(path))
    assert "Divisions in the West" in article.paragraphs  # the glued heading is its own line
    assert "good meeting — total unanimity" in article.body  # the lost dash is back
    assert article.url == "http://www.koreatimes.co.kr/www/world/2022/01/501_322891.html"
    assert article.date.isoformat() == "2022-01-25"
