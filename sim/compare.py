"""Compare the jobs of a sweep: outcomes per package, paired differences from a reference, cost per
extra little giant — as a tidy CSV, a Markdown table and an offline HTML report (``sim.report``).

Why paired: replication k of every job is child k of ``SeedSequence(seed)`` (``sim.runner``), so
with the same seed, replication k of two packages lives through the same random draws (common random
numbers). The difference d_k = package_k - reference_k is then policy, not noise, and its interval is
read from the per-replication d_k, which is much narrower than comparing two separate ranges.

The reference of a job is chosen, never invented:
1. ``--baseline JOB`` when given (a job's directory name, number or label);
2. otherwise the finished job of the same setting whose policy is exactly the status quo
   (``configs/policy/status_quo.yaml``), preferring one named ``baseline``, then the lowest number;
3. otherwise the first finished job of that setting, and the report says so in words.
A "setting" is everything that is not policy (region, uncertainties, calibration, years): jobs that
differ there are not compared with each other. Seed and replications are checked, not grouped on:
a different seed breaks the pairing and a different number of replications pairs only the common
ones; both are stated in the report.

``python -m sim compare SWEEP_DIR`` rebuilds all of it from finished job outputs; the Hydra callback
``sim.callbacks.CompareOnMultirunEnd`` calls the same code when a multirun ends.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.errors import InputError
from sim.outputs import COMPLETE, band, is_complete, write_csv, write_text

OUT_DIRNAME = "comparison"
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
STATUS_QUO_FILE = CONFIG_DIR / "policy" / "status_quo.yaml"
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240521  # fixed: the same sweep always gives the same interval

# stocks at the end of the year (yearly.csv)
STOCKS: list[tuple[str, str]] = [
    ("n_T3", "Little giants (T3)"),
    ("n_T2plus", "SRDI SMEs (T2 and above)"),
    ("n_T1plus", "Innovative SMEs (T1 and above)"),
]


def cumulative() -> list[tuple[str, str, str]]:
    """Flows summed from the start year to the report year: (yearly.csv column, label, unit). Imported
    late: the instrument list lives with the model (mesa), which error paths of the CLI need not load."""
    from sim.charts import INSTRUMENT_LABELS
    from sim.institutions import INSTRUMENTS

    return [
        ("lost_review", "Titles lost at review", "titles"),
        ("lost_review_T3", "Little-giant titles lost at review", "titles"),
        ("failed", "Firm failures", "firms"),
        *[(f"spend_{i}", f"Fiscal cost: {INSTRUMENT_LABELS[i]}", "M yuan") for i in INSTRUMENTS],
        ("spend_total", "Fiscal cost: total", "M yuan"),
    ]


COST_PER_GIANT = "cost_per_extra_T3"
COLUMNS = ["job", "package", "reference", "measure", "indicator", "label", "unit", "year", "value", "low",
           "high", "mean", "pairs", "note"]
# keys that make a job's "setting"; the rest (policy and bookkeeping) may differ between compared jobs
NOT_SETTING = {"policy", "scenario", "scenario_title", "progress", "seed", "replications", "outcomes", "resume",
               "reported_figures"}
# overrides that never change results: not used to name jobs (a resumed sweep adds resume=true to some)
NOT_IN_LABEL = {"scenario", "progress", "resume"}


def indicators() -> list[tuple[str, str, str]]:
    """(indicator id, label, unit) in table order; cumulative ids end in ``_cum``."""
    out = [(c, label, "firms") for c, label in STOCKS]
    out += [(f"{c}_cum", label, unit) for c, label, unit in cumulative()]
    return out


# ------------------------------------------------------------------------------------------- jobs
@dataclass
class Job:
    dir: Path
    num: int | None = None
    overrides: list[str] = field(default_factory=list)
    config: dict | None = None
    yearly: pd.DataFrame | None = None
    problem: str | None = None  # why the job is skipped (None: finished and readable)
    label: str = ""

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def scenario(self) -> str:
        if self.config:
            return str(self.config.get("scenario", "?"))
        for o in self.overrides:
            k, _, v = o.partition("=")
            if k.lstrip("+~") == "scenario":
                return v
        return re.sub(r"^\d+_", "", self.name)

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    @property
    def replications(self) -> int:
        return int(self.yearly["replication"].nunique())

    def setting(self) -> str:
        return json.dumps({k: v for k, v in self.config.items() if k not in NOT_SETTING}, sort_keys=True)


def _is_job_dir(d: Path) -> bool:
    return d.is_dir() and d.name != OUT_DIRNAME and not d.name.startswith(".") and (
        (d / ".hydra").is_dir() or (d / "config.yaml").is_file() or (d / COMPLETE).is_file())


def _job_num(d: Path) -> int | None:
    try:
        num = yaml.safe_load((d / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["num"]
        return int(num)
    except Exception:
        m = re.match(r"(\d+)_", d.name)
        return int(m.group(1)) if m else None


def load_job(d: Path) -> Job:
    job = Job(dir=d, num=_job_num(d))
    try:
        job.overrides = [str(o) for o in yaml.safe_load((d / ".hydra" / "overrides.yaml").read_text()) or []]
    except Exception:
        job.overrides = []
    if not is_complete(d):
        job.problem = ("no COMPLETE marker (crashed, killed or still running)" if not (d / COMPLETE).exists() else
                       "COMPLETE marker does not match the files (damaged or partly copied)")
        return job
    try:
        job.config = yaml.safe_load((d / "config.yaml").read_text(encoding="utf-8"))
        job.yearly = pd.read_csv(d / "yearly.csv")
        missing = [c for c in ["replication", "year", *(c for c, _ in STOCKS), *(c for c, _, _ in cumulative())]
                   if c not in job.yearly.columns]
        if missing:
            raise ValueError(f"yearly.csv lacks column(s) {', '.join(missing)}")
        if not isinstance(job.config, dict) or "seed" not in job.config or "policy" not in job.config:
            raise ValueError("config.yaml is not a run's configuration")
    except Exception as exc:
        job.problem = f"unreadable outputs: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        job.config = job.yearly = None
    return job


def expected_jobs(sweep_dir: Path) -> list[list[str]] | None:
    """The jobs Hydra's basic sweeper planned (from multirun.yaml), to list jobs that never started."""
    try:
        hydra_cfg = yaml.safe_load((sweep_dir / "multirun.yaml").read_text())["hydra"]
        if "BasicSweeper" not in str(hydra_cfg.get("sweeper", {}).get("_target_", "")):
            return None
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parsed = OverridesParser.create().parse_overrides(hydra_cfg["overrides"]["task"])
        return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    except Exception:
        return None


