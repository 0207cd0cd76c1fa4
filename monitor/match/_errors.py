"""The one exception the query language raises, shaped for a terminal.

Users write queries by hand, in a config file or on the command line, so a syntax error must say *where*
and *what*: ``render()`` repeats the query and puts a caret under the offending character.
"""

from __future__ import annotations

__all__ = ["QuerySyntaxError"]


class QuerySyntaxError(ValueError):
    """A query (or a synonym of a watchlist) that cannot be compiled.

    ``position`` is a 0-based character offset into ``query``; ``problem`` is a short lower-case phrase
    ("unbalanced parenthesis"). When raised by ``Engine.build`` the watchlist is named as well.
    """

    def __init__(
        self,
        query: str,
        position: int,
        problem: str,
        *,
        watchlist_id: int | None = None,
        watchlist_name: str | None = None,
    ) -> None:
        self.query = query
        self.position = max(0, min(position, len(query)))
        self.problem = problem
        self.watchlist_id = watchlist_id
        self.watchlist_name = watchlist_name
        super().__init__(self._headline())

    def _headline(self) -> str:
        text = f"{self.problem} at {self.position}"
        if self.watchlist_name is not None or self.watchlist_id is not None:
            text = f"watchlist {self.watchlist_name!r} (id {self.watchlist_id}): {text}"
        return text

    def for_watchlist(self, watchlist_id: int, name: str) -> QuerySyntaxError:
        """The same error, naming the watchlist it came from (``Engine.build`` uses it)."""
        return QuerySyntaxError(
            self.query, self.position, self.problem, watchlist_id=watchlist_id, watchlist_name=name
        )

    def render(self) -> str:
        """Three lines: the problem and its position, the query, and a caret under the position.

        Tabs and line breaks in the query are shown as spaces so that the caret stays aligned.
        """
        shown = "".join(" " if c in "\t\r\n\v\f" else c for c in self.query)
        return f"{self._headline()}\n  {shown}\n  {' ' * self.position}^"

    def __reduce__(self) -> tuple[object, ...]:  # keep pickling (thread/process pools) working
        return (
            _rebuild,
            (self.query, self.position, self.problem, self.watchlist_id, self.watchlist_name),
        )


def _rebuild(
    query: str, position: int, problem: str, watchlist_id: int | None, watchlist_name: str | None
) -> QuerySyntaxError:
    return QuerySyntaxError(
        query, position, problem, watchlist_id=watchlist_id, watchlist_name=watchlist_name
    )
