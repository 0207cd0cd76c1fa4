"""The child process of ``_migrate.upgrade_in_child``: ``python -m monitor.store._migrate_child``.

A module of its own (not ``_migrate`` run as ``__main__``, which the package has imported by then) that
upgrades the database named by the environment and exits; what it prints on failure becomes the parent's
``MigrationError``.
"""

from __future__ import annotations

import os

from monitor.store._engine import make_engine
from monitor.store._migrate import URL_ENV, upgrade


def main() -> None:
    engine = make_engine(os.environ[URL_ENV])
    try:
        upgrade(engine)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
