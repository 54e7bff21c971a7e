"""fleetsim's modules import each other without cycles (late imports inside functions count)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "fleetsim"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every fleetsim module that ``path`` imports, wherever the import statement is."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                candidate = f"{base}.{a.name}"
                found.add(candidate if candidate in modules else base)
    return {m for m in found if m in modules and m != name}


def test_no_import_cycles_inside_fleetsim():
    files = sorted(PKG.rglob("*.py"))
    modules = {module_name(f) for f in files}
    graph = {module_name(f): imports_of(f, modules) for f in files}
    # a package importing its own submodules to register them is not a cycle: the
    # submodules import siblings (``.base``), never the package's __init__ itself
    for name, deps in graph.items():
        deps.discard(name.rsplit(".", 1)[0])
    cycles = []

    def visit(node, stack, done):
        if node in stack:
            cycles.append([*stack[stack.index(node) :], node])
            return
        if node in done:
            return
        done.add(node)
        for dep in sorted(graph[node]):
            visit(dep, [*stack, node], done)

    seen: set[str] = set()
    for start in sorted(graph):
        visit(start, [], seen)
    assert cycles == []
