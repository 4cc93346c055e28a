"""Bad input never runs (property-based).

Hypothesis generates hundreds of bad command lines — wrong types, values out of range, unknown
keys (with and without Hydra's `+`/`++`), unknown scenarios/regions/groups, self-contradictory
settings, broken reported-figures files, bad values inside sweeps, unparsable overrides — and
throws them at the real entry point, `sim.__main__.main(["run", ...])`, in a fresh working
directory. Each must end with: a non-zero exit, exactly one non-empty line on stderr that starts
with `sim:` and names the field (or file and line), no traceback, nothing created. Values are
derived from the schema in `sim.config`, so a field added there is attacked the day it is added.
A few real subprocess calls check the same from the shell, where Python warnings would show.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import shutil
import tempfile
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from conftest import leaf_fields, run_sim
from sim.__main__ import main
from sim.commands.run import CONFIG_DIR, GROUPS, options
from sim.core.schema import SimConfig
from sim.core.figures import COLUMNS, DEFAULT_PATH, KINDS, REGIONS, TIERS, USES

# keeps any run that slipped through pre-flight short (and the test then fails on files written)
BASE = ["end_year=2019", "outcomes.report_years=[2019]", "replications=1", "progress=false"]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
LEAVES = [leaf for leaf in leaf_fields(SimConfig) if leaf[0] not in ("resume",)]
SCRATCH = Path(tempfile.mkdtemp(prefix="sim-bad-input-"))


def _blocks(model=SimConfig, prefix: str = ""):
    """Every block of the schema with its dotted prefix ('' for the top level)."""
    yield prefix, model
    for name, info in model.model_fields.items():
        tp = info.annotation
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            yield from _blocks(tp, f"{prefix}{name}.")
    if model is SimConfig:
        from sim.core.schema import Cluster

        yield "region.clusters.0.", Cluster


BLOCKS = list(_blocks())


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch():
    yield
    shutil.rmtree(SCRATCH, ignore_errors=True)


def run_main(args: list[str]) -> tuple[object, str, list[Path]]:
    """`python -m sim run ARGS` in-process, in a new empty working directory."""
    cwd = Path(tempfile.mkdtemp(dir=SCRATCH))
    old = os.getcwd()
    err, out = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = main(["run", *args])
            except SystemExit as exc:
                code = exc.code
            except Exception:  # noqa: BLE001 - a crash is what this test exists to catch
                err.write(traceback.format_exc())
                code = "crashed"
    finally:
        os.chdir(old)
    created = sorted(cwd.rglob("*"))
    shutil.rmtree(cwd, ignore_errors=True)
    return code, err.getvalue(), created


def assert_refused(args: list[str], *expected: str, kind: str) -> str:
    code, err, created = run_main(args)
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    assert code not in (0, None), (kind, args, code, err)
    assert len(lines) == 1 and lines[0].strip(), (args, err)
    line = lines[0]
    assert line.startswith("sim: "), line
    for e in expected:
        assert e in line, (args, e, line)
    assert not created, (args, created)
    return line


# ------------------------------------------------------------------------------- strategies
ident = st.from_regex(r"[a-z][a-z0-9_]{0,14}", fullmatch=True)


def _fmt(x: float) -> str:
    return repr(float(x)) if not float(x).is_integer() or abs(x) >= 1e16 else repr(int(x))


def _beyond(tp, bounds: dict) -> st.SearchStrategy:
    """Values just or far outside a numeric field's range (or not finite)."""
    outs = []
    delta = st.one_of(st.just(1), st.floats(1e-3, 1e6)) if tp is float else st.integers(1, 10**6)
    if "ge" in bounds:
        outs.append(delta.map(lambda d, b=bounds["ge"]: b - d))
    if "gt" in bounds:
        outs.append(st.one_of(st.just(bounds["gt"]), delta.map(lambda d, b=bounds["gt"]: b - d)))
    if "le" in bounds:
        outs.append(delta.map(lambda d, b=bounds["le"]: b + d))
    if "lt" in bounds:
        outs.append(st.one_of(st.just(bounds["lt"]), delta.map(lambda d, b=bounds["lt"]: b + d)))
    if tp is float:
        outs.append(st.sampled_from([math.nan, math.inf, -math.inf]))
    return st.one_of(outs)


