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
from sim.analysis.stats import BOOTSTRAP_RESAMPLES, cost_per_extra  # noqa: F401  (re-exported)
from sim.core.outcomes import (COST_PER_GIANT, COST_PER_OUTCOME, INDICATORS, RENEWED_FIRST, SWEEP_CUMULATIVE,
                               SWEEP_STOCKS, band, column_of, since_adoption)
from sim.core.paths import CONFIG_DIR
from sim.core.schema import Policy

STATUS_QUO_FILE = CONFIG_DIR / "policy" / "status_quo.yaml"
COLUMNS = ["job", "package", "reference", "measure", "indicator", "label", "unit", "year", "value", "low",
           "high", "mean", "pairs", "note"]


def indicators(adopt_year: int | None = None, reviews: bool = False) -> list[tuple[str, str, str]]:
    """(indicator id, label, unit) in table order: stocks at year end, then flows summed from the
    adoption year (ids ending in ``_cum``; labelled "since adoption (YYYY)" when it is given), then,
    with the jobs' reviews, the little giants renewed at their first review."""
    ids = (*SWEEP_STOCKS, *SWEEP_CUMULATIVE, *((RENEWED_FIRST,) if reviews else ()))
    out = []
    for i in ids:
        ind = INDICATORS[i]
        cumulative = ind.kind == "cumulative" and adopt_year is not None
        out.append((i, since_adoption(ind.label, adopt_year) if cumulative else ind.label, ind.unit))
    return out


# ------------------------------------------------------------------------------------- reference
def status_quo_policy() -> dict:
    return Policy.model_validate(yaml.safe_load(STATUS_QUO_FILE.read_text())).model_dump(mode="json")


def is_status_quo(job: Job, sq: dict) -> bool:
    """Runs the status quo: the ``baseline`` scenario with no lever override (what the user typed), or
    levers equal to today's ``configs/policy/status_quo.yaml`` (e.g. a lever swept back to its value).
    When and by whom a package is adopted (``policy.adopt_from``, ``policy.adopted_by``) is no lever."""
    keys = [k for k in override_keys(job) if k not in NOT_LEVERS]
    if job.overrides and job.scenario == "baseline" and not any(k == "policy" or k.startswith("policy.")
                                                                 for k in keys):
        return True
    try:
        return _levers(Policy.model_validate(job.config["policy"]).model_dump(mode="json")) == _levers(sq)
    except Exception:
        return False


NOT_LEVERS = ("policy.adopt_from", "policy.adopted_by")


def _levers(policy: dict) -> dict:
    return {k: v for k, v in policy.items() if f"policy.{k}" not in NOT_LEVERS}


@dataclass
class Reference:
    job: Job
    why: str  # one sentence for the report
    status_quo: bool