def find_jobs(sweep_dir: Path) -> list[Job]:
    """Every job directory of a sweep, finished or not, in job order; bad path -> InputError."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.exists():
        raise InputError(f"{sweep_dir}: no such directory (give a sweep directory, e.g. results/sweeps/<time>)")
    if not sweep_dir.is_dir():
        raise InputError(f"{sweep_dir}: not a directory (give a sweep directory, e.g. results/sweeps/<time>)")
    if (sweep_dir / ".hydra").is_dir() and not (sweep_dir / "multirun.yaml").is_file():
        raise InputError(f"{sweep_dir}: is a single run, not a sweep (give its parent sweep directory, "
                         "or run a sweep with `python -m sim run -m ...`)")
    dirs = sorted(d for d in sweep_dir.iterdir() if _is_job_dir(d))
    if not dirs:
        raise InputError(f"{sweep_dir}: no job directories found (a sweep directory holds <num>_<scenario>/ "
                         "job directories, as written by `python -m sim run -m ...`)")
    jobs = [load_job(d) for d in dirs]
    jobs.sort(key=lambda j: (j.num is None, j.num if j.num is not None else 0, j.name))
    return jobs


def _key(override: str) -> tuple[str, str]:
    k, _, v = override.partition("=")
    return k.lstrip("+~"), v


def label_jobs(jobs: list[Job]) -> None:
    """A short name per job: the scenario plus whatever else the sweep varies (``key=value``)."""
    maps = [dict(_key(o) for o in j.overrides) for j in jobs]
    keys = list(dict.fromkeys(k for m in maps for k in m))
    varying = [k for k in keys if len({m.get(k) for m in maps}) > 1 and k not in NOT_IN_LABEL]
    for j, m in zip(jobs, maps):
        parts = [j.scenario] + [f"{k.removeprefix('policy.')}={m.get(k, '(default)')}" for k in varying]
        j.label = ", ".join(parts)
    seen: dict[str, int] = {}
    for j in jobs:
        seen[j.label] = seen.get(j.label, 0) + 1
    for j in jobs:
        if seen[j.label] > 1:
            j.label = f"{j.label} (job {j.num if j.num is not None else j.name})"


# ------------------------------------------------------------------------------------- reference
def status_quo_policy() -> dict:
    from sim.config import Policy

    return Policy.model_validate(yaml.safe_load(STATUS_QUO_FILE.read_text())).model_dump(mode="json")


def is_status_quo(job: Job, sq: dict) -> bool:
    """Runs the status quo: the ``baseline`` scenario with no policy override (what the user typed), or a
    policy equal to today's ``configs/policy/status_quo.yaml`` (e.g. a lever swept back to its value)."""
    from sim.config import Policy

    keys = [_key(o)[0] for o in job.overrides]
    if job.overrides and job.scenario == "baseline" and not any(k == "policy" or k.startswith("policy.")
                                                                 for k in keys):
        return True
    try:
        return Policy.model_validate(job.config["policy"]).model_dump(mode="json") == sq
    except Exception:
        return False