NUMERIC_BOUNDED = [leaf for leaf in LEAVES if leaf[1] in (int, float) and (leaf[2] or leaf[1] is float)]


@st.composite
def out_of_range(draw):
    path, tp, bounds, _, _ = draw(st.sampled_from(NUMERIC_BOUNDED))
    value = draw(_beyond(tp, bounds))
    text = {math.inf: "inf", -math.inf: "-inf"}.get(value, "nan" if value != value else _fmt(value))
    return [f"{path}={text}"], [path]


def _wrong_values(tp, optional: bool) -> list[str]:
    lists = ["[1,2]", "{a:1}"]
    if tp in (int, float):
        return ["abc", "'1.5'", "true", "false", "one_hundred", *lists] + ([] if optional else ["null"]) + (
            ["1.5", "2.25"] if tp is int else [])
    if tp is bool:
        return ["1", "0", "0.5", "maybe", "'true'", "yes_please", *lists] + ([] if optional else ["null"])
    if tp is str:
        return ["2024", "3.5", "true", *lists] + ([] if optional else ["null"])
    origin = getattr(tp, "__origin__", None)
    if origin is list:
        return ["5", "abc", "{a:1}"]
    if origin is dict:
        return ["5", "abc", "[1,2]"]
    if hasattr(tp, "__args__"):  # Literal
        return ["not_an_option", "7", "[1]"]
    return ["not-a-date", "[1]", "7"]  # dates


@st.composite
def wrong_type(draw):
    path, tp, _, optional, _ = draw(st.sampled_from(LEAVES))
    return [f"{path}={draw(st.sampled_from(_wrong_values(tp, optional)))}"], [path]


@st.composite
def unknown_key(draw):
    prefix, model = draw(st.sampled_from(BLOCKS))
    name = draw(ident)
    assume(name not in model.model_fields and not (prefix == "" and (name in GROUPS or name == "hydra")))
    plus = draw(st.sampled_from(["+", "++", ""]))
    value = draw(st.sampled_from(["1", "abc", "true", "[1]", "0.5"]))
    return [f"{plus}{prefix}{name}={value}"], [f"{prefix}{name}", "unknown key"]


@st.composite
def unknown_option(draw):
    group = draw(st.sampled_from([*GROUPS, "hydra/launcher"]))
    name = draw(ident)
    known = options(group) if group in GROUPS else [p.stem for p in (CONFIG_DIR / group).glob("*.yaml")] + [
        "basic", "joblib", "ray", "ray_aws", "submitit_local", "submitit_slurm"]
    assume(name not in known)
    plus = "+" if group == "scenario" else ""
    return [f"{plus}{group}={name}"], [f"unknown {group} {name!r}", "allowed are"]


@st.composite
def contradiction(draw):
    which = draw(st.sampled_from(["years", "report_year", "srdi", "resume", "hydra_add", "empty_dir"]))
    if which == "years":
        start = draw(st.integers(2001, 2100))
        return [f"start_year={start}", f"end_year={draw(st.integers(2000, start - 1))}"], ["end_year", "start_year"]
    if which == "report_year":
        year = draw(st.integers(1990, 2100).filter(lambda y: not 2018 <= y <= 2019))
        return [f"outcomes.report_years=[2019,{year}]"], ["outcomes.report_years", str(year)]
    if which == "srdi":
        firms = draw(st.integers(1, 5000))
        return [f"region.initial_firms={firms}", f"region.initial_srdi={firms + draw(st.integers(1, 5000))}"], [
            "region.initial_srdi", "initial_firms"]
    if which == "resume":
        return ["resume=true"], ["resume=true needs", "hydra.run.dir"]
    if which == "hydra_add":
        return [f"+hydra.{draw(ident)}=1"], ["Hydra has no such setting"]
    return [f"hydra.run.dir={draw(st.sampled_from(['', "''"]))}"], ["hydra.run.dir"]