def match_job(jobs: list[Job], name: str) -> Job:
    """The job named by ``--baseline``: its directory name, number or label, or its scenario id when
    one job alone runs that scenario."""
    hits = [j for j in jobs if name in (j.name, j.label) or (j.num is not None and name == str(j.num))]
    hits = hits or [j for j in jobs if j.scenario == name][:1 if sum(j.scenario == name for j in jobs) == 1 else 0]
    for j in hits:
        if not j.ok:
            raise InputError(f"--baseline {name}: job {j.name} is not finished ({j.problem})")
        return j
    allowed = ", ".join(j.name for j in jobs if j.ok)
    raise InputError(f"--baseline {name!r}: no such job; allowed are {allowed} (directory name, number, label or "
                     "scenario)")


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
def outcome_frame(job: Job, adopt_year: int, yearly: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per replication and year: stocks at year end and flows summed from the adoption year (``*_cum``,
    zero before it); where the job counted them (``renewed_first_T3``), the little giants recognised
    from adoption on that their first review renewed: first reviews summed from ``validity_years``
    after adoption. ``yearly``: another series of the job (its equal-cost runs)."""
    y = (job.yearly if yearly is None else yearly).sort_values(["replication", "year"])
    out = y[["replication", "year", *SWEEP_STOCKS]].copy()

    def summed_from(ind: str, year: int) -> pd.Series:
        return y[column_of(ind)].where(y["year"] >= year, 0.0).groupby(y["replication"]).cumsum()

    for ind in SWEEP_CUMULATIVE:
        out[ind] = summed_from(ind, adopt_year)
    if yearly is None and column_of(RENEWED_FIRST) in y.columns:
        validity = int(job.config.get("miit", {}).get("validity_years", 3))
        out[RENEWED_FIRST] = summed_from(RENEWED_FIRST, adopt_year + validity).astype(float)
    return out.set_index(["replication", "year"])


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
    adopt_year: int = 0  # cumulative indicators sum from here (the packages' adoption)
    # per job (not the references): package minus reference per (replication, year), common replications
    deltas: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)

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

    @property
    def last_year(self) -> int:
        """The last report year, shown alongside the ranking year."""
        return self.years[-1]

    @property
    def has_reviews(self) -> bool:
        return all(RENEWED_FIRST in f.columns for f in self.frames.values())

    def indicators(self) -> list[tuple[str, str, str]]:
        return indicators(self.adopt_year, self.has_reviews)

    def validity(self) -> int:
        """Years from a little giant's batch to its first review (MIIT's validity)."""
        return int(self.ok_jobs[0].config.get("miit", {}).get("validity_years", 3))


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
    outcomes = ref_jobs[0].config.get("outcomes", {})
    interval = float(outcomes.get("interval", 0.9))
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
    return years, year if year is not None else _rank_year(outcomes, years, notes), interval


def _rank_year(outcomes: dict, years: list[int], notes: list[str]) -> int:
    """The configured ranking year (``outcomes.rank_year``, default 2027) if it is a report year, else
    the last report year (said in a note)."""
    wanted = int(outcomes.get("rank_year", 2027))
    if wanted in years:
        return wanted
    notes.append(f"The ranking year outcomes.rank_year={wanted} is not a report year of this sweep; packages "
                 f"are ranked at {years[-1]}, the last report year.")
    return years[-1]


def _adoption(ok: list[Job], refs: dict[str, Reference], notes: list[str]) -> int:
    """The year cumulative costs and gains count from: the packages' adoption year (``policy.adopt_from``).
    If packages adopt at different times, the earliest: before a package's own adoption it runs the
    status quo with the reference's draws, so counting from earlier adds nothing to its differences."""
    packages = [j for j in ok if refs[j.name].job is not j] or ok
    quarters = sorted({j.adopt_from for j in packages})
    year = min(j.adopt_year for j in packages)
    if len(quarters) > 1:
        notes.append(f"Packages are adopted at different times ({', '.join(quarters)}, policy.adopt_from); "
                     f"cumulative costs and gains count from the earliest, {year}, for every package (before "
                     "its own adoption a package runs the status quo, so its extra cost there is zero).")
    elif not quarters[0].endswith("Q1") and int(quarters[0][:4]) == year:
        notes.append(f"Packages take effect in {quarters[0]}; cumulative figures count from the start of {year}, "
                     "whose earlier quarters are the status quo in every job (no difference between packages).")
    return year


def _late_adoption(adopt_year: int, years: list[int], notes: list[str]) -> None:
    if adopt_year > years[-1]:
        notes.append(f"**The packages take effect in {adopt_year}, after the last report year {years[-1]}: every "
                     "job runs the status quo over the years compared, so every difference is zero.** Set "
                     "`policy.adopt_from` earlier or simulate further (`end_year`).")


def paired_delta(fj: pd.DataFrame, fr: pd.DataFrame, common: list[int]) -> pd.DataFrame:
    """Package minus reference, replication by replication, on the replications both have."""
    a = fj.loc[fj.index.get_level_values("replication").isin(common)]
    b = fr.loc[fr.index.get_level_values("replication").isin(common)]
    cols = [c for c in a.columns if c in b.columns]
    return (a[cols] - b[cols]).dropna(how="all")


def cost_rows(j: Job, ref: Job, d: pd.DataFrame, years: list[int], interval: float, short: str,
              first_review: int | None, measure: str = "cost_per_extra") -> list[dict]:
    """The extra cost since adoption per extra outcome (COST_PER_OUTCOME) at each year, paired bootstrap
    intervals. ``first_review``: the first year a cohort recognised since adoption is reviewed."""
    rows = []
    for y in years:
        dy = d.xs(y, level="year")
        for cid, outcome in COST_PER_OUTCOME.items():
            if outcome not in dy.columns:
                continue
            ind = INDICATORS[cid]
            if outcome == RENEWED_FIRST and (first_review is None or y < first_review):
                value, low, high = np.nan, np.nan, np.nan
                note = (f"no cohort recognised since adoption has had its first review by {y} (the first is in "
                        f"{first_review})")
            else:
                value, low, high, note = cost_per_extra(dy["spend_total_cum"].to_numpy(), dy[outcome].to_numpy(),
                                                        interval)
            rows.append({"job": j.name, "package": j.label, "reference": ref.name, "measure": measure,
                         "indicator": cid, "label": ind.label, "unit": ind.unit, "year": y, "value": value,
                         "low": low, "high": high, "mean": value, "pairs": len(dy),
                         "note": "; ".join(filter(None, [note, short]))})
    return rows


