"""Operations alerts (outbox rows of ``kind="ops"``) as plain channel messages.

A source-health alert has no article and no watchlist; it is rendered into the same ``AlertMessage``
every channel already knows (console, Slack, e-mail, webhook), with the operations wording in the title
and the reason as the one "sentence". The source URL and the reason pass through the log redactor
again here: a feed URL may carry a token, and an error text may quote it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from monitor.core import AlertMessage, AlertWatchlist
from monitor.log import redact_text
from monitor.store import AlertRow

__all__ = ["OPS_SOURCE", "is_ops", "ops_messages", "ops_title"]

OPS_SOURCE = "monitor operations"

_WORDING = {
    "failing": "is failing",
    "silent": "has gone silent",
    "ok": "has recovered",
}


def is_ops(row: AlertRow) -> bool:
    return row.payload.get("kind") == "ops"


def ops_title(source: str, state: str, previous: str | None = None) -> str:
    if state == "ok" and previous == "silent":
        return f"Source {source} publishes again"
    return f"Source {source} {_WORDING.get(state, 'changed health: ' + state)}"


def _day(value: object) -> date | None:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            return None
    return None


def ops_messages(rows: Sequence[AlertRow]) -> list[AlertMessage]:
    """One message per ops row (each is its own event), keyed by its id so retries keep the key."""
    out: list[AlertMessage] = []
    for row in sorted(rows, key=lambda r: r.id):
        p = row.payload
        source = str(p.get("source", "?"))
        state = str(p.get("state", "?"))
        detail = redact_text(str(p.get("detail", "")))
        out.append(
            AlertMessage(
                idempotency_key=f"monitor-ops-{row.id}",
                alert_ids=(row.id,),
                channel=row.channel,
                title=ops_title(source, state, str(p.get("previous") or "")),
                url=redact_text(str(p.get("url", ""))),
                source=OPS_SOURCE,
                published=_day(p.get("at")),
                watchlists=(AlertWatchlist(name="operations", snippet=detail),),
                extra={"attempts": row.attempts, "kind": "ops", "state": state, "source_name": source},
            )
        )
    return out
