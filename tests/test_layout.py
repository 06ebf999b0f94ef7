"""The tree is the architecture: the import graph has no cycles and follows DESIGN.md's
dependency rules (service → router ← training; families import each other's facades).

Every import counts — at module level, inside functions and under ``TYPE_CHECKING`` — because
a cycle hidden in a function is still a cycle in the design.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LIBRARIES = ("router", "service", "training")
# Root modules every family may import by name; everything else is reached through a facade.
SHARED = {"router.types", "router.errors", "router.metrics", "router.tokens", "router.redis_client"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for lib in LIBRARIES for p in sorted((REPO / lib).rglob("*.py"))}


def imports(name: str) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in ``name``. ``from pkg import sub`` names the
    submodule ``pkg.sub`` when there is one, else the package (its facade)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in MODULES else base), node.lineno


GRAPH = {
    name: sorted({target for target, _ in imports(name) if target in MODULES}) for name in MODULES
}


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (or a self-import): Tarjan."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def family(name: str) -> str:
    """``router.cache.verify.profile`` → ``router.cache``; a root module is its own family."""
    parts = name.split(".")
    if parts[0] != "router" or len(parts) == 1:
        return parts[0]
    if len(parts) == 2 and MODULES[name].name != "__init__.py":
        return name  # a root module: types, errors, metrics, tokens, core
    return ".".join(parts[:2])


def test_the_finder_sees_the_tree() -> None:
    assert {"router.core", "router.cache.verify.verifier", "service.app", "training.fit"} <= set(
        MODULES
    )
    assert "router.cache" in GRAPH["router.core"]
    assert cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


def test_no_cycles_between_families() -> None:
    """Families of ``router`` depend on each other in one direction only (the root
    ``router/__init__`` and ``core`` sit above them all)."""
    top = {"router", "router.core"}
    graph: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        if not name.startswith("router.") or family(name) in top:
            continue
        graph.setdefault(family(name), set()).update(
            family(t) for t in targets if family(t) != family(name) and family(t) not in top
        )
    assert cycles({k: sorted(v) for k, v in graph.items()}) == []


def test_router_imports_neither_service_nor_training() -> None:
    bad = [
        (name, target)
        for name, targets in GRAPH.items()
        if name.split(".")[0] == "router"
        for target in targets
        if target.split(".")[0] in ("service", "training")
    ]
    assert bad == []


def test_providers_depend_only_on_types_and_errors() -> None:
    bad = [
        (name, target)
        for name, targets in GRAPH.items()
        if family(name) == "router.providers"
        for target in targets
        if family(target) != "router.providers" and target not in ("router.types", "router.errors")
    ]
    assert bad == []


def test_families_reach_each_other_through_facades() -> None:
    """Outside its own family, a module of router, service or training imports a family's
    package (its facade), the public ``router``, or a shared root module — never a module
    inside another family."""
    bad = []
    for name in MODULES:
        for target, line in imports(name):
            if not target.startswith("router.") or family(target) == family(name):
                continue
            facade = target == family(target) or target in SHARED or target == "router.core"
            if not facade:
                bad.append(f"{MODULES[name].relative_to(REPO)}:{line} imports {target}")
    assert bad == []


def test_service_and_training_use_the_public_api_and_the_facades() -> None:
    """service/ and training/ name no module inside a family, nor ``router.core``."""
    bad = [
        f"{MODULES[name].relative_to(REPO)}:{line} imports {target}"
        for name in MODULES
        if family(name) in ("service", "training")
        for target, line in imports(name)
        if target.startswith("router.")
        and (target != family(target) or target == "router.core")
        and target not in SHARED
    ]
    assert bad == []


def public_names(module: types.ModuleType) -> set[str]:
    return {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not inspect.ismodule(v) and n != "annotations"
    }


FACADES = sorted(
    n for n, p in MODULES.items() if n.startswith("router") and p.name == "__init__.py"
)


@pytest.mark.parametrize("name", FACADES)
def test_a_facade_exports_exactly_its_all(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    assert set(exported) == public_names(module)


def test_the_public_api() -> None:
    import router
    from router import errors

    tree = {
        n
        for n, v in vars(errors).items()
        if inspect.isclass(v) and issubclass(v, errors.RouterError)
    }
    assert tree <= set(router.__all__), "the whole error tree is public"
    assert {"Router", "load_config", "Config", "ChatRequest", "Decision", "Answer"} <= set(
        router.__all__
    )