@dataclass
class Reference:
    job: Job
    why: str  # one sentence for the report
    status_quo: bool


def match_job(jobs: list[Job], name: str) -> Job:
    for j in jobs:
        if name in (j.name, j.label) or (j.num is not None and name == str(j.num)):
            if not j.ok:
                raise InputError(f"--baseline {name}: job {j.name} is not finished ({j.problem})")
            return j
    allowed = ", ".join(j.name for j in jobs if j.ok)
    raise InputError(f"--baseline {name!r}: no such job; allowed are {allowed} (directory name, number or label)")


def choose_references(jobs: list[Job], baseline: str | None = None) -> dict[str, Reference]:
    """The reference of every finished job, by job name (see the module docstring for the rule). Among
    status-quo jobs, one with the job's own seed is preferred, so a sweep over seeds stays paired."""
    ok = [j for j in jobs if j.ok]
    sq = status_quo_policy()
    forced = match_job(jobs, baseline) if baseline else None
    made: dict[str, Reference] = {}  # one Reference per reference job

    def ref(job: Job, why: str, status_quo: bool) -> Reference:
        return made.setdefault(job.name, Reference(job, f"job {job.name} ({job.label}), {why}", status_quo))

    refs: dict[str, Reference] = {}
    for setting in dict.fromkeys(j.setting() for j in ok):
        group = [j for j in ok if j.setting() == setting]
        if forced is not None and forced in group:
            r = ref(forced, "chosen with --baseline", is_status_quo(forced, sq))
            refs.update({j.name: r for j in group})
            continue
        sq_jobs = [j for j in group if is_status_quo(j, sq)]
        if sq_jobs:
            for j in group:
                pool = [s for s in sq_jobs if s.seed == j.seed] or sq_jobs
                best = next((s for s in pool if s.scenario == "baseline"), pool[0])
                refs[j.name] = ref(best, "the job that runs the status-quo policy (configs/policy/status_quo.yaml)",
                                   True)
            continue
        first = group[0]
        missing_sq = [j.name for j in jobs if not j.ok and j.scenario == "baseline"]
        because = (f"the status-quo job {', '.join(missing_sq)} did not finish" if missing_sq else
                   "no job in this sweep runs the status-quo policy (configs/policy/status_quo.yaml)")
        r = ref(first, f"the first finished job, because {because}; differences are against this job, not against "
                "the status quo (rebuild with `python -m sim compare DIR --baseline JOB` to choose another)", False)
        refs.update({j.name: r for j in group})
    return refs


# ------------------------------------------------------------------------------------ statistics
def outcome_frame(job: Job) -> pd.DataFrame:
    """Per replication and year: stocks at year end and flows summed from the start year (``*_cum``)."""
    y = job.yearly.sort_values(["replication", "year"])
    out = y[["replication", "year", *(c for c, _ in STOCKS)]].copy()
    for c, _, _ in cumulative():
        out[f"{c}_cum"] = y.groupby("replication")[c].cumsum()
    return out.set_index(["replication", "year"])


