"""The house rules, checked: layers only point down (import-linter contracts in pyproject.toml), no
import cycle anywhere in ``sim``, no ``sim`` import hidden in a function, short functions, compiled
per-firm rules that take named structures, and no behavioural number written inside a rule."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

from conftest import REPO

SIM = REPO / "sim"
MAX_FUNCTION_LINES = 60
MAX_KERNEL_ARGS = 8
# the per-firm rules: every function in these modules, and every compiled function of the model
# package except the random-number mixer (its constants are the algorithm, sim/model/draws.py).
# MIIT's published thresholds are the rules themselves and stay written in sim/model/rules.py.
RULE_MODULES = ["model/dynamics.py", "model/firms.py", "model/institutions.py", "model/policies"]
LITERALS_ALLOWED = {0, 1}


def _modules() -> list[Path]:
    return sorted(SIM.rglob("*.py"))


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _compiled(fn: ast.FunctionDef) -> bool:
    return any("numba" in ast.unparse(d) for d in fn.decorator_list)


def test_import_linter_contracts_are_kept():
    assert lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True) == 0


def test_no_import_cycle_between_any_two_modules():
    graph = grimp.build_graph("sim")
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules if m.startswith("sim")}
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_no_sim_import_inside_a_function():
    hidden = []
    for path in _modules():
        for fn in _functions(path):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim"):
                    hidden.append(f"{path.relative_to(REPO)}:{node.lineno} in {fn.name}")
                elif isinstance(node, ast.Import) and any(a.name.startswith("sim") for a in node.names):
                    hidden.append(f"{path.relative_to(REPO)}:{node.lineno} in {fn.name}")
    assert not hidden, hidden


def test_functions_are_short_and_kernels_take_named_structures():
    long, wide = [], []
    for path in _modules():
        for fn in _functions(path):
            lines = fn.end_lineno - fn.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                long.append(f"{path.relative_to(REPO)}:{fn.lineno} {fn.name} ({lines} lines)")
            if _compiled(fn) and len(fn.args.args) > MAX_KERNEL_ARGS:
                wide.append(f"{path.relative_to(REPO)}:{fn.lineno} {fn.name} ({len(fn.args.args)} arguments)")
    assert not long, long
    assert not wide, wide


def _rule_functions():
    paths = []
    for m in RULE_MODULES:
        p = SIM / m
        paths += sorted(p.glob("*.py")) if p.is_dir() else [p]
    for path in paths:
        yield from ((path, fn) for fn in _functions(path))
    for path in sorted((SIM / "model").glob("*.py")):
        if path.name != "draws.py" and path not in paths:
            yield from ((path, fn) for fn in _functions(path) if _compiled(fn))


def _literals(fn: ast.FunctionDef) -> list[ast.Constant]:
    return [n for n in ast.walk(fn) if isinstance(n, ast.Constant) and isinstance(n.value, (int, float))
            and not isinstance(n.value, bool) and n.value not in LITERALS_ALLOWED]


def test_no_behavioural_literal_in_a_per_firm_rule():
    found = [f"{path.relative_to(REPO)}:{n.lineno} {fn.name}: {n.value!r}"
             for path, fn in _rule_functions() for n in _literals(fn)]
    assert not found, ("numbers that drive behaviour belong in configs/behaviour/ (or sim/model/units.py "
                       f"for units): {found}")


@pytest.mark.parametrize("planted", ["0.7 * x", "x / 4.0"])
def test_the_literal_check_catches_a_planted_number(planted):
    """The check above can fail: a rule with a literal is found."""
    fn = ast.parse(f"def rule(x):\n    return {planted} + 1\n").body[0]
    assert len(_literals(fn)) == 1
