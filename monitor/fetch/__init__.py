"""Fetch stage: turn a source URL into a ``FetchResult`` (bytes plus HTTP metadata), safely.

Safe means: bounded in time (connect and total timeouts), in size (wire and decoded caps, bomb-proof
decoding), in concurrency (global and per-host caps), and in reach (SSRF guard on every connection,
redirects included). Polite means: conditional GET, a User-Agent naming the project, Retry-After honoured
through ``FetchError.retry_after_s``.
"""

from monitor.fetch._errors import FetchError
from monitor.fetch._headers import body_hash, parse_max_age, parse_retry_after
from monitor.fetch._http import Fetcher, HttpFetcher
from monitor.fetch._netguard import METADATA_ADDRESSES, Resolver, refusal_reason, system_resolver
from monitor.fetch._policy import DEFAULT_USER_AGENT, FetchPolicy, Validators

__all__ = [
    "DEFAULT_USER_AGENT",
    "METADATA_ADDRESSES",
    "FetchError",
    "FetchPolicy",
    "Fetcher",
    "HttpFetcher",
    "Resolver",
    "Validators",
    "body_hash",
    "parse_max_age",
    "parse_retry_after",
    "refusal_reason",
    "system_resolver",
]
