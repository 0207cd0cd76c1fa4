"""What the match stage is given: watchlists (``WatchlistSpec``) and articles (``Document``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Document", "WatchlistSpec", "normalize_host", "normalize_language"]


@dataclass(frozen=True, slots=True)
class WatchlistSpec:
    """One watchlist as the engine needs it.

    ``synonyms`` are groups of equivalent spellings (``("Kyiv", "Kiev", "Київ")``): a query term or
    phrase equal to a member matches any member of its group.
    """

    id: int
    name: str
    query: str
    synonyms: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    """An article to match: ``source`` is the host name of its URL ("example.com"), ``language`` a tag."""

    title: str
    body: str
    source: str = ""
    language: str | None = None


def normalize_host(value: str) -> str:
    """``https://WWW.Example.com:443/x`` → ``www.example.com``; a bare host is lower-cased."""
    host = value.strip().lower().split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):  # IPv6 literal
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0].rstrip(".")


def normalize_language(value: str | None) -> str:
    """``pt_BR`` → ``pt-br``; ``None`` → ``""``."""
    return (value or "").strip().lower().replace("_", "-")
