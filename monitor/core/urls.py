"""URL canonicalisation: one spelling per article, so that the same story is never stored twice.

Written on ``urllib.parse``, not on courlan's ``normalize_url``, which does not fit: by default it
sorts the query parameters (``?b=2&a=1`` becomes ``?a=1&b=2``; some sites route on their order) and
keeps the fragment, and with ``strict=True`` it drops every parameter outside its own short list
(``?story=123`` and ``?articleid=5`` go, and distinct articles would share one URL). Here only known
tracking parameters go (``utm_*``, ``fbclid``, ``gclid`` and the like), the rest keep their order, and
the fragment always goes.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "_hs", "hsa_", "oly_", "vero_")
_TRACKING_KEYS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mkt_tok",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "cmpid",
        "ncid",
        "sr_share",
        "spm",
        "twclid",
        "ttclid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in _TRACKING_KEYS or lowered.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """Return the canonical spelling of an http(s) URL; other strings (file paths) come back stripped.

    Lower-cases scheme and host, drops default ports, the fragment and tracking parameters, keeps the
    order of the remaining query parameters (some sites route on it) and an empty path becomes ``/``.
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return url
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return url
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username:
        # Credentials never belong in a canonical article URL.
        pass
    path = parts.path or "/"
    query_pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query = urlencode(query_pairs, doseq=True)
    return urlunsplit((scheme, netloc, path, query, ""))


def url_key(url: str) -> str:
    """First 16 hex digits of the SHA-256 of the canonical URL (the seed files' naming scheme)."""
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()[:16]


def host_of(url: str) -> str:
    """The lower-cased host of a URL ("" for paths and URLs without one): what ``source:`` queries match.

    Every new article asks (its ``source:``), so the plain ``http(s)://host[:port]/...`` spelling of a
    canonical URL is read with string splits; anything else (credentials, IPv6 literals, other schemes)
    goes through ``urlsplit``, whose answer the fast path equals (tested)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("http", "https"):
        netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        if not any(c in netloc for c in "@[]\\ \t\r\n"):
            return netloc.split(":", 1)[0].lower()
    return (urlsplit(url).hostname or "").lower()
