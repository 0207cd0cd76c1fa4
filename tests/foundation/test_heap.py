"""``settle_heap`` (run after the daemon's start-up) freezes what is alive, after collecting garbage."""

from __future__ import annotations

import gc
import weakref

from monitor.core.heap import settle_heap


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_settle_collects_garbage_then_freezes_the_rest() -> None:
    gc.unfreeze()
    try:
        garbage = weakref.ref(_Cycle())  # reachable only from itself: only the cyclic collector frees it
        alive = _Cycle()
        assert garbage() is not None
        settle_heap()
        assert garbage() is None  # collected before the freeze, not kept forever
        assert gc.get_freeze_count() > 0
        assert all(o is not alive for o in gc.get_objects())  # frozen: out of the collector's scans
    finally:
        gc.unfreeze()
