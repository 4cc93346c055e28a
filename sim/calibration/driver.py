"""ABC-SMC fit of the uncertain parameters to the reported figures, with pyabc.

Why ABC-SMC: the simulator is stochastic, has no likelihood, and a dozen parameters meet a dozen
rounded counts; ABC-SMC gives a weighted sample of parameters whose simulations land within the
figures' tolerances, i.e. a posterior with its spread, not one best point.

* The simulator is ``sim.experiment.runner.run_one`` unchanged, on the region (optionally scaled down, counts
  scaled back up) up to the year of the last fitted figure. Each particle's simulation is seeded
  from a hash of its parameter values and the config seed, so any particle can be re-simulated.
* pyabc keeps every finished generation in an SQLite database in the working directory. Running
  the same command again resumes an unfinished fit with the same settings (``ABCSMC.load``), or
  extends a finished one when ``generations``/``max_minutes`` were raised; ``restart=true`` starts over.
* pyabc's multicore sampler reseeds its workers from the OS, so a 2-process fit repeats only up to
  Monte Carlo error; with ``processes=1`` pyabc's generator is seeded from ``seed`` and a fit repeats.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
import warnings
from ctypes import c_longlong
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from tqdm import tqdm

from sim.calibration.distance import ToleranceDistance
from sim.calibration.priors import frame_to_natural, pyabc_prior, to_natural
from sim.calibration.targets import build_targets, fit_end_year, fitted, read_values
from sim.core.errors import InputError
from sim.core.figures import configured_figures
from sim.core.paths import REPO_ROOT, display
from sim.core.schema import Calibration, Region, SimConfig, with_values
from sim.experiment import posterior as post_mod
from sim.experiment.runner import run_one
from sim.experiment.store import write_text
STATE = "state.json"
DB = "abc.db"
# settings that only decide when to stop, where to write or what to report: changing them keeps a fit resumable
NOT_FINGERPRINTED = {"use", "file", "generations", "min_epsilon", "max_minutes", "check_replications", "out",
                     "install", "restart", "processes", "weights", "priors", "cutoff", "min_ess"}


def scaled_region(region: Region, scale: float) -> Region:
    """The region simulated at ``scale`` of its population (pool, SRDI holders, entry and MIIT's
    batch scale together; every count the model produces scales with the pool, see experiments/)."""
    if scale == 1.0:
        return region
    return region.model_copy(update={"population_scale": region.population_scale * scale})


def fit_config(cfg: SimConfig, targets: pd.DataFrame) -> SimConfig:
    """The configuration each ABC simulation runs: scaled region, up to the last fitted figure."""
    return cfg.model_copy(update={
        "region": scaled_region(cfg.region, cfg.calibration.scale),
        "end_year": max(fit_end_year(targets), cfg.start_year),
        "replications": 1, "progress": False,
        "calibration": Calibration(use="none"),
    })


def particle_seed(seed: int, params: dict[str, float]) -> np.random.SeedSequence:
    """A particle's simulation seed: the config seed and a hash of its parameter values."""
    raw = np.array([params[k] for k in sorted(params)], dtype=np.float64).tobytes()
    words = np.frombuffer(hashlib.blake2b(raw, digest_size=16).digest(), dtype=np.uint32)
    return np.random.SeedSequence([seed, *map(int, words)])


