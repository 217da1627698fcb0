"""The house stays walkable: imports run one way (cli → commands → checks → net/records/headers → model), no
module imports the root command back, no import cycle anywhere in the package, and the rooms stay small.

Every import counts, also the ones inside functions (they run, just later); only imports under
``if TYPE_CHECKING:`` are left out (they never run)."""

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mailcheck"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except what sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports_of(module: str) -> set[str]:
    """The modules of this package that MODULE imports at run time (``from pkg import mod`` names mod)."""
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return {name for name in found if name in MODULES and name != module}


GRAPH = {module: imports_of(module) for module in MODULES}


def _cycle_from(start: str) -> list[str] | None:
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in on_path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        on_path.add(module)
        for target in sorted(GRAPH[module]):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    return visit(start)


def test_no_import_cycle_in_the_package() -> None:
    cycles = {tuple(c) for m in sorted(MODULES) if (c := _cycle_from(m))}
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in sorted(cycles))


def test_nothing_imports_the_root_command_but_main() -> None:
    importers = sorted(m for m, targets in GRAPH.items() if "mailcheck.cli" in targets)
    assert importers == ["mailcheck.__main__"]


def test_imports_run_one_way() -> None:
    # commands never import cli; checks never import commands; the layers under checks never import checks
    lower = ("mailcheck.net", "mailcheck.records", "mailcheck.headers", "mailcheck.render", "mailcheck.model")
    wrong = []
    for module, targets in GRAPH.items():
        for target in targets:
            if module.startswith("mailcheck.checks") and target.startswith(("mailcheck.commands", "mailcheck.cli")):
                wrong.append((module, target))
            if module.startswith(lower) and target.startswith(("mailcheck.checks", "mailcheck.commands")):
                wrong.append((module, target))
    assert not wrong


def test_rooms_stay_small() -> None:
    assert len((PACKAGE / "cli.py").read_text().splitlines()) < 200
    sizes = {p.name: len(p.read_text().splitlines()) for p in (PACKAGE / "commands").glob("*.py")}
    assert max(sizes.values()) < 350, sizes


def test_a_cycle_is_found_when_there_is_one() -> None:
    # Given a graph with a cycle (the detector itself is held to a case it must catch)
    saved = dict(GRAPH)
    try:
        GRAPH["mailcheck.model"] = {*GRAPH["mailcheck.model"], "mailcheck.runner"}
        # Then the cycle through runner → model → runner is found
        cycle = _cycle_from("mailcheck.runner")
        assert cycle is not None and cycle[0] == cycle[-1]
    finally:
        GRAPH.clear()
        GRAPH.update(saved)