@st.composite
def bad_sweep(draw):
    good = draw(st.lists(st.integers(0, 99), min_size=1, max_size=3, unique=True))
    key, bad, expect = draw(st.sampled_from([
        ("seed", "-1", "seed"), ("seed", "abc", "seed"),
        ("policy.loans.credit_supply", "99", "policy.loans.credit_supply"),
        ("replications", "0", "replications"), ("+scenario", "nope", "unknown scenario 'nope'"),
        ("policy.review.validity_years", "2.5", "policy.review.validity_years")]))
    scenarios = options("scenario")
    goods = [str(g % 7 + 1) for g in good] if key != "+scenario" else [scenarios[g % len(scenarios)] for g in good]
    values = goods + [bad]
    values = draw(st.permutations(values))
    return ["-m", f"{key}={','.join(values)}"], [expect, "sweep job"]


@st.composite
def unparsable(draw):
    path = draw(st.sampled_from(LEAVES))[0]
    junk = draw(st.sampled_from(["[1,", "{a:", "1)", "=1", "${", "'unclosed", "[[1]", "1]", "{1:2", "a,b]"]))
    return [f"{path}={junk}"], ["cannot parse override"]


# ------------------------------------------------------------------------- figures file copies
FIGURE_LINES = DEFAULT_PATH.read_text(encoding="utf-8").splitlines()
N_ROWS = len(FIGURE_LINES) - 1


def _bad_cell(column: str):
    return {
        "date": st.sampled_from(["2023-13-01", "2023-02-30", "31/12/2023", "2023-8-1", "", "yesterday", "20231231",
                                 "9999-12-31", "1899-01-01"]),
        "value": st.one_of(st.floats(-1e7, -1e-3).map(lambda v: f"{v:g}"),
                           st.sampled_from(["many", "", "nan", "1,000"])),
        "tier": ident.map(str.upper).filter(lambda t: t not in TIERS) | st.sampled_from(["t3", "", "T4"]),
        "region": ident.filter(lambda r: r not in REGIONS),
        "kind": ident.filter(lambda k: k not in KINDS),
        "use": ident.filter(lambda u: u not in USES),
        "tolerance": st.sampled_from(["0", "1.5", "-0.1", "ten", "", "inf"]),
        "id": st.sampled_from(["Bad Id", "", "x-y", "UPPER"]),
        "seed_file": st.sampled_from(["seed.txt", "", "000_XYZ.txt"]),
        "quote": st.just(""),
        "reading": st.just(""),
    }[column]


@st.composite
def broken_figures(draw):
    """A copy of the real reported-figures file with one defect; expected: file, line, column."""
    rows = list(csv.reader(FIGURE_LINES))
    kind = draw(st.sampled_from(["cell", "cell", "cell", "duplicate_id", "short_row", "header", "contradiction"]))
    k = draw(st.integers(1, N_ROWS))  # data row index; file line k + 1
    expect = [f"line {k + 1}"]
    if kind == "cell":
        column = draw(st.sampled_from(list(COLUMNS)))
        rows[k][COLUMNS.index(column)] = draw(_bad_cell(column))
        expect.append(column)
    elif kind == "duplicate_id":
        assume(k >= 2)
        rows[k][0] = rows[draw(st.integers(1, k - 1))][0]
        expect.append("id: must be unique")
    elif kind == "short_row":
        rows[k] = rows[k][: draw(st.integers(1, len(COLUMNS) - 1))]
        expect.append("row: must have")
    elif kind == "header":
        header = list(rows[0])
        header[draw(st.integers(0, len(header) - 1))] = draw(ident.filter(lambda h: h not in COLUMNS))
        rows[0] = header
        expect = ["line 1", "header"]
    else:  # a second calibrate row, same region/tier/date/kind, another value: a contradiction
        cal = [i for i, r in enumerate(rows) if i and r[COLUMNS.index("use")] == "calibrate"]
        src = rows[draw(st.sampled_from(cal))]
        twin = list(src)
        twin[0] = src[0] + "_twin"
        twin[COLUMNS.index("value")] = str(float(src[COLUMNS.index("value")]) + draw(st.integers(1, 999)))
        rows.append(twin)
        expect = [f"line {len(rows)}", "contradicts"]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path = Path(tempfile.mkdtemp(dir=SCRATCH)) / "figures.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    return [f"reported_figures={path}"], [str(path), *expect]