class Simulator:
    """pyabc model: parameters (pyabc space) -> simulated value of each fitted figure, by id."""

    def __init__(self, fit_cfg: SimConfig, settings: Calibration, targets: pd.DataFrame, counter=None) -> None:
        self.cfg = fit_cfg
        self.priors = dict(settings.priors)
        self.scale = settings.scale
        self.targets = targets.reset_index(drop=True)
        self.ids = list(self.targets["id"])
        self.base = fit_cfg.uncertainties.model_dump()
        self.counter = counter
        self.bar = post_mod.national_bar(fit_cfg)  # a single region meets the national bar

    def config_for(self, params: dict[str, float], ss: np.random.SeedSequence) -> SimConfig:
        """The particle's config; in a single region, meeting the national bar at the particle's
        ``national_bar_quantile`` when fitted, else its own draw of it."""
        unc = type(self.cfg.uncertainties).model_validate(with_values(self.base, params))
        cfg = self.cfg.model_copy(update={"uncertainties": unc})
        return cfg if self.bar is None else self.bar.applied(cfg, self.bar.index_for(cfg, ss))

    def simulate(self, params: dict[str, float]) -> np.ndarray:
        ss = particle_seed(self.cfg.seed, params)
        q = run_one(self.config_for(params, ss), ss)
        return read_values(q, self.targets, self.scale)

    def __call__(self, par) -> dict[str, float]:
        vals = self.simulate(to_natural(self.priors, par))
        if self.counter is not None:
            with self.counter.get_lock():
                self.counter.value += 1
        return dict(zip(self.ids, vals.tolist()))


def distance_scale(cal: Calibration) -> float:
    """The population scale whose sampling noise the fit's distance allows for (1: none)."""
    return cal.scale if cal.band_scale_noise else 1.0


