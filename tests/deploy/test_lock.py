"""requirements.lock: the image installs exactly the runtime dependencies the tests ran with.

The closure is computed from pyproject.toml's [project.dependencies] and the metadata of what is
installed in this venv, so adding, dropping or upgrading a dependency without `bash deploy/lock.sh`
fails here, before an image is built with a different set.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy._files import ROOT

LOCK = ROOT / "requirements.lock"
REGENERATE = "run `bash deploy/lock.sh` to regenerate requirements.lock"
_ENTRY = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?P<rest>(?:\s*\\\n\s+--hash=\S+)*)", re.M
)


def _lock() -> dict[str, tuple[str, list[str]]]:
    text = LOCK.read_text(encoding="utf-8")
    return {
        canonicalize_name(m["name"]): (m["version"], re.findall(r"--hash=(\S+)", m["rest"]))
        for m in _ENTRY.finditer(text)
    }


def _runtime_closure() -> dict[str, set[str]]:
    """Every distribution the project needs at run time (name -> extras asked of it)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    needed: dict[str, set[str]] = {}
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        before = needed.get(name)
        if before is not None and set(req.extras) <= before:
            continue
        needed[name] = (before or set()) | set(req.extras)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            raise AssertionError(f"{name} is required but not installed: pip install -e '.[dev]'") from None
        for raw in dist.requires or []:
            dep = Requirement(raw)
            extras = needed[name] or {""}
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras):
                todo.append(dep)
    return needed


def test_lock_pins_the_runtime_closure_at_the_tested_versions() -> None:
    lock = _lock()
    closure = _runtime_closure()
    assert lock, "requirements.lock has no pinned entry"
    missing = sorted(set(closure) - set(lock))
    assert not missing, f"not in requirements.lock: {missing}; {REGENERATE}"
    stray = sorted(set(lock) - set(closure))
    assert not stray, f"requirements.lock pins packages nothing needs: {stray}; {REGENERATE}"
    drift = {n: (lock[n][0], md.version(n)) for n in closure if lock[n][0] != md.version(n)}
    assert not drift, f"lock vs installed versions differ: {drift}; {REGENERATE}"


def test_every_pin_carries_hashes_and_the_lock_names_no_index() -> None:
    lock = _lock()
    unhashed = sorted(n for n, (_v, hashes) in lock.items() if not hashes)
    assert not unhashed, f"--require-hashes would refuse: {unhashed}"
    assert all(h.startswith("sha256:") for _v, hashes in lock.values() for h in hashes)
    text = LOCK.read_text(encoding="utf-8")
    # A local index or editable line would make the image build depend on this machine.
    assert not re.search(r"^\s*(-e|--editable|--index-url|--extra-index-url|--find-links|-f)\b", text, re.M)
    assert "monitor" not in lock, "the project itself is installed from the build context, not the lock"


def _imported_distributions() -> dict[str, set[str]]:
    """Third-party distributions the package's modules import (distribution -> importing modules)."""
    providers = md.packages_distributions()
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "monitor").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "monitor" or top in sys.stdlib_module_names:
                    continue
                dists = providers.get(top)
                where = str(path.relative_to(ROOT))
                assert dists, f"{where} imports {top}, which no installed distribution provides"
                found.setdefault(canonicalize_name(dists[0]), set()).add(where)
    return found


def test_every_package_the_code_imports_is_declared_and_locked() -> None:
    closure = _runtime_closure()
    lock = _lock()
    undeclared = {d: sorted(m) for d, m in _imported_distributions().items() if d not in closure}
    assert not undeclared, f"imported but not in pyproject's [project.dependencies]: {undeclared}"
    unlocked = sorted(set(_imported_distributions()) - set(lock))
    assert not unlocked, f"imported but not in requirements.lock: {unlocked}; {REGENERATE}"