@pytest.mark.slow
# ------------------------------------------------------------------------------------ tests
@settings(max_examples=60, **SETTINGS)
@given(case=wrong_type())
def test_wrong_type_is_refused(case):
    args, expected = case
    assert_refused(BASE + args, *expected, kind="wrong type")


@pytest.mark.slow
@settings(max_examples=60, **SETTINGS)
@given(case=out_of_range())
def test_out_of_range_is_refused(case):
    args, expected = case
    assert_refused(BASE + args, *expected, kind="out of range / not finite")


@pytest.mark.slow
@settings(max_examples=50, **SETTINGS)
@given(case=unknown_key())
def test_unknown_key_is_refused(case):
    args, expected = case
    assert_refused(BASE + args, *expected, kind="unknown key")


@settings(max_examples=20, **SETTINGS)
@given(case=unknown_option())
def test_unknown_scenario_region_or_group_option_is_refused(case):
    args, expected = case
    assert_refused(BASE + args, *expected, kind="unknown scenario/region/option")


@settings(max_examples=30, **SETTINGS)
@given(case=contradiction())
def test_self_contradictory_settings_are_refused(case):
    args, expected = case
    assert_refused(BASE + args, *expected, kind="self-contradictory")


@settings(max_examples=40, **SETTINGS)
@given(case=broken_figures())
def test_broken_reported_figures_file_is_refused_before_anything_is_written(case):
    args, expected = case
    line = assert_refused(BASE + args, *expected, kind="broken figures file")
    assert line.startswith("sim: reported_figures: "), line


@pytest.mark.slow
@settings(max_examples=20, **SETTINGS)
@given(case=bad_sweep())
def test_one_bad_value_in_a_sweep_stops_the_whole_sweep(case):
    args, expected = case
    assert_refused(args[:1] + BASE + args[1:], *expected, kind="bad value in a sweep")


@settings(max_examples=20, **SETTINGS)
@given(case=unparsable())
def test_unparsable_override_is_refused(case):
    args, expected = case
    assert_refused(BASE + args, *expected, kind="unparsable")


def test_unknown_flag_and_region_name_without_figures():
    assert_refused(BASE + ["--frobnicate"], "unknown option '--frobnicate'", kind="fixed")
    assert_refused(BASE + ["region.name=atlantis"], "region.name", "atlantis", kind="fixed")
    assert_refused(BASE + ["reported_figures=/nonexistent/figures.csv"], "/nonexistent/figures.csv", "not found",
                   kind="fixed")
    # a config group given a number (hypothesis found `scenario=2024`): the group is named, with its options
    assert_refused(BASE + ["scenario=2024"], "scenario:", "baseline", kind="fixed")
    assert_refused(BASE + ["region=7"], "region:", "chongqing", kind="fixed")