def fingerprint(cfg: SimConfig, targets: pd.DataFrame) -> str:
    """What a resumed fit must share with the one it continues: model, region, policy, fixed
    values, priors, fitted figures and their weights, population size, scale, seed."""
    cal = cfg.calibration
    fit = fitted(targets)
    doc = {
        "model_source": post_mod.model_source_hash(),
        "config": cfg.model_dump(mode="json", exclude={"calibration", "replications", "progress", "end_year",
                                                       "scenario_title", "outcomes"}),
        "calibration": {k: v for k, v in cal.model_dump(mode="json").items() if k not in NOT_FINGERPRINTED},
        "priors": {k: p.model_dump() for k, p in cal.priors.items()},
        "targets": fit[["id", "value", "tolerance", "weight", "how", "column", "step", "lag"]].astype(str).values.tolist(),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def default_out_dir(cfg: SimConfig) -> Path:
    cal = cfg.calibration
    if cal.out:
        p = Path(cal.out)
        return p if p.is_absolute() else Path.cwd() / p
    suffix = f"_cutoff-{cal.cutoff.isoformat()}" if cal.cutoff else ""
    return REPO_ROOT / "results" / "calibration" / f"{cfg.region.name}{suffix}"


@dataclass
class FitResult:
    posterior: post_mod.Posterior
    targets: pd.DataFrame
    out_dir: Path
    abc_id: int
    generations: int
    evaluations: int
    wall_seconds: float
    epsilons: list[float]
    acceptance: list[float]
    stop_reason: str
    resumed: bool
    ess: list[float]  # effective sample size of each generation's weights
    posterior_generation: int  # the generation the posterior is (the last with ESS >= min_ess)
    model_source: str = ""  # hash of the simulator's source when the fit started (see posterior.staleness)
    figures: pd.DataFrame | None = None  # the reported figures as the fit read them when it started
    cpu_share: list[float] | None = None  # of each generation: CPU time its processes got / (wall x processes)

    @property
    def core_share(self) -> float | None:
        """The share of its cores the fit got, median over generations (None if none was timed)."""
        return round(float(np.median(self.cpu_share)), 3) if self.cpu_share else None


def cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (pyabc joins its workers each generation)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def busy_share() -> float:
    """The share of the machine's cores busy over the last second. Sampled now, not the 1-minute load
    average, which still counts a job that ended a minute ago."""
    return psutil.cpu_percent(interval=1.0) / 100.0


# --------------------------------------------------------------------------------------- state
def _load_state(out_dir: Path) -> dict:
    p = out_dir / STATE
    if not p.exists():
        return {"runs": {}}
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        raise InputError(f"{display(p)}: unreadable; delete the directory or set calibration.out") from None


def _save_state(out_dir: Path, state: dict) -> None:
    write_text(out_dir / STATE, json.dumps(state, indent=1) + "\n")


class Bar(tqdm):
    """tqdm without its monitor thread: pyabc forks worker processes, and forking while another
    thread writes to the terminal can leave a child waiting on a lock forever."""

    monitor_interval = 0


# the progress thread writes only under this lock, and every fork waits for it (see _Progress)
_WRITE = threading.Lock()
os.register_at_fork(before=_WRITE.acquire, after_in_parent=_WRITE.release, after_in_child=_WRITE.release)


class _Progress:
    """One bar: generations done of the maximum, live simulation count, current fit (epsilon)."""

    def __init__(self, region: str, total: int, initial: int, counter, enabled: bool, evals0: int) -> None:
        self.counter, self.evals0 = counter, evals0
        self.eps = "–"
        self.acc = "–"
        self.bar = Bar(total=total, initial=initial, desc=f"calibrate {region}", unit="gen", file=sys.stderr,
                        disable=not enabled, dynamic_ncols=True, leave=True,
                        bar_format="{desc}: {n_fmt}/{total_fmt} generations |{bar}| {elapsed}{postfix}")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        if enabled:
            self._thread.start()

    def _text(self) -> str:
        return (f"sims {self.evals0 + self.counter.value:,} | distance threshold {self.eps} "
                f"(0 = all figures in tolerance) | acceptance {self.acc}")

    def _poll(self) -> None:
        while not self._stop.wait(1.0):
            with _WRITE:
                self.bar.set_postfix_str(self._text())

    def generation(self, eps: float, acc: float) -> None:
        self.eps, self.acc = f"{eps:.3g}", f"{acc:.0%}"
        with _WRITE:
            self.bar.set_postfix_str(self._text(), refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.bar.set_postfix_str(self._text(), refresh=False)
        self.bar.close()


def _quiet_pyabc(out_dir: Path, console: bool) -> logging.FileHandler:
    """pyabc logs every generation; keep that in abc.log and off the console when a bar is shown."""
    import pyabc  # noqa: F401  (sets up the 'ABC' logger)

    logger = logging.getLogger("ABC")
    logger.setLevel(logging.INFO)
    for h in logger.handlers:
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
            h.setLevel(logging.INFO if console else logging.WARNING)
    fh = logging.FileHandler(out_dir / "abc.log")
    fh.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    logger.addHandler(fh)
    return fh


@dataclass
class _Fit:
    """A pyabc fit being run: the ABCSMC object, its sampler and the bookkeeping of the run."""

    abc: object
    sampler: object
    counter: object
    state: dict
    run: dict
    out_dir: Path
    targets: pd.DataFrame
    abc_id: int
    resumed: bool
    t_start: float = 0.0  # this process's start, and the wall time and simulations before it
    wall0: float = 0.0
    evals0: int = 0

    def record(self) -> None:
        """This process's time and simulations into the run's bookkeeping."""
        self.run["wall_seconds"] = self.wall0 + time.perf_counter() - self.t_start
        self.run["evaluations"] = self.evals0 + int(self.counter.value)


def _start(cfg: SimConfig, command: str, figures: pd.DataFrame) -> _Fit:
    """Build (or load, to resume) the ABC-SMC fit of cfg's region in its working directory."""
    import pyabc
    from pyabc.sampler.util import get_mp_context

    cal = cfg.calibration
    if not cal.priors:
        raise InputError("calibration.priors: no parameter to fit; give at least one prior "
                         "(configs/calibration/default.yaml lists the documented ones)")
    targets = build_targets(cfg, figures)
    fit_targets = fitted(targets)
    out_dir = default_out_dir(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(cfg, targets)
    state = _load_state(out_dir)
    counter = get_mp_context().Value(c_longlong, 0)
    model = Simulator(fit_config(cfg, targets), cal, fit_targets, counter)
    if cal.processes > 1:
        sampler = pyabc.sampler.MulticoreEvalParallelSampler(n_procs=cal.processes, check_max_eval=True)
    else:
        np.random.seed(cfg.seed)  # pyabc draws from numpy's global generator; seeded, a 1-process fit repeats
        sampler = pyabc.sampler.SingleCoreSampler(check_max_eval=True)
    same = [int(k) for k, r in state["runs"].items() if r["fingerprint"] == fp]
    resumed = bool(same) and not cal.restart
    # generation 0 accepts every prior draw (initial threshold inf), later thresholds are the median
    # distance of the previous generation: this skips pyabc's separate prior "calibration sample". A
    # resumed fit's first threshold is that median of its last stored generation ("from_sample"):
    # a numeric initial value would be used again, and inf would restart the fit from scratch.
    eps = pyabc.QuantileEpsilon(initial_epsilon="from_sample" if resumed else np.inf, alpha=0.5)
    kernel = (pyabc.transition.LocalTransition(scaling=cal.kernel_scaling) if cal.transition == "local"
              else pyabc.transition.MultivariateNormalTransition(scaling=cal.kernel_scaling))
    distance = ToleranceDistance(fit_targets, distance_scale(cal))
    abc = pyabc.ABCSMC(model, pyabc_prior(cal.priors), distance, population_size=cal.particles,
                       sampler=sampler, eps=eps, transitions=kernel)
    db_url = f"sqlite:///{out_dir / DB}"
    observed = dict(zip(fit_targets["id"], fit_targets["value"].astype(float)))
    if resumed:
        abc_id = max(same)
        abc.load(db_url, abc_id, observed)
    else:
        hist = abc.new(db_url, observed, meta_info={"fingerprint": fp, "command": command})
        abc_id = int(hist.id)
        state["runs"][str(abc_id)] = {"fingerprint": fp, "command": command, "wall_seconds": 0.0,
                                      "evaluations": 0, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                      "model_source": post_mod.model_source_hash()}
        _save_state(out_dir, state)
    return _Fit(abc, sampler, counter, state, state["runs"][str(abc_id)], out_dir, targets, abc_id, resumed)


def _done_already(cal: Calibration, fit: _Fit, budget: float) -> str:
    """Why no generation needs to run (the fit is at its limits already), or ''."""
    history = fit.abc.history
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    last_eps = float(pops["epsilon"].iloc[-1]) if len(pops) else np.inf
    if history.max_t + 1 >= cal.generations:
        return f"reached {cal.generations} generations"
    if last_eps <= cal.min_epsilon:
        return f"distance threshold {last_eps:.3g} at or below min_epsilon {cal.min_epsilon:g}"
    if fit.run["wall_seconds"] >= budget:
        return f"time budget of {cal.max_minutes:g} min used"
    return ""


def _generations(cal: Calibration, fit: _Fit, bar: _Progress, budget: float) -> str:
    """Run generations until a stopping rule holds; returns why it stopped. Keeps the run's wall
    time and simulation count in the state file after every generation (a killed fit resumes)."""
    abc, run, counter = fit.abc, fit.run, fit.counter
    t = abc.initialize_components_before_run(
        minimum_epsilon=cal.min_epsilon, max_nr_populations=cal.generations - (abc.history.max_t + 1),
        min_acceptance_rate=0.0, max_total_nr_simulations=np.inf, max_walltime=None, min_eps_diff=0.0)
    sec_per_eval = run["wall_seconds"] / run["evaluations"] if run["evaluations"] else None
    while True:
        # hard time budget: cap this generation's simulations at what the time left allows
        # (pyabc stops sampling there and discards the unfinished generation)
        if sec_per_eval is not None and np.isfinite(budget):
            max_eval = (budget - run["wall_seconds"]) / sec_per_eval
            if max_eval < cal.particles:
                return f"time budget of {cal.max_minutes:g} min used"
            abc.min_acceptance_rate = cal.particles / max_eval
        g0, e0, c0 = time.perf_counter(), int(counter.value), cpu_seconds()
        with warnings.catch_warnings():  # pyabc compares inf thresholds after generation 0
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            ret = abc.run_generation(t=t)
            stop = ret["successful"] and abc.check_terminate(t=t, acceptance_rate=ret["acceptance_rate"])
        wall = time.perf_counter() - g0
        sec_per_eval = wall / max(int(counter.value) - e0, 1)
        fit.record()
        # a fit whose time budget ends it buys fewer simulations when other work shares the cores
        share = (cpu_seconds() - c0) / max(wall * cal.processes, 1e-9)
        run.setdefault("cpu_share", []).append(round(min(share, 1.0), 3))
        _save_state(fit.out_dir, fit.state)
        if not ret["successful"]:
            return f"time budget of {cal.max_minutes:g} min used (the last, unfinished generation was discarded)"
        bar.generation(float(abc.eps(t)), float(ret["acceptance_rate"]))
        if stop:
            eps = float(abc.eps(t))
            return (f"distance threshold {eps:.3g} at or below min_epsilon {cal.min_epsilon:g}"
                    if eps <= cal.min_epsilon else f"reached {cal.generations} generations"
                    if t + 1 >= cal.generations else f"time budget of {cal.max_minutes:g} min used")
        t += 1


def run_fit(cfg: SimConfig, command: str, progress: bool = True, figures: pd.DataFrame | None = None) -> FitResult:
    """Fit (or resume fitting) cfg's region; returns the posterior and how the fit went. The reported
    figures (``figures``, or the configured file) are read once, at the start: the fit and its
    report stay with them if the file is edited while it runs."""
    cal = cfg.calibration
    fp_source = post_mod.model_source_hash()  # the simulator's source as this process imported it
    from pyabc.weighted_statistics import effective_sample_size

    figures = configured_figures(cfg, figures)
    busy = busy_share() if cal.max_minutes else 0.0
    if busy >= 0.5:
        print(f"sim: calibrate: the machine is busy before the fit starts ({busy:.0%} of its {os.cpu_count()} cores "
              f"over the last second); the {cal.max_minutes:g}-min budget buys fewer simulations while "
              "other work shares the cores: run fits alone", file=sys.stderr)
    fit = _start(cfg, command, figures)
    handler = _quiet_pyabc(fit.out_dir, console=not progress)
    budget = cal.max_minutes * 60.0 if cal.max_minutes else np.inf
    history, run = fit.abc.history, fit.run
    done_gens = history.max_t + 1
    bar = _Progress(cfg.region.name, cal.generations, min(done_gens, cal.generations), fit.counter, progress,
                    int(run["evaluations"]))
    fit.t_start, fit.wall0, fit.evals0 = time.perf_counter(), float(run["wall_seconds"]), int(run["evaluations"])
    reason = ""
    try:
        reason = _done_already(cal, fit, budget) or _generations(cal, fit, bar, budget)
    finally:
        history.done()
        fit.sampler.stop()
        fit.record()
        # a resumed fit that ran no generation keeps what its last process said of why it stopped
        said = str(run.get("stop_reason", ""))
        kept = history.max_t + 1 == done_gens and reason and said.startswith(reason)
        run["stop_reason"] = said if kept else reason or "interrupted"
        _save_state(fit.out_dir, fit.state)
        bar.close()
        logging.getLogger("ABC").removeHandler(handler)
        handler.close()
    reason = run["stop_reason"]
    if history.max_t < 0:
        raise InputError(f"calibration: no generation finished ({reason}); raise calibration.max_minutes")
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    acc = (cal.particles / pops["samples"].clip(lower=1)).tolist()
    # how many particles each generation's importance weights are worth: a collapse to a handful
    # means the posterior is a few particles however many were accepted, so the posterior is the
    # last generation worth ``min_ess`` (generation 0, the prior sample, always is)
    ess = [float(effective_sample_size(history.get_distribution(m=0, t=int(t))[1])) for t in pops["t"]]
    use = max((int(t) for t, e in zip(pops["t"], ess) if e >= cal.min_ess), default=int(history.max_t))
    df, w = history.get_distribution(m=0, t=use)
    values = frame_to_natural(cal.priors, df)
    post = post_mod.Posterior(cfg.region.name, tuple(cal.priors), np.asarray(w, float) / np.sum(w), values)
    return FitResult(post, fit.targets, fit.out_dir, fit.abc_id, int(history.max_t + 1), int(run["evaluations"]),
                     float(run["wall_seconds"]), pops["epsilon"].astype(float).tolist(), acc, reason, fit.resumed,
                     ess, use, model_source=run.get("model_source", fp_source), figures=figures,
                     cpu_share=[float(x) for x in run.get("cpu_share", [])])
