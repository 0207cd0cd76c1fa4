"""Lazy package exports (PEP 562), shared by the packages whose modules are heavy to import.

``parse``, ``extract`` and ``pipeline`` name their public functions in ``__all__`` but import the module
that defines one only when it is first used: a process-pool worker that runs the feed parser never loads
the page extractor, and the event loop's process never loads either. Each package gives a map of name to
home module; the first lookup imports the home and caches the value in the package's namespace.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, homes: Mapping[str, str], namespace: dict[str, Any], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose ``namespace`` is its ``globals()``."""

    def getattr_(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *public})

    return getattr_, dir_
