"""Paired comparison of a sweep's jobs: outcomes per package, differences from a reference, cost
per extra little giant, and the ranking.

Why paired: replication k of every job is child k of ``SeedSequence(seed)`` (``sim.experiment.runner``),
so with the same seed, replication k of two packages lives through the same random draws (common
random numbers). The difference d_k = package_k - reference_k is then policy, not noise, and its
interval is read from the per-replication d_k, which is much narrower than comparing two ranges.

The reference of a job is chosen, never invented:
1. ``--baseline JOB`` when given (a job's directory name, number or label);
2. otherwise the finished job of the same setting whose policy is exactly the status quo
   (``configs/policy/status_quo.yaml``), preferring one named ``baseline``, then the lowest number;
3. otherwise the first finished job of that setting, and the report says so in words.
A "setting" is everything that is not policy (region, uncertainties, calibration, years): jobs that
differ there are not compared with each other. Seed and replications are checked, not grouped on:
a different seed breaks the pairing and a different number of replications pairs only the common
ones; both are stated in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.analysis.sweep import Job, find_jobs, label_jobs, override_keys, planned_jobs
from sim.core.errors import InputError
from sim.core.outcomes import (COST_PER_GIANT, INDICATORS, SWEEP_CUMULATIVE, SWEEP_STOCKS, band, column_of,
                               quantile_levels)
from sim.core.paths import CONFIG_DIR
from sim.core.schema import Policy

STATUS_QUO_FILE = CONFIG_DIR / "policy" / "status_quo.yaml"
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240521  # fixed: the same sweep always gives the same interval
COLUMNS = ["job", "package", "reference", "measure", "indicator", "label", "unit", "year", "value", "low",
           "high", "mean", "pairs", "note"]


def indicators() -> list[tuple[str, str, str]]:
    """(indicator id, label, unit) in table order: stocks at year end, then flows summed from the
    start year (ids ending in ``_cum``)."""
    return [(i, INDICATORS[i].label, INDICATORS[i].unit) for i in (*SWEEP_STOCKS, *SWEEP_CUMULATIVE)]


# ------------------------------------------------------------------------------------- reference
def status_quo_policy() -> dict:
    return Policy.model_validate(yaml.safe_load(STATUS_QUO_FILE.read_text())).model_dump(mode="json")


def is_status_quo(job: Job, sq: dict) -> bool:
    """Runs the status quo: the ``baseline`` scenario with no policy override (what the user typed), or a
    policy equal to today's ``configs/policy/status_quo.yaml`` (e.g. a lever swept back to its value)."""
    keys = override_keys(job)
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
    out = y[["replication", "year", *SWEEP_STOCKS]].copy()
    for ind in SWEEP_CUMULATIVE:
        out[ind] = y.groupby("replication")[column_of(ind)].cumsum()
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
    lo_q, hi_q = quantile_levels(interval)
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

    def region_label(self) -> str:
        labels = list(dict.fromkeys(str(j.config["region"].get("label", j.config["region"].get("name")))
                                    for j in self.ok_jobs))
        return " / ".join(labels)

    def years_label(self) -> str:
        return " / ".join(dict.fromkeys(f"{j.config['start_year']}–{j.config['end_year']}" for j in self.ok_jobs))


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


def _report_years(ok: list[Job], ref_jobs: list[Job], year: int | None, notes: list[str]) -> tuple[list[int], int, float]:
    """(report years every job simulated, the ranking year, the interval), with notes on what is left out."""
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
    return years, (year if year is not None else years[-1]), interval


def _difference_rows(j: Job, ref: Job, fj: pd.DataFrame, fr: pd.DataFrame, common: list[int], years: list[int],
                     interval: float, short: str) -> list[dict]:
    """Paired differences of every indicator, and the cost per extra little giant, at each year."""
    rows = []
    cpe = INDICATORS[COST_PER_GIANT]
    for y in years:
        d = fj.xs(y, level="year").loc[common] - fr.xs(y, level="year").loc[common]
        for ind, label, unit in indicators():
            rows.append(_row(j, ref, "difference", ind, label, unit, y, d[ind].to_numpy(), interval,
                             len(common), short))
        value, low, high, note = cost_per_extra(d["spend_total_cum"].to_numpy(), d["n_T3"].to_numpy(), interval)
        rows.append({"job": j.name, "package": j.label, "reference": ref.name, "measure": "cost_per_extra",
                     "indicator": cpe.id, "label": cpe.label, "unit": cpe.unit, "year": y, "value": value,
                     "low": low, "high": high, "mean": value, "pairs": len(common),
                     "note": "; ".join(filter(None, [note, short]))})
    return rows


def _table(ok: list[Job], refs: dict[str, Reference], frames: dict[str, pd.DataFrame], years: list[int],
           interval: float, notes: list[str]) -> pd.DataFrame:
    """Levels of every job, then paired differences of every job from its reference."""
    rows: list[dict] = []
    for j in ok:
        f = frames[j.name]
        for ind, label, unit in indicators():
            for y in years:
                v = f.xs(y, level="year")[ind].to_numpy()
                rows.append(_row(j, refs[j.name].job, "level", ind, label, unit, y, v, interval, len(v)))
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
        rows += _difference_rows(j, ref, fj, fr, common, years, interval, short)
    notes.extend(pairing_sentences)
    if not pairing_sentences and len(ok) > 1:
        notes.insert(0, "Every compared job has the same seed and number of replications as its reference "
                        f"({', '.join(sorted({f'seed {j.seed}, {j.replications} replications' for j in ok}))}), "
                        "so every difference is paired replication by replication.")
    return pd.DataFrame(rows, columns=COLUMNS)


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
    years, rank_year, interval = _report_years(ok, ref_jobs, year, notes)
    frames = {j.name: outcome_frame(j) for j in ok}
    table = _table(ok, refs, frames, years, interval, notes)
    ranking = _ranking(table, ok, refs, rank_year)
    planned = planned_jobs(sweep_dir)
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