def difference_rows(j: Job, ref: Job, d: pd.DataFrame, inds: list[tuple[str, str, str]], years: list[int],
                    interval: float, short: str, measure: str = "difference") -> list[dict]:
    """Paired differences of every indicator at each year."""
    rows = []
    for y in years:
        dy = d.xs(y, level="year")
        for ind, label, unit in inds:
            if ind in dy.columns:
                rows.append(_row(j, ref, measure, ind, label, unit, y, dy[ind].to_numpy(), interval, len(dy), short))
    return rows


def _level_rows(ok: list[Job], refs: dict[str, Reference], frames: dict[str, pd.DataFrame],
                inds: list[tuple[str, str, str]], years: list[int], interval: float) -> list[dict]:
    rows = []
    for j in ok:
        f = frames[j.name]
        for ind, label, unit in inds:
            for y in years:
                v = f.xs(y, level="year")[ind].to_numpy()
                rows.append(_row(j, refs[j.name].job, "level", ind, label, unit, y, v, interval, len(v)))
    return rows


def _table(ok: list[Job], refs: dict[str, Reference], frames: dict[str, pd.DataFrame], c: Comparison,
           notes: list[str]) -> pd.DataFrame:
    """Levels of every job, then paired differences of every job from its reference and the costs per
    extra outcome; fills ``c.deltas``."""
    inds, years, interval = c.indicators(), c.years, c.interval
    first_review = c.adopt_year + c.validity() if c.has_reviews else None
    rows = _level_rows(ok, refs, frames, inds, years, interval)
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
        d = c.deltas[j.name] = paired_delta(fj, fr, common)
        rows += difference_rows(j, ref, d, inds, years, interval, short)
        rows += cost_rows(j, ref, d, years, interval, short, first_review)
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
    adopt_year = _adoption(ok, refs, notes)
    _late_adoption(adopt_year, years, notes)
    frames = {j.name: outcome_frame(j, adopt_year) for j in ok}
    planned = planned_jobs(sweep_dir)
    missing = []
    if planned is not None:
        have = {j.num for j in jobs}
        missing = [f"job {i} ({' '.join(o)})" for i, o in enumerate(planned) if i not in have]
    c = Comparison(sweep_dir, jobs, refs, years, rank_year, interval, pd.DataFrame(columns=COLUMNS),
                   pd.DataFrame(), notes, missing, frames, adopt_year)
    c.table = _table(ok, refs, frames, c, notes)
    c.ranking = _ranking(c.table, ok, refs, rank_year, c.last_year)
    return c


def _ranking(table: pd.DataFrame, ok: list[Job], refs: dict[str, Reference], year: int, last: int) -> pd.DataFrame:
    """One row per finished job at ``year``: level and extra little giants, extra cost since adoption,
    cost per extra; the same at the last report year alongside (``*_last_year``)."""
    t = table.set_index(["job", "measure", "indicator", "year"])
    rows = []
    for j in ok:
        ref = refs[j.name].job
        row = {"job": j.name, "package": j.label, "reference": ref.name, "is_reference": j is ref, "year": year}
        for at, suffix in ((year, ""), (last, "_last_year")):
            row.update(_ranking_cells(t, j, j is ref, at, suffix))
        row["last_year"] = last
        rows.append(row)
    r = pd.DataFrame(rows)
    # most extra little giants first; among equals, the cheaper per extra giant
    r = r.sort_values(["reference", "extra_giants", "cost_per_extra"], ascending=[True, False, True],
                      na_position="last", kind="stable").reset_index(drop=True)
    r.insert(0, "rank", r.groupby("reference").cumcount() + 1)
    return r


def _ranking_cells(t: pd.DataFrame, j: Job, is_ref: bool, year: int, suffix: str) -> dict:
    def get(measure: str, ind: str):
        key = (j.name, measure, ind, year)
        return t.loc[key] if key in t.index else None

    lvl = get("level", "n_T3")
    dg, dc = get("difference", "n_T3"), get("difference", "spend_total_cum")
    cpe = get("cost_per_extra", COST_PER_GIANT)
    out = {"giants": lvl["value"], "giants_low": lvl["low"], "giants_high": lvl["high"]}
    for name, r in (("extra_giants", dg), ("extra_cost", dc), ("cost_per_extra", cpe)):
        out[name] = (0.0 if is_ref and name != "cost_per_extra" else np.nan) if r is None else r["value"]
        out[f"{name}_low"] = np.nan if r is None else r["low"]
        out[f"{name}_high"] = np.nan if r is None else r["high"]
    out["cost_note"] = ("reference" if is_ref else "not paired") if cpe is None else cpe["note"]
    return {f"{k}{suffix}": v for k, v in out.items()}
