"""Per-fetch settings and the validators remembered from the previous fetch.

Both are frozen so that one policy object can be shared by thousands of concurrent fetches, and hashable
so that the fetcher can keep one connection pool per network policy (a connection admitted under a lax
policy must never be reused by a fetch under a strict one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DEFAULT_USER_AGENT", "FetchPolicy", "Validators"]

DEFAULT_USER_AGENT = "monitor/0.1 (+https://github.com/monitor-news/monitor)"


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Limits and permissions for one fetch (global default, or per source).

    ``total_timeout_s`` bounds the whole fetch, redirects and body included, so a server that drips one
    byte a second is cut off. ``allowed_private_hosts`` is a narrow escape hatch next to the blanket
    ``allow_private_networks``: host names (lower case, or IP literals) that may resolve to non-public
    addresses, e.g. one intranet feed, without opening every private address to every redirect.
    Cloud-metadata addresses (169.254.169.254 and friends) are refused whatever the policy says.
    """

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout_s: float = 10.0
    total_timeout_s: float = 30.0
    max_wire_bytes: int = 10 * 1024 * 1024
    max_decoded_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    allow_private_networks: bool = False
    allow_local_files: bool = False
    allowed_private_hosts: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.connect_timeout_s <= 0 or self.total_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_wire_bytes < 0 or self.max_decoded_bytes < 0 or self.max_redirects < 0:
            raise ValueError("size and redirect limits must not be negative")
        hosts = frozenset(h.lower().rstrip(".") for h in self.allowed_private_hosts)
        if hosts != self.allowed_private_hosts:
            object.__setattr__(self, "allowed_private_hosts", hosts)


@dataclass(frozen=True, slots=True)
class Validators:
    """What was stored after the previous successful fetch of a source.

    ``etag``/``last_modified`` become If-None-Match / If-Modified-Since; ``body_hash`` catches the many
    servers that ignore both and resend an identical body.
    """

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