def cost_per_extra(extra_cost: np.ndarray, extra_giants: np.ndarray,
                   interval: float) -> tuple[float, float, float, str]:
    """Incremental cost per extra little giant: mean extra cost / mean extra giants, with a paired
    bootstrap interval over replications. A per-replication ratio is undefined whenever a replication
    gains no giant, so the ratio of means is the estimate; resamples without a gain count as an
    unbounded cost. Returns (value, low, high, note); NaN where there is no finite answer."""
    dc, dg = np.asarray(extra_cost, float), np.asarray(extra_giants, float)
    mg, mc = dg.mean(), dc.mean()
    if mg <= 0:
        return np.nan, np.nan, np.nan, "n/a (no gain)"
    value = mc / mg
    note = "saves money" if mc < 0 else ""
    if len(dg) < 2:
        return value, np.nan, np.nan, note
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx = rng.integers(0, len(dg), size=(BOOTSTRAP_RESAMPLES, len(dg)))
    bg, bc = dg[idx].mean(axis=1), dc[idx].mean(axis=1)
    ratio = np.where(bg > 0, bc / np.where(bg > 0, bg, 1.0), np.inf)
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    low, high = (float(np.quantile(ratio, q, method="inverted_cdf")) for q in (lo_q, hi_q))
    if not np.isfinite(high):
        note = "; ".join(filter(None, [note, "upper bound unbounded (gain not certain)"]))
        high = np.nan
    if not np.isfinite(low):
        low = np.nan
    return value, low, high, note


@dataclass
class Comparison:
    sweep_dir: Path
    jobs: list[Job]
    refs: dict[str, Reference]
    years: list[int]
    rank_year: int
    interval: float
    table: pd.DataFrame
    ranking: pd.DataFrame
    notes: list[str]
    missing: list[str]  # planned jobs that never started
    frames: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)

    @property
    def ok_jobs(self) -> list[Job]:
        return [j for j in self.jobs if j.ok]

    def reference_of(self, job: Job) -> Job:
        return self.refs[job.name].job

    def distinct_refs(self) -> list[Reference]:
        return list({id(r): r for r in self.refs.values()}.values())


def _row(job: Job, ref: Job, measure: str, ind: str, label: str, unit: str, year: int, values: np.ndarray,
         interval: float, pairs: int, note: str = "") -> dict:
    med, lo, hi = band(values, interval)
    return {"job": job.name, "package": job.label, "reference": ref.name, "measure": measure, "indicator": ind,
            "label": label, "unit": unit, "year": year, "value": med, "low": lo, "high": hi,
            "mean": float(np.mean(values)), "pairs": pairs, "note": note}


def _pairing_note(job: Job, ref: Job) -> tuple[str, str | None]:
    """(short note for table rows, sentence for the report or None when the pairing is clean)."""
    if job.seed != ref.seed:
        return ("not paired: different seed",
                f"{job.label}: seed {job.seed} differs from the reference's seed {ref.seed}, so replication k of "
                "the two jobs does not share random draws; its differences mix policy with noise and their "
                "intervals are wider than a paired comparison's.")
    if job.replications != ref.replications:
        n = min(job.replications, ref.replications)
        return (f"paired on {n} common replications",
                f"{job.label}: {job.replications} replications against the reference's {ref.replications}; "
                f"differences pair the {n} replications both have (replication k is the same random "
                "stream whatever the count).")
    return "", None


