"""The outbox's concurrency rules on SQLite and PostgreSQL: atomic claims, fencing tokens, hand-backs."""

from __future__ import annotations

import threading
from datetime import timedelta

from monitor.store import Store, WatchlistSpec
from monitor.store._delivery import Outbox

from .conftest import Env


def _setup(env: Env) -> None:
    env.setup(WatchlistSpec(name="w", query="strike", channels=("a", "b", "c")))


def test_concurrent_claims_from_separate_connections_are_disjoint(env: Env, db_url: str) -> None:
    """Six workers, each with its own engine, claim small batches until the outbox is empty."""
    _setup(env)
    env.enqueue(100)  # 300 rows over three channels
    now = env.clock()
    taken: list[list[int]] = [[] for _ in range(6)]
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work(n: int) -> None:
        store = Store(db_url)
        outbox = Outbox(store)
        try:
            start.wait()
            for k in range(1000):
                channel = (None, "a", "b", "c")[k % 4]
                rows = outbox.claim(channel=channel, now=now, limit=7, lease_s=600, token=f"w{n}-{k}")
                if not rows and outbox.due_channels(now=now) == {}:
                    return
                taken[n].extend(r.id for r in rows)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    everything = [i for ids in taken for i in ids]
    assert len(everything) == 300 and len(set(everything)) == 300
    assert sum(1 for ids in taken if ids) >= 2  # the work really was shared


def test_fencing_token_protects_the_new_owner(env: Env) -> None:
    _setup(env)
    env.enqueue(1)
    outbox = Outbox(env.store)
    now = env.clock()
    a = outbox.claim(channel="a", now=now, limit=10, lease_s=10, token="A")
    assert [r.attempts for r in a] == [1]
    ids = [r.id for r in a]
    assert outbox.claim(channel="a", now=now + timedelta(seconds=9), limit=10, lease_s=10, token="B") == []
    later = now + timedelta(seconds=11)  # A's lease ran out (a slow send): B takes the row over
    b = outbox.claim(channel="a", now=later, limit=10, lease_s=10, token="B")
    assert [r.id for r in b] == ids and b[0].attempts == 2
    assert outbox.renew(ids, token="A", until=later + timedelta(seconds=60)) == set()
    assert outbox.mark_retry(ids, token="A", error="late", next_attempt_at=later) == 0
    assert outbox.mark_failed(ids, token="A", error="late") == 0
    assert outbox.release(ids, token="A") == 0
    assert outbox.renew(ids, token="B", until=later + timedelta(seconds=60)) == set(ids)
    # A's send was accepted after all: delivered is delivered, whoever holds the lease.
    outbox.mark_sent(ids, now=later, external_id=None)
    assert outbox.mark_failed(ids, token="B", error="too late") == 0
    assert env.statuses() == {"sent": 1, "pending": 2}


def test_release_hands_back_without_counting_an_attempt(env: Env) -> None:
    _setup(env)
    env.enqueue(2)
    outbox = Outbox(env.store)
    now = env.clock()
    rows = outbox.claim(channel="b", now=now, limit=10, lease_s=60, token="T")
    assert len(rows) == 2
    later = now + timedelta(seconds=30)
    assert outbox.release([r.id for r in rows], token="T", next_attempt_at=later) == 2
    assert outbox.claim(channel="b", now=now, limit=10, lease_s=60, token="U") == []
    again = outbox.claim(channel="b", now=later, limit=10, lease_s=60, token="U")
    assert [r.attempts for r in again] == [1, 1]


def test_hold_turns_only_due_unclaimed_immediate_rows_into_digest_rows(env: Env) -> None:
    _setup(env)
    env.enqueue(3)
    outbox = Outbox(env.store)
    now = env.clock()
    claimed = outbox.claim(channel="a", now=now, limit=1, lease_s=60, token="T")
    assert len(claimed) == 1
    assert outbox.hold(channel="a", now=now) == 2
    assert outbox.hold(channel="a", now=now) == 0
    modes = {(r.channel, r.mode) for r in outbox.listing()}
    assert modes == {("a", "immediate"), ("a", "digest"), ("b", "immediate"), ("c", "immediate")}
    assert outbox.summary(now=now).waiting_digest == 2
