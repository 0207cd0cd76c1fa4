"""Copy detection and story grouping (issue 7): the pure algorithm with an in-memory window.

* a **copy** is a syndicated or near-identical text: a wire copy with another headline, a re-post with a
  changed footer, a trimmed or updated version. Found with MinHash/LSH over word shingles of the body
  plus an exact-sentence check; the copy points at the first article of its copy group.
* a **story** groups different write-ups of one event: articles that share rare named entities and
  rare title/lede words (IDF learned from the stream) within a time window (72 h by default).
* sentences that recur across many different stories (agency sign-offs, copyright lines) are learned
  as a stop-list and ignored.

Use one :class:`StoryIndex` per process: ``add`` articles in arrival order, ``prune`` the window now and
then, ``save``/``load`` the state across restarts (or ``restore`` stored assignments from the database).
Method, measurements and the labelled evaluation set: ``docs/stories.md`` and ``bench/stories.py``.
"""

from monitor.stories._index import StoryIndex
from monitor.stories._state import write_state
from monitor.stories._types import ArticleRecord, Assignment, Story, StoryConfig, StoryMember

__all__ = [
    "ArticleRecord",
    "Assignment",
    "Story",
    "StoryConfig",
    "StoryIndex",
    "StoryMember",
    "write_state",
]