def build(sweep_dir: Path, baseline: str | None = None, year: int | None = None) -> Comparison:
    """Read a sweep directory and compute every table the report shows."""
    sweep_dir = Path(sweep_dir)
    jobs = find_jobs(sweep_dir)
    label_jobs(jobs)
    ok = [j for j in jobs if j.ok]
    if not ok:
        raise InputError(f"{sweep_dir}: none of its {len(jobs)} job directories is finished (no COMPLETE "
                         "marker); nothing to compare")
    refs = choose_references(jobs, baseline)
    notes: list[str] = []

    ref_jobs = list({r.job.name: r.job for r in refs.values()}.values())
    interval = float(ref_jobs[0].config.get("outcomes", {}).get("interval", 0.9))
    wanted = sorted({int(y) for r in ref_jobs for y in r.config.get("outcomes", {}).get("report_years", [])})
    present = set.intersection(*(set(j.yearly["year"].unique()) for j in ok))
    years = [y for y in wanted if y in present]
    if len(years) < len(wanted):
        notes.append(f"Report year(s) {', '.join(str(y) for y in wanted if y not in present)} are outside the "
                     f"simulated years of some job and are left out.")
    if not years:
        years = [int(max(present))]
        notes.append(f"No report year (outcomes.report_years) lies in the simulated years; the comparison uses "
                     f"the last year every job simulated, {years[0]}.")
    if len({float(j.config.get("outcomes", {}).get("interval", 0.9)) for j in ok}) > 1:
        notes.append(f"Jobs ask for different interval widths (outcomes.interval); the comparison uses "
                     f"{interval:g}, the reference's.")
    if year is not None and year not in years:
        raise InputError(f"--year {year}: not a report year of this sweep; allowed are "
                         f"{', '.join(str(y) for y in years)}")
    rank_year = year if year is not None else years[-1]

    frames = {j.name: outcome_frame(j) for j in ok}
    rows: list[dict] = []
    for j in ok:
        ref = refs[j.name].job
        f = frames[j.name]
        for ind, label, unit in indicators():
            for y in years:
                v = f.xs(y, level="year")[ind].to_numpy()
                rows.append(_row(j, ref, "level", ind, label, unit, y, v, interval, len(v)))
    pairing_sentences = []
    for j in ok:
        ref = refs[j.name].job
        if j is ref:
            continue
        short, sentence = _pairing_note(j, ref)
        if sentence:
            pairing_sentences.append(sentence)
        fj, fr = frames[j.name], frames[ref.name]
        common = sorted(set(fj.index.get_level_values("replication")) & set(fr.index.get_level_values("replication")))
        if not common:
            pairing_sentences.append(f"{j.label}: no replication in common with its reference {ref.label}; "
                                     "no difference is computed.")
            continue
        for y in years:
            a = fj.xs(y, level="year").loc[common]
            b = fr.xs(y, level="year").loc[common]
            d = a - b
            for ind, label, unit in indicators():
                rows.append(_row(j, ref, "difference", ind, label, unit, y, d[ind].to_numpy(), interval,
                                 len(common), short))
            value, low, high, note = cost_per_extra(d["spend_total_cum"].to_numpy(), d["n_T3"].to_numpy(), interval)
            rows.append({"job": j.name, "package": j.label, "reference": ref.name, "measure": "cost_per_extra",
                         "indicator": COST_PER_GIANT, "label": "Fiscal cost per extra little giant",
                         "unit": "M yuan per little giant", "year": y, "value": value, "low": low, "high": high,
                         "mean": value, "pairs": len(common), "note": "; ".join(filter(None, [note, short]))})
    notes.extend(pairing_sentences)
    if not pairing_sentences and len(ok) > 1:
        notes.insert(0, "Every compared job has the same seed and number of replications as its reference "
                        f"({', '.join(sorted({f'seed {j.seed}, {j.replications} replications' for j in ok}))}), "
                        "so every difference is paired replication by replication.")
    table = pd.DataFrame(rows, columns=COLUMNS)
    ranking = _ranking(table, ok, refs, rank_year)
    planned = expected_jobs(sweep_dir)
    missing = []
    if planned is not None:
        have = {j.num for j in jobs}
        missing = [f"job {i} ({' '.join(o)})" for i, o in enumerate(planned) if i not in have]
    return Comparison(sweep_dir, jobs, refs, years, rank_year, interval, table, ranking, notes, missing, frames)


def _ranking(table: pd.DataFrame, ok: list[Job], refs: dict[str, Reference], year: int) -> pd.DataFrame:
    """One row per finished job at ``year``: level and extra little giants, extra cost, cost per extra."""
    t = table[table["year"] == year].set_index(["job", "measure", "indicator"])
    rows = []
    for j in ok:
        ref = refs[j.name].job

        def get(measure: str, ind: str):
            return t.loc[(j.name, measure, ind)] if (j.name, measure, ind) in t.index else None

        lvl = get("level", "n_T3")
        dg, dc = get("difference", "n_T3"), get("difference", "spend_total_cum")
        cpe = get("cost_per_extra", COST_PER_GIANT)
        rows.append({
            "job": j.name, "package": j.label, "reference": ref.name, "is_reference": j is ref,
            "giants": lvl["value"], "giants_low": lvl["low"], "giants_high": lvl["high"],
            "extra_giants": (0.0 if j is ref else np.nan) if dg is None else dg["value"],
            "extra_giants_low": np.nan if dg is None else dg["low"],
            "extra_giants_high": np.nan if dg is None else dg["high"],
            "extra_cost": (0.0 if j is ref else np.nan) if dc is None else dc["value"],
            "extra_cost_low": np.nan if dc is None else dc["low"],
            "extra_cost_high": np.nan if dc is None else dc["high"],
            "cost_per_extra": np.nan if cpe is None else cpe["value"],
            "cost_per_extra_low": np.nan if cpe is None else cpe["low"],
            "cost_per_extra_high": np.nan if cpe is None else cpe["high"],
            "cost_note": ("reference" if j is ref else "not paired") if cpe is None else cpe["note"],
        })
    r = pd.DataFrame(rows)
    # most extra little giants first; among equals, the cheaper per extra giant
    r = r.sort_values(["reference", "extra_giants", "cost_per_extra"], ascending=[True, False, True],
                      na_position="last", kind="stable").reset_index(drop=True)
    r.insert(0, "rank", r.groupby("reference").cumcount() + 1)
    return r


