"""The house rules of docs/ARCHITECTURE.md, read from the code's own imports (every import,
also those inside functions and under TYPE_CHECKING): no import circles in the client, and no
import that runs up a floor (core <- mechanics <- service <- faces)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("vault_core", "protocol", "vault_client", "vault_server")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            targets = [mod, *(f"{mod}.{a.name}" for a in node.names)]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def _floor(module: str) -> int:
    if module.startswith(("vault_core", "protocol")):
        return 1
    if module.startswith(("vault_client.cli", "vault_client.app")):
        return 4  # the faces
    if module.startswith("vault_client.service"):
        return 3
    if module.startswith("vault_client"):
        return 2
    return 0  # the server: a house of its own


def test_no_import_runs_up_a_floor() -> None:
    upward = [
        f"{a} -> {b}"
        for a, targets in _graph().items()
        for b in targets
        if _floor(a) and _floor(b) > _floor(a)
    ]
    assert upward == []


def test_client_and_core_never_import_the_server() -> None:
    bad = [
        f"{a} -> {b}"
        for a, targets in _graph().items()
        if not a.startswith("vault_server")
        for b in targets
        if b.startswith("vault_server")
    ]
    assert bad == []


def test_no_import_circles() -> None:
    graph = _graph()
    circles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert circles == []


def test_the_graph_is_read() -> None:
    """A rule that reads nothing would pass whatever the code does."""
    graph = _graph()
    assert "vault_client.sync" in graph["vault_client.service.context"]
    assert "vault_client.service.shares" in graph["vault_client.service.requests"]
    assert "vault_client.service.syncing" in graph["vault_client.cli.owner"]
    assert (
        _floor("vault_client.cli")
        > _floor("vault_client.service.shares")
        > _floor("vault_client.sync.engine")
        > _floor("vault_core.log")
    )
