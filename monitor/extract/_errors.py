"""The one exception this stage raises on purpose."""

from __future__ import annotations


class ExtractionError(ValueError):
    """Nothing usable could be extracted (empty page, only boilerplate, undecodable bytes).

    A ``ValueError`` so that callers treating bad input generically keep working; the message says what
    was missing, because the daemon logs it next to the article URL and an operator reads it there.
    """