# ------------------------------------------------------------------------------------ formatting
def fmt(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def fmt_signed(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    s = f"{abs(x):,.0f}" if abs(x) >= 100 else f"{abs(x):,.1f}"
    return "0" if s in ("0", "0.0") else ("+" if x > 0 else "−") + s


def cell(r: pd.Series | dict, signed: bool = False) -> str:
    """'median [low–high]' for levels, '+median [low to high]' for differences."""
    f = fmt_signed if signed else fmt
    v, lo, hi = r["value"], r["low"], r["high"]
    if not np.isfinite(v):
        return r.get("note") or "n/a"
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return f(v)
    sep = " to " if signed else "–"
    return f"{f(v)} [{f(lo)}{sep}{f(hi)}]"


def cost_cell(r: pd.Series | dict) -> str:
    v, lo, hi, note = r["value"], r["low"], r["high"], r.get("note") or ""
    if not np.isfinite(v):
        return note or "n/a"
    if not np.isfinite(lo) and not np.isfinite(hi):
        return fmt(v) + (f" ({note})" if note else "")
    high = fmt(hi) if np.isfinite(hi) else "unbounded"
    extra = " (saves money)" if "saves money" in note else ""
    return f"{fmt(v)} [{fmt(lo)}–{high}]{extra}"


# ---------------------------------------------------------------------------------------- report
@dataclass
class Section:
    """A block of the report, rendered to Markdown and to HTML from the same content."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    image: str | None = None  # PNG file name in the comparison directory (HTML only)
    caption: str = ""
    level: int = 2


def _region_label(c: Comparison) -> str:
    labels = list(dict.fromkeys(str(j.config["region"].get("label", j.config["region"].get("name")))
                                for j in c.ok_jobs))
    return " / ".join(labels)


def _years_label(c: Comparison) -> str:
    spans = list(dict.fromkeys(f"{j.config['start_year']}–{j.config['end_year']}" for j in c.ok_jobs))
    return " / ".join(spans)


def sections(c: Comparison) -> list[Section]:
    pct = int(round(c.interval * 100))
    t = c.table
    ok = c.ok_jobs
    ref_jobs = [r.job for r in c.distinct_refs()]
    reps = sorted({j.replications for j in ok})
    seeds = sorted({j.seed for j in ok})
    start = min(int(j.config["start_year"]) for j in ok)
    multi = len(c.distinct_refs()) > 1
    out: list[Section] = []

    intro = [
        f"Sweep `{c.sweep_dir.name}`: {len(ok)} finished job(s) of {len(c.jobs) + len(c.missing)}; "
        f"{', '.join(map(str, reps))} replication(s), seed {', '.join(map(str, seeds))}; simulated {_years_label(c)}.",
    ]
    for r in c.distinct_refs():
        users = [j.label for j in ok if c.reference_of(j) is r.job and j is not r.job]
        intro.append(f"Reference{' of ' + ', '.join(users) if multi and users else ''}: {r.why}.")
        if not r.status_quo:
            whose = f"of {', '.join(users)}" if multi else "in this report"
            intro.append(f"**Differences {whose} are against {r.job.label}, not against the status quo.**")
    intro.append(
        f"Cells show the median [{pct}% interval] across replications. Differences are paired: replication k "
        f"of every job uses the same random streams as replication k of its reference (common random numbers), "
        f"so the difference d_k is the effect of policy in that simulated history; the interval is the "
        f"{(100 - pct) / 2:g}th–{100 - (100 - pct) / 2:g}th percentile of the d_k, the range of the effect "
        f"across histories. Money in million yuan (M yuan), summed from {start} to the year shown.")
    out.append(Section(f"Sweep comparison — {_region_label(c)}", intro, level=1))

    # ranking
    rk = c.ranking
    header = ["rank", "package", f"little giants {c.rank_year}", "extra little giants",
              f"extra fiscal cost {start}–{c.rank_year} (M yuan)", "cost per extra little giant (M yuan)"]
    if multi:
        header.insert(2, "reference")
    rows = []
    for _, r in rk.iterrows():
        g = cell({"value": r["giants"], "low": r["giants_low"], "high": r["giants_high"]})
        if r["is_reference"]:
            eg, ec, cp = "reference", "reference", "reference"
        else:
            eg = cell({"value": r["extra_giants"], "low": r["extra_giants_low"], "high": r["extra_giants_high"]}, True)
            ec = cell({"value": r["extra_cost"], "low": r["extra_cost_low"], "high": r["extra_cost_high"]}, True)
            cp = cost_cell({"value": r["cost_per_extra"], "low": r["cost_per_extra_low"],
                            "high": r["cost_per_extra_high"], "note": r["cost_note"]})
        row = [str(r["rank"]), r["package"], g, eg, ec, cp]
        if multi:
            row.insert(2, next(j.label for j in ok if j.name == r["reference"]))
        rows.append(row)
    out.append(Section(
        f"Ranking by extra little giants at {c.rank_year}",
        [f"Packages ordered by the median number of extra little giants (T3) at the end of {c.rank_year} over "
         f"the reference; ties broken by the lower cost per extra little giant. Cost per extra little giant = "
         f"mean extra fiscal cost / mean extra little giants over the paired replications (incremental "
         f"cost-effectiveness ratio); its interval is a {pct}% paired bootstrap interval ({BOOTSTRAP_RESAMPLES} "
         f"resamples of replications), 'unbounded' when resamples with no gain are too common, and 'n/a (no "
         f"gain)' when the package does not add little giants on average."],
        header, rows))
    out.append(Section("", [], image="cost_vs_extra_giants.png",
                       caption="Which packages are efficient: extra fiscal cost against extra little giants."))

    def wide(measure: str, inds: list[tuple[str, str, str]], signed: bool, jobs: list) -> tuple[list, list]:
        hdr = ["package", "indicator", *map(str, c.years)]
        rws = []
        sub = t[t["measure"] == measure].set_index(["job", "indicator", "year"])
        for j in jobs:
            for ind, label, unit in inds:
                cells = []
                for y in c.years:
                    key = (j.name, ind, y)
                    cells.append(cell(sub.loc[key], signed) if key in sub.index else "–")
                rws.append([j.label, f"{label}{'' if unit == 'firms' else ' (' + unit + ')'}", *cells])
        return hdr, rws

    tiers = [(ind, label, unit) for ind, label, unit in indicators() if ind in dict(STOCKS)]
    outflows = [x for x in indicators() if x[0] in ("lost_review_cum", "lost_review_T3_cum", "failed_cum")]
    money = [x for x in indicators() if x[0].startswith("spend_")]
    order = [next(j for j in ok if j.name == n) for n in rk["job"]]
    others = [j for j in order if j not in ref_jobs]

    hdr, rws = wide("level", tiers, False, order)
    out.append(Section("Firms by tier at the end of each year", [
        "Firms holding at least the tier, as officials count them (SRDI SMEs include little giants)."],
        hdr, rws, image="outcomes_by_package.png"))
    if others:
        hdr, rws = wide("difference", tiers, True, others)
        out.append(Section("Difference from the reference: firms by tier", [
            "Paired difference (package minus reference, same replication), median [interval]."],
            hdr, rws, image="difference_from_reference.png"))
    hdr, rws = wide("level", outflows, False, order)
    extra = [f"Counted from {start} to the end of the year shown."]
    if others:
        hdr2, rws2 = wide("difference", outflows, True, others)
        rws += [[f"{r[0]} − reference", *r[1:]] for r in rws2]
    out.append(Section("Titles lost at review and firm failures", extra, hdr, rws))
    hdr, rws = wide("level", money, False, order)
    if others:
        hdr2, rws2 = wide("difference", money, True, others)
        rws += [[f"{r[0]} − reference", *r[1:]] for r in rws2]
    out.append(Section("Fiscal cost by instrument (M yuan, cumulative)", [
        f"Spending from {start} to the end of the year shown, by instrument; rows marked '− reference' are the "
        "paired extra cost over the reference."], hdr, rws, image="fiscal_cost_by_package.png"))
    if others:
        sub = t[t["measure"] == "cost_per_extra"].set_index(["job", "year"])
        rws = [[j.label, *[cost_cell(sub.loc[(j.name, y)]) if (j.name, y) in sub.index else "–" for y in c.years]]
               for j in others]
        out.append(Section("Fiscal cost per extra little giant (M yuan)", [
            "Extra cumulative fiscal cost over the reference divided by extra little giants held at the end of the "
            "year (ratio of means over paired replications), with its bootstrap interval."],
            ["package", *map(str, c.years)], rws))
    out.append(Section("Little giants, SRDI SMEs and innovative SMEs over time", [], image="tier_counts_by_package.png",
                       caption="Median per package; shaded: the reference's interval."))

    notes = list(c.notes)
    bad = [j for j in c.jobs if not j.ok]
    if bad or c.missing:
        notes.append(f"{len(bad) + len(c.missing)} job(s) are not in this comparison (listed below); rebuild with "
                     f"`python -m sim compare {c.sweep_dir}` once they finish.")
    if notes:
        out.append(Section("Notes and warnings", [f"- {n}" for n in notes]))
    rows = []
    for j in c.jobs:
        status = "finished" if j.ok else f"skipped: {j.problem}"
        role = "reference" if j in ref_jobs else ""
        seed = str(j.seed) if j.ok else "–"
        nrep = str(j.replications) if j.ok else "–"
        rows.append([j.name, j.label, role, status, seed, nrep, " ".join(j.overrides) or "–"])
    rows += [[m.split(" (")[0], "–", "", "skipped: never started", "–", "–", m.partition(" (")[2].rstrip(")")]
             for m in c.missing]
    out.append(Section("Jobs", [], ["job", "package", "role", "status", "seed", "replications", "overrides"], rows))
    return out


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|")


def to_markdown(secs: list[Section], images: list[str] | None = None) -> str:
    lines: list[str] = []
    for s in secs:
        if s.title:
            lines += ["#" * s.level + " " + s.title, ""]
        for p in s.paragraphs:
            lines += [p, ""] if not p.startswith("- ") else [p]
        if s.paragraphs and s.paragraphs[-1].startswith("- "):
            lines.append("")
        if s.header:
            lines.append("| " + " | ".join(map(_md_escape, s.header)) + " |")
            lines.append("|" + "---|" * len(s.header))
            lines += ["| " + " | ".join(map(_md_escape, r)) + " |" for r in s.rows]
            lines.append("")
        if s.image and (images is None or s.image in images):
            lines += [f"![{s.caption or s.title}]({s.image})", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- write
def write_comparison(sweep_dir: Path, baseline: str | None = None, year: int | None = None) -> Path:
    """Build the comparison of a sweep and write it to ``<sweep>/comparison/``; returns that directory."""
    c = build(sweep_dir, baseline=baseline, year=year)
    from sim import report  # matplotlib: only once there is something to draw
    out = Path(sweep_dir) / OUT_DIRNAME
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "comparison.csv", c.table)
    write_csv(out / "ranking.csv", c.ranking)
    secs = sections(c)
    images = report.write_charts(out, c)
    write_text(out / "comparison.md", to_markdown(secs, images))
    write_text(out / "report.html", report.to_html(secs, out, images))
    return out


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, via InputError
        raise InputError(message)


def compare_command(argv: list[str]) -> int:
    """``python -m sim compare SWEEP_DIR [--baseline JOB] [--year YEAR]``."""
    p = _Parser(prog="python -m sim compare", description=(
        "Rebuild the comparison of a sweep from its finished jobs: "
        "SWEEP_DIR/comparison/{comparison.csv, ranking.csv, comparison.md, report.html, *.png}. "
        "Unfinished jobs are skipped and listed."))
    p.add_argument("sweep_dir", type=Path, help="a sweep directory, e.g. results/sweeps/<time>")
    p.add_argument("--baseline", help="job to take differences against (directory name, job number or label); "
                                      "default: the job that runs the status-quo policy")
    p.add_argument("--year", type=int, help="report year to rank packages at (default: the last report year)")
    try:
        args = p.parse_args(argv)
        out = write_comparison(args.sweep_dir, baseline=args.baseline, year=args.year)
    except InputError as exc:
        print(f"sim: compare: {exc}", file=sys.stderr)
        return 2
    print(f"comparison written to {out}/ (report.html, comparison.md, comparison.csv)")
    print(_ranking_text(out))
    return 0


def _ranking_text(out: Path) -> str:
    """The ranking table of comparison.md, for the terminal."""
    md = (out / "comparison.md").read_text(encoding="utf-8")
    block = md.split("\n## Ranking", 1)[1].split("\n#", 1)[0]
    title, _, rest = block.partition("\n")
    return "\n".join(["Ranking" + title, *(ln for ln in rest.split("\n") if ln.startswith("|"))])
