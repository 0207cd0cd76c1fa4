"""The store stage: SQLAlchemy models, Alembic migrations and the ``Store`` facade.

SQLite is the embedded default, PostgreSQL (psycopg 3) the production database; the same code and the
same migrations serve both.
"""

from monitor.store._ingest import Known
from monitor.store._migrate import head_revision
from monitor.store._search import StoredArticle
from monitor.store._store import Store
from monitor.store._types import (
    AlertListRow,
    AlertRow,
    ApplyReport,
    HitRow,
    NewArticle,
    PollRecord,
    SourceRow,
    SourceSpec,
    SourceUpdate,
    StoreError,
    WatchlistRow,
    WatchlistSpec,
)

__all__ = [
    "AlertListRow",
    "AlertRow",
    "ApplyReport",
    "HitRow",
    "Known",
    "NewArticle",
    "PollRecord",
    "SourceRow",
    "SourceSpec",
    "SourceUpdate",
    "Store",
    "StoreError",
    "StoredArticle",
    "WatchlistRow",
    "WatchlistSpec",
    "head_revision",
]
