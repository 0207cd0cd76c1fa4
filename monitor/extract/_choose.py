"""Choosing the title and the canonical URL among what a page offers.

The title order was measured on 711 real article pages with human-checked titles (see bench/extract.py):
the page's own ``<h1>`` is right most often, *provided* it agrees with what the page declares elsewhere
(the first ``<h1>`` of a page is sometimes the site name or a promo); after that the feed's title, the
JSON-LD headline, then og:title and ``<title>`` without their site suffix.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from courlan.urlutils import extract_domain

from monitor.core.urls import canonical_url
from monitor.extract._meta import PageMeta

__all__ = ["choose_title", "choose_url", "strip_site_suffix"]

_SEPARATORS = re.compile(r"\s+[|\-–—·•»:/]{1,2}\s+")
_TOKEN = re.compile(r"\w+")
_MIN_H1_AGREEMENT = 0.3  # Jaccard overlap of words between an <h1> and the declared title
_MAX_TITLE_CHARS = 300


def _words(text: str) -> set[str]:
    return set(_TOKEN.findall(text.casefold()))


def _agreement(a: str, b: str, b_stripped: str | None) -> float:
    """Word overlap (Jaccard) with ``b``; 1.0 when ``a`` and ``b`` without its site suffix contain one
    another (this also covers scripts written without spaces, where word overlap means nothing)."""
    ka, kb = _key(a), _key(b_stripped)
    if ka and kb and (ka in kb or kb in ka) and min(len(ka), len(kb)) >= 0.5 * max(len(ka), len(kb)):
        return 1.0
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


def _weight(part: str) -> int:
    """Length in words, counting each CJK character as a word (those scripts do not use spaces)."""
    wide = sum(1 for ch in part if "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af")
    return len(part.split()) + wide


def strip_site_suffix(
    title: str | None, *, site_name: str | None = None, url: str | None = None
) -> str | None:
    """``"Headline | Site"`` -> ``"Headline"``.

    A part equal to the site name (or the domain's name) is dropped; otherwise the longest part is kept,
    since site names and section labels are short and headlines are not.
    """
    if not title:
        return title
    parts = [p.strip() for p in _SEPARATORS.split(title) if p.strip()]
    if len(parts) < 2:
        return title
    markers = {m for m in (_key(site_name), _key(_domain_label(url))) if m}
    kept = [p for p in parts if not _is_site_name(_key(p), markers)]
    if not kept:
        return title
    if len(kept) < len(parts):
        return _join_like(title, kept)  # only the site name went: keep the rest as written
    return max(kept, key=_weight)


def _is_site_name(part: str, markers: set[str]) -> bool:
    # "Move.org" vs domain label "move", "The Verge" vs site name "verge": allow a few extra characters.
    return any(marker in part and len(part) <= len(marker) + 4 for marker in markers)


def _join_like(title: str, kept: list[str]) -> str:
    start = title.find(kept[0])
    end = title.find(kept[-1], start) + len(kept[-1])
    return title[start:end].strip() if start >= 0 and end > start else " - ".join(kept)


def _key(text: str | None) -> str:
    return "".join(_TOKEN.findall(text.casefold())) if text else ""


def _domain_label(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    if not host:
        return None
    domain = extract_domain(url)
    if domain:
        return domain.split(".")[0] or None
    labels = [label for label in host.split(".") if label not in ("www", "m", "amp", "mobile")]
    return labels[-2] if len(labels) >= 2 else (labels[0] if labels else None)


def choose_title(meta: PageMeta, *, feed_title: str | None, url: str | None) -> str | None:
    """The article's title (see module docstring for the order)."""
    references = [
        (ref, strip_site_suffix(ref, site_name=meta.site_name, url=url))
        for ref in (feed_title, meta.og_title, meta.html_title, meta.ld_headline)
        if ref
    ]
    best, best_score = None, 0.0
    for h1 in meta.h1s:
        if len(h1) > _MAX_TITLE_CHARS:
            continue
        score = max((_agreement(h1, ref, stripped) for ref, stripped in references), default=0.0)
        if score > best_score:
            best, best_score = h1, score
    if best is not None and best_score >= _MIN_H1_AGREEMENT:
        return best
    for candidate in (
        feed_title,
        meta.ld_headline,
        strip_site_suffix(meta.og_title, site_name=meta.site_name, url=url),
        strip_site_suffix(meta.html_title, site_name=meta.site_name, url=url),
        meta.h1s[0] if meta.h1s else None,
    ):
        if candidate and len(candidate) <= _MAX_TITLE_CHARS:
            return candidate
    return None


def _registered_domain(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return extract_domain(url) or parts.hostname.lower()


def choose_url(canonical: str | None, fetched_url: str) -> str:
    """``rel=canonical`` when it is on the fetched page's registered domain, else the fetched URL.

    A page served from disk (``file://``, the demo) accepts any http(s) canonical: it is a saved copy of
    that page. Either way the result goes through ``monitor.core.urls.canonical_url`` (tracking
    parameters, case, default ports, fragment).
    """
    if canonical:
        absolute = urljoin(fetched_url, canonical)
        scheme = urlsplit(absolute).scheme
        if scheme in ("http", "https"):
            if urlsplit(fetched_url).scheme == "file":
                return canonical_url(absolute)
            mine, theirs = _registered_domain(fetched_url), _registered_domain(absolute)
            if mine and mine == theirs:
                return canonical_url(absolute)
    return canonical_url(fetched_url)
