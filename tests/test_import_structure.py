"""Import structure (issue 13): dependencies point one way and never around a loop.

The layers, lowest first: nyiops (the ground: settings, Celery, roles, access decorators;
imports no app) ← audit ← customers ← hosts ← {alerts, operations}. A module may import its
own app and the layers below it, never one above. Entry points (views, URLconfs, Celery
tasks, services, admin, app configs, management commands) compose apps, as CONVENTIONS §3
allows for tasks and services: they may import upward, but stay out of nyiops.

No two modules import each other, directly or around a longer loop, in the apps or in
fleetsim; imports inside functions and under TYPE_CHECKING count too, since hiding an
import there is how the old cycles were dodged.

Two more structural rules live here: every module has a docstring, and every URL name is
written out (no names made in a loop), so grepping a name finds its URL.

Each check is also fed the real tree plus one bad line, to show that it fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "nyiops": 0,
    "audit": 1,
    "customers": 2,
    "hosts": 3,
    "alerts": 4,
    "operations": 4,
    "portal": 5,
    "api": 5,
}
PACKAGES = (*LAYERS, "fleetsim")
ENTRY_POINTS = {"views", "urls", "tasks", "services", "admin", "apps"}


def sources() -> dict[str, tuple[str, bool]]:
    """module name -> (source text, is a package __init__), for every project module."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_init = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_init else parts)
            found[name] = (path.read_text(), is_init)
    return found


def import_graph(modules: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """module -> the project modules it imports (`from pkg import sub` counts as pkg.sub)."""
    graph = {}
    for name, (text, is_init) in modules.items():
        package = name if is_init else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else base)
        resolved = set()
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                resolved.add(target)
        graph[name] = resolved
    return graph


def is_entry_point(module: str) -> bool:
    parts = module.split(".")
    return parts[-1] in ENTRY_POINTS or ("commands" in parts[:-1] and "management" in parts)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(graph.items()):
        app = module.split(".")[0]
        if app not in LAYERS:
            continue
        for target in sorted(targets):
            other = target.split(".")[0]
            if other not in LAYERS or other == app:
                continue
            if app == "nyiops":
                bad.append(f"{module} -> {target} (nyiops imports no app)")
            elif LAYERS[other] > LAYERS[app] and not is_entry_point(module):
                bad.append(f"{module} -> {target}")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that reach each other through imports (Tarjan's SCCs, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def with_line(modules, module: str, line: str) -> dict:
    text, is_init = modules[module]
    return {**modules, module: (text + "\n" + line + "\n", is_init)}


# --- the tree as it is ------------------------------------------------------------------


def test_every_import_points_down_the_layers():
    assert upward_imports(import_graph(sources())) == []


def test_no_modules_import_each_other_around_a_loop():
    assert cycles(import_graph(sources())) == []


def test_the_graph_sees_the_project():
    graph = import_graph(sources())

    assert "hosts.health.verdicts" in graph["hosts.health.zpool"]
    assert "hosts.polling.plan" in graph["hosts.polling.store.common"]
    assert "fleetsim.rng" in graph["fleetsim.backups"]


# --- the checks fail when they should ---------------------------------------------------


def test_a_rule_module_importing_a_higher_app_is_caught():
    modules = with_line(sources(), "hosts.health.verdicts", "from alerts.models import Alert")

    assert upward_imports(import_graph(modules)) == ["hosts.health.verdicts -> alerts.models"]


def test_nyiops_importing_any_app_is_caught_even_from_a_view():
    modules = with_line(sources(), "nyiops.views", "from customers.scoping import customer_of")

    assert upward_imports(import_graph(modules)) == [
        "nyiops.views -> customers.scoping (nyiops imports no app)"
    ]


def test_an_import_hidden_in_a_function_still_counts():
    modules = with_line(
        sources(), "customers.scoping", "def f():\n    from hosts.models import Host"
    )

    assert upward_imports(import_graph(modules)) == ["customers.scoping -> hosts.models"]


def test_a_cycle_between_two_modules_is_caught():
    # detail imports charts; charts importing detail back closes the loop.
    modules = with_line(
        sources(), "hosts.dashboard.charts", "from hosts.dashboard.detail import series"
    )

    assert cycles(import_graph(modules)) == [["hosts.dashboard.charts", "hosts.dashboard.detail"]]


def test_a_longer_cycle_through_type_checking_is_caught():
    modules = with_line(
        sources(),
        "hosts.polling.plan",
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from hosts.polling.run import poll_host",
    )

    [group] = cycles(import_graph(modules))
    assert {"hosts.polling.plan", "hosts.polling.run"} <= set(group)


def test_every_module_says_what_it_owns_in_a_docstring():
    """CONVENTIONS: every module opens with a docstring saying what it owns (and, where it
    matters, what it must not do); migrations are generated and exempt."""
    undocumented = [
        name for name, (text, _init) in sources().items() if not ast.get_docstring(ast.parse(text))
    ]

    assert undocumented == []


def generated_url_names(modules) -> list[str]:
    """`name=` of every path() in a URLconf that is not a plain string: a name built in a
    loop or an f-string cannot be found by grepping for it."""
    bad = []
    for module, (text, _init) in sorted(modules.items()):
        if module.rpartition(".")[2] != "urls":
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("path", "re_path"):
                for keyword in node.keywords:
                    if keyword.arg == "name" and not isinstance(keyword.value, ast.Constant):
                        bad.append(f"{module}:{node.lineno}")
    return bad


def test_every_url_name_is_written_out():
    assert generated_url_names(sources()) == []


def test_a_url_name_made_in_a_loop_is_caught():
    modules = with_line(
        sources(),
        "hosts.urls",
        "urlpatterns += [path(f'x/{n}/', views.widget, name=f'x-{n}') for n in ('a', 'b')]",
    )

    assert len(generated_url_names(modules)) == 1