# found by running it (issue 13): each one line naming the field, nothing written
FOUND_RUNNING = [
    (["outcomes.report_years=[]"], "outcomes.report_years: List should have at least 1 item"),
    (["outcomes.report_years=[2019,2019]"], "outcomes.report_years: each year at most once"),
    (["region.revenue_median=1e308"], "region.revenue_median: must be below sme_revenue_cap"),
    (["region.sme_revenue_cap=1e308", "region.revenue_median=1e307"], "region.sme_revenue_cap"),
    (["seed=1e3"], "seed: must be a whole number"),
    (["+region.calendar.t2_list_shares=[0.5,0.4]"], "region.calendar.t2_list_shares: must be four shares"),
    (["region.calendar.t2_list_shares=[0.25,0.25,0.25,0.25]"],
     "region.calendar.t2_list_shares: not set in the chosen config files (it takes its default); add it with +"),
    (["region.calendar.t2_batch_quarter={2018:5}"], "region.calendar.t2_batch_quarter: must be a quarter 1-4, or {year: quarter}"),
    (["replications=2.0"], "replications: must be a whole number"),
    (["~policy"], "policy: cannot be deleted"),
    (["~policy.loans"], "policy.loans: cannot be deleted"),
    (["~seed"], "seed: cannot be deleted"),
    (["hydra.job.name=../../x"], "hydra.job.name: must be a plain name"),
    (["--experimental-rerun", "/nonexistent/config.pickle"], "--experimental-rerun /nonexistent/config.pickle: no such file"),
]


@pytest.mark.parametrize("args, expected", FOUND_RUNNING)
def test_what_used_to_crash_or_pass_silently_is_one_line(args, expected):
    assert_refused(args if args[0].startswith("--") else BASE + args, expected, kind="found running")


def test_deleting_a_mapping_and_adding_it_back_is_still_allowed():
    from sim.commands.run import compose_job

    cfg = compose_job(BASE + ["~region.entries_per_year", "+region.entries_per_year={2018:400}"])
    assert cfg.region.entries_per_year == {2018: 400}


# one of each kind through the real shell command: warnings or logging would show here
SHELL_CASES = [
    (["+policy.typo=1"], "policy.typo: unknown key"),
    (["seed=true"], "seed: must be a number"),
    (["policy.loans.credit_supply=inf"], "policy.loans.credit_supply"),
    (["+scenario=nope"], "unknown scenario 'nope'"),
    (["region=mars"], "unknown region 'mars'"),
    (["start_year=2025", "end_year=2020"], "end_year"),
    (["-m", "+scenario=baseline,finance_boost", "seed=1,-3"], "seed"),
    (["-m", "+scenario=baseline,finance_boost", "hydra.launcher.n_jobs=0"], "hydra.launcher.n_jobs: n_jobs == 0"),
    (["-m", "+scenario=baseline,finance_boost", "hydra.launcher.prefer=nope"], "hydra.launcher.prefer: prefer=nope"),
    (["-m", "+scenario=baseline,finance_boost", "hydra.sweep.subdir=same"], "jobs 0 and 1 would both write"),
]


@pytest.mark.parametrize("args, expected", SHELL_CASES)
def test_real_command_line(tmp_path, args, expected):
    r = run_sim(["run", *args[:1], *BASE, *args[1:]] if args[0] == "-m" else ["run", *BASE, *args], tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and expected in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not any(tmp_path.iterdir())


def _one_cell_changed(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the real figures file with ``old`` replaced by ``new`` in its first row holding it."""
    broken = tmp_path.parent / f"{tmp_path.name}-figures.csv"
    lines = list(FIGURE_LINES)
    k = next(i for i, line in enumerate(lines) if i and old in line)
    lines[k] = lines[k].replace(old, new, 1)
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return broken, k + 1


@pytest.mark.parametrize("old, new, why", [
    (",T3,", ",T7,", f"tier: must be one of {', '.join(TIERS)} (got 'T7')"),
    (",2023-12-31,", ",9999-12-31,", "date: must lie between 1990-01-01 and 2100-12-31 (got '9999-12-31')"),
])
def test_broken_figures_file_from_the_shell(tmp_path, old, new, why):
    broken, line = _one_cell_changed(tmp_path, old, new)
    r = run_sim(["run", *BASE, f"reported_figures={broken}"], tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == f"sim: reported_figures: {broken} line {line}: {why}"
    assert not any(tmp_path.iterdir())
