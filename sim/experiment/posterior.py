"""The calibrated posterior as a file runs read: weighted particles of the fitted uncertainties.

`python -m sim calibrate` writes ``configs/calibrated/<region>.yaml``; `python -m sim run` reads it
(``calibration.use``). Replication k draws its particle with a generator seeded from a dedicated
child key of replication k's SeedSequence, never from global state, so replication k uses the same
parameters in every scenario of a sweep (common random numbers) and a rerun repeats exactly.
This module stays free of pyabc so runs do not pay for importing it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.core.errors import InputError
from sim.core.paths import CALIBRATED_DIR, SIM_DIR, display, resolve_path
from sim.core.schema import AREA_MAPPINGS, REST, SimConfig, Uncertainties, value_of, with_values
from sim.experiment.effects import effect_values, with_effects
from sim.experiment.store import MISSING, differences, write_text

# child key of a replication's SeedSequence reserved for its posterior draw; the model spawns
# children 0..len(STREAMS) from the same sequence, so this key never collides with a model stream
DRAW_KEY = 0xCA11B
# ... and for its draw of the national merit bar (single-region runs)
BAR_KEY = 0xBA12
# the package whose change means the simulator may give different results for the same parameters
MODEL_PACKAGE = SIM_DIR / "model"
# region and MIIT settings a fit does not depend on, left out of those it stores (``fit_settings``): the
# sample of the region simulated, the area a regional adoption means, MIIT's batches after the
# published ones (a national-policy input; a single-region run checks them against its bar) and the
# bar itself (set per replication; ``national_bar_created`` records which one a fit met)
NOT_FIT_SETTINGS = {"region": {"population_scale", "focus"}, "miit": {"batch_after", "bar", "bar_file"}}


def default_file(region: str) -> Path:
    return CALIBRATED_DIR / f"{region}.yaml"


def model_source_hash() -> str:
    """Short hash of the simulator's source (``sim/model/``), recorded with a fit so a stale
    posterior can be noticed."""
    h = hashlib.sha256()
    for f in sorted(MODEL_PACKAGE.rglob("*.py")):
        h.update(f.relative_to(SIM_DIR).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Posterior:
    """Weighted particles (natural units) of the fitted uncertainties, plus how they were obtained."""

    region: str
    names: tuple[str, ...]
    weights: np.ndarray  # (n,), sums to 1
    values: np.ndarray  # (n, len(names))
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:  # frozen dataclass with arrays: identity is enough
        return id(self)

    @property
    def n(self) -> int:
        return len(self.weights)

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.values, columns=list(self.names))
        df.insert(0, "weight", self.weights)
        return df

    def quantile(self, q: float) -> dict[str, float]:
        """Weighted marginal quantile of each parameter."""
        out = {}
        for j, name in enumerate(self.names):
            order = np.argsort(self.values[:, j], kind="stable")
            cw = np.cumsum(self.weights[order])
            i = int(np.searchsorted(cw, q * cw[-1], side="left"))
            out[name] = float(self.values[order[min(i, len(order) - 1)], j])
        return out

    def median(self) -> dict[str, float]:
        return self.quantile(0.5)

    def particle(self, i: int) -> dict[str, float]:
        return {name: float(v) for name, v in zip(self.names, self.values[i])}

    def draw_index(self, ss: np.random.SeedSequence) -> int:
        """The particle replication ``ss`` uses: a weighted draw from a dedicated child of ``ss``
        (built from its entropy and spawn key, so ``ss`` itself is not advanced)."""
        child = np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, DRAW_KEY), pool_size=ss.pool_size)
        return int(np.random.default_rng(child).choice(self.n, p=self.weights))


# ------------------------------------------------------------------------------------ reading
_CACHE: dict[tuple[str, int, int], Posterior] = {}


def load_posterior(path: str | os.PathLike) -> Posterior:
    """Read and check a calibrated file; InputError names the file and what is wrong."""
    p = Path(path)
    name = display(p)
    try:
        st = p.stat()
    except OSError:
        raise InputError(f"{name}: calibrated file not found") from None
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    if key in _CACHE:
        return _CACHE[key]
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{name}: not a readable calibrated file ({str(exc).splitlines()[0]})") from None
    post = _parse(data, name, p)
    _CACHE[key] = post
    return post


def _parse(data: Any, name: str, path: Path) -> Posterior:
    if not isinstance(data, dict):
        raise InputError(f"{name}: must be a mapping written by `python -m sim calibrate`")
    for key in ("region", "parameters", "particles"):
        if key not in data:
            raise InputError(f"{name}: missing key {key!r} (write it with `python -m sim calibrate`)")
    names = data["parameters"]
    parts = data["particles"]
    if not isinstance(names, list) or not names or not isinstance(parts, dict):
        raise InputError(f"{name}: parameters must be a non-empty list and particles a mapping")
    unknown = [n for n in names if n.split(".")[0] not in Uncertainties.model_fields]
    if unknown:
        raise InputError(f"{name}: parameters: {unknown[0]!r} is not an uncertainty")
    missing = [c for c in ["weight", *names] if c not in parts]
    if missing:
        raise InputError(f"{name}: particles: missing column {missing[0]!r}")
    try:
        w = np.asarray(parts["weight"], dtype=float)
        vals = np.column_stack([np.asarray(parts[n], dtype=float) for n in names])
    except (TypeError, ValueError):
        raise InputError(f"{name}: particles: every column must be a list of numbers") from None
    if w.ndim != 1 or vals.shape[0] != len(w) or len(w) == 0:
        raise InputError(f"{name}: particles: every column must have the same, non-zero length")
    if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0 and np.all(np.isfinite(vals))):
        raise InputError(f"{name}: particles: weights must be non-negative with a positive sum, values finite")
    for j, n in enumerate(names):
        for v in (vals[:, j].min(), vals[:, j].max()):
            try:
                Uncertainties(**with_values({}, {n: float(v)}))
            except Exception:
                raise InputError(f"{name}: particles: {n} = {v:g} is outside what uncertainties.{n} allows") from None
    meta = {k: v for k, v in data.items() if k not in ("parameters", "particles")}
    return Posterior(str(data["region"]), tuple(names), w / w.sum(), vals, path, meta)


def write_posterior(path: Path, post: Posterior, header: str) -> None:
    """Write the calibrated file: metadata first, then particles column by column (compact)."""
    doc = dict(post.meta)
    doc["region"] = post.region
    doc["parameters"] = list(post.names)
    doc["median"] = {k: float(f"{v:.6g}") for k, v in post.median().items()}
    head = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
    cols = {"weight": post.weights, **{n: post.values[:, j] for j, n in enumerate(post.names)}}
    lines = ["particles:"]
    for c, v in cols.items():
        lines.append(f"  {c}: [" + ", ".join(f"{x:.6g}" for x in v) + "]")
    comment = "".join(f"# {ln}\n" for ln in header.splitlines())
    write_text(path, comment + head + "\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------- for runs
def calibration_file(cfg: SimConfig) -> Path:
    f = cfg.calibration.file
    return default_file(cfg.region.name) if f is None else resolve_path(f)


def resolve(cfg: SimConfig) -> Posterior | None:
    """The posterior a run uses, or None when it uses the region's own values."""
    use = cfg.calibration.use
    if use == "none":
        return None
    path = calibration_file(cfg)
    if use == "auto" and cfg.calibration.file is None and not path.exists():
        return None
    return load_posterior(path)


def provenance(cfg: SimConfig) -> str:
    """Which calibration a run uses, in words for its summary: the file, when it was fitted and on
    which simulator source, or the region's own values."""
    post = resolve(cfg)
    if post is None:
        why = "calibration.use=none" if cfg.calibration.use == "none" else f"no {display(calibration_file(cfg))}"
        return f"Parameters: the region's own values (configs/uncertainties/{cfg.region.name}.yaml; {why})."
    how = "posterior median" if cfg.calibration.use == "median" else "a posterior draw per replication"
    stale = "".join(f" May be stale: {why}." for why in staleness(cfg, post))
    hand = set_by_hand(cfg, post)
    kept = f" Set by hand, not drawn: {', '.join(hand)}." if hand else ""
    return (f"Parameters: {how} from {display(post.path)} (created {post.meta.get('created', 'unknown')}, "
            f"model source {post.meta.get('model_source', 'unknown')}); parameters.csv lists each replication's."
            f"{kept}{stale}")


def check_calibration(cfg: SimConfig) -> None:
    """Before anything is written: a run that asks for a posterior must find a usable one, and a
    single-region run a national bar made for its batches. Raises InputError naming the field."""
    try:
        _check_calibration(cfg)
    except ValueError as exc:
        raise InputError(f"invalid config: {exc}") from None
    national_bar(cfg)


def _check_calibration(cfg: SimConfig) -> None:
    use = cfg.calibration.use
    if use == "none":
        return
    path = calibration_file(cfg)
    if not path.exists():
        if use == "auto" and cfg.calibration.file is None:
            return
        raise ValueError(
            f"calibration.{'file' if cfg.calibration.file else 'use'}: {use} needs a calibrated file but "
            f"{display(path)} does not exist; run `python -m sim calibrate region={cfg.region.name}` "
            "or set calibration.use=none"
        )
    try:
        post = load_posterior(path)
    except InputError as exc:
        raise ValueError(f"calibration.file: {exc}") from None
    if post.region != cfg.region.name:
        raise ValueError(
            f"calibration.file: {display(path)} was fitted for region {post.region!r}, not "
            f"{cfg.region.name!r}; pass the file of this region or calibration.use=none"
        )


def fixed_uncertainties(cfg: SimConfig, fitted: list[str]) -> dict[str, float | None]:
    """The uncertainties a fit holds at the region file's values, as stored beside it: every scalar
    not fitted, and each area's entry of an area mapping (``area_push_points.beijing``) not fitted,
    so a run that sets one by hand is told its fit was made without it (``staleness``)."""
    now = cfg.uncertainties.model_dump()
    fixed = {k: v for k, v in now.items() if k not in fitted and not isinstance(v, dict)}
    areas = [a.name for a in cfg.region.areas if a.name != REST]
    fixed.update({n: value_of(now, n) for m in AREA_MAPPINGS for a in areas if (n := f"{m}.{a}") not in fitted})
    return fixed


def staleness(cfg: SimConfig, post: Posterior) -> list[str]:
    """Why a posterior may no longer fit this run: the simulator's code, the fixed uncertainties, the
    behaviour, region or MIIT settings, or (single region) the national bar changed since it was
    fitted. Runs warn about it; they still use the posterior."""
    why = []
    src = post.meta.get("model_source")
    if src and src != model_source_hash():
        why.append("the simulator's source changed since the fit")
    fixed = post.meta.get("fixed_uncertainties") or {}
    now = cfg.uncertainties.model_dump()
    changed = [k for k, v in fixed.items()
               if k.split(".")[0] in now and k not in post.names and not _same(value_of(now, k), v)]
    if changed:
        why.append("uncertainties the fit held fixed differ from its values (set by hand, or the region "
                   "file changed since): " + ", ".join(changed[:5]))
    behaviour = post.meta.get("behaviour")
    if behaviour is not None and behaviour != cfg.behaviour.model_dump(mode="json"):
        why.append("the behaviour settings differ from those of the fit (configs/behaviour/)")
    settings = post.meta.get("settings")
    if isinstance(settings, dict):
        moved = [f"{k} ({'unset' if fit is MISSING else fit} at the fit, {'unset' if run is MISSING else run} now)"
                 for k, fit, run in differences(settings, fit_settings(cfg))]
        if moved:
            why.append("region or MIIT settings differ from those of the fit: " + "; ".join(moved[:5])
                       + (f" and {len(moved) - 5} more" if len(moved) > 5 else ""))
    met = post.meta.get("national_bar_created")
    bar = national_bar(cfg) if met else None
    if bar is not None and bar.created != met:
        why.append(f"the fit met the national merit bar of the national fit created {met}; this run meets "
                   f"{display(bar.path)}, created {bar.created}")
    ranked = post.meta.get("national_bar_ranked_until")
    if bar is not None and ranked != bar.ranked_until:
        over = "every year" if ranked is None else f"the years to {ranked}"
        why.append(f"the fit ranked the national bar's trajectories over {over}; this run ranks them over the "
                   f"years to {bar.ranked_until}, so a fitted national_bar_quantile meets another trajectory")
    return why


def fit_settings(cfg: SimConfig) -> dict:
    """The region and MIIT settings a fit is made with, as stored beside it (YAML's form)."""
    blocks = {b: getattr(cfg, b).model_dump(mode="json", exclude=skip) for b, skip in NOT_FIT_SETTINGS.items()}
    return yaml.safe_load(yaml.safe_dump(blocks, sort_keys=False, allow_unicode=True))


def set_by_hand(cfg: SimConfig, post: Posterior) -> list[str]:
    """Fitted parameters this run sets by hand, which keep the run's value: those its overrides name
    (``uncertainties.failure_rate=0.1``, even when that is the region file's value), and those set to
    something other than the region file's value at the fit (a config built in code)."""
    fitted_at = post.meta.get("region_values") or {}
    now = cfg.uncertainties.model_dump()
    return [n for n in post.names if cfg.names_uncertainty(n)
            or (n in fitted_at and not _same(value_of(now, n), fitted_at[n]))]


def _same(a: float | None, b: float | None) -> bool:
    """Two values of an uncertainty are the same: both unset (None or NaN), or close."""
    a, b = (np.nan if v is None else v for v in (a, b))
    return bool(np.isclose(a, b, equal_nan=True))


# ------------------------------------------------------------------------- national merit bar
@dataclass(frozen=True)
class NationalBar:
    """MIIT's merit bar of each batch year in the calibrated national model's posterior-predictive
    runs (one trajectory per run, with the experts' noise that run used): how the rest of China's
    nominees enter a single-region run."""

    years: tuple[int, ...]
    draws: np.ndarray  # (runs, years): merit of the last nominee admitted; -inf when nominees were short
    noise: np.ndarray  # (runs,): merit_noise_points of each run
    path: Path
    created: str | None = None  # when the national fit holding it was made (a single-region fit records it)
    ranked_until: int | None = None  # the last year whose batch MIIT published (``index_at``); None: every year

    def __hash__(self) -> int:
        return id(self)

    def draw_index(self, ss: np.random.SeedSequence) -> int:
        """The trajectory replication ``ss`` meets: a draw from its own child key (not ``ss`` itself)."""
        child = np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, BAR_KEY), pool_size=ss.pool_size)
        return int(np.random.default_rng(child).integers(len(self.noise)))

    def index_at(self, q: float) -> int:
        """The trajectory at quantile ``q`` of the trajectories ranked from lowest to highest bar (by
        their mean rank over the batch years up to ``ranked_until``; a year short of nominees ranks
        lowest), so that nearby quantiles are similar bars and a fit can move between them. Only the
        years of published batches rank: they are what a fit of the bar's quantile sees, so a national
        variant that differs only in later years (an assumption about them) keeps every quantile's
        trajectory, and a forecast against it stays paired with the installed one."""
        cols = [k for k, y in enumerate(self.years) if self.ranked_until is None or y <= self.ranked_until]
        draws = self.draws[:, cols] if cols else self.draws
        ranks = draws.argsort(axis=0, kind="stable").argsort(axis=0, kind="stable").mean(axis=1)
        order = np.argsort(ranks, kind="stable")
        return int(order[min(int(q * len(order)), len(order) - 1)])

    def index_for(self, cfg: SimConfig, ss: np.random.SeedSequence) -> int:
        """The trajectory ``cfg`` meets: at its ``national_bar_quantile`` (fitted with its particle, or
        set by hand), else replication ``ss``'s own draw."""
        q = cfg.uncertainties.national_bar_quantile
        return self.draw_index(ss) if q is None else self.index_at(q)

    def applied(self, cfg: SimConfig, i: int) -> SimConfig:
        """``cfg`` meeting trajectory ``i``: its bar by year (raised by ``national_bar_shift_points``
        from ``national_bar_shift_from`` on), and the experts' noise behind it."""
        u = cfg.uncertainties
        bar = {y: float(v) + (u.national_bar_shift_points if y >= u.national_bar_shift_from else 0.0)
               for y, v in zip(self.years, self.draws[i])}
        miit = cfg.miit.model_copy(update={"bar": bar})
        unc = u.model_copy(update={"merit_noise_points": float(self.noise[i])})
        return cfg.model_copy(update={"miit": miit, "uncertainties": unc})


def batches_of(cfg: SimConfig) -> dict:
    """MIIT's batch sizes a national bar was made with, stored beside it (``merit_bar.batches``)."""
    return _batches(cfg.miit.batch_sizes, cfg.miit.batch_after)


def _batches(sizes: dict, after) -> dict:
    """One form for the batches of a config and of a stored bar (YAML may give years as strings)."""
    return {"sizes": {int(y): int(n) for y, n in sizes.items()}, "after": int(after)}


def national_bar(cfg: SimConfig) -> NationalBar | None:
    """The national bar a single-region run meets (None for the national model itself, or when no
    calibrated national model with a bar exists: the run then meets ``miit.fallback_bar``)."""
    if cfg.region.areas:
        return None
    path = resolve_path(cfg.miit.bar_file) if cfg.miit.bar_file else default_file("national")
    if not path.exists():
        if cfg.miit.bar_file:
            raise InputError(f"miit.bar_file: {display(path)} does not exist")
        return None
    meta = load_posterior(path).meta
    bar, created = meta.get("merit_bar"), meta.get("created")
    created = None if created is None else str(created)
    if not isinstance(bar, dict):
        if cfg.miit.bar_file:
            raise InputError(f"miit.bar_file: {display(path)} holds no merit_bar (fit it with "
                             "`python -m sim calibrate region=national`)")
        return None
    made_with, now = _stored_batches(bar.get("batches")), batches_of(cfg)
    if made_with is not None and made_with != now:
        # the bar is what the rest of China's nominees reached for those batches: another batch moves it
        key = "after" if made_with["after"] != now["after"] else "sizes"
        field, got, had = "miit.batch_" + key, now[key], made_with[key]
        raise InputError(f"{field}: a single-region run meets the national merit bar of {display(path)}, made "
                         f"with {field}={had} (got {got}); allowed: that value, or miit.bar_file= a national "
                         f"fit made with this one (`python -m sim calibrate region=national {field}=...`)")
    try:
        draws = np.array(bar["draws"], dtype=float)
        return NationalBar(tuple(int(y) for y in bar["years"]), draws, np.array(bar["noise"], dtype=float), path,
                           created, max(now["sizes"], default=None))
    except (KeyError, TypeError, ValueError):
        raise InputError(f"miit.bar_file: {display(path)}: merit_bar must hold years, draws and noise") from None


def _stored_batches(batches: dict | None) -> dict | None:
    """A stored ``merit_bar.batches`` in ``batches_of``'s form; None for a bar stored without it
    (fits before 2026-12-04: not checked)."""
    if batches is None:
        return None
    try:
        return _batches(batches["sizes"], batches["after"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InputError("miit.bar_file: merit_bar.batches must hold sizes (year: titles) and after") from None


def replication_parameters(cfg: SimConfig, seeds: list[np.random.SeedSequence]) -> tuple[list[SimConfig], pd.DataFrame]:
    """Per replication: the config it runs (uncertainties from its posterior draw; in a single-region
    run, the national bar trajectory it meets; its lever effects) and a table of what each
    replication used. Lever effects are drawn last: they override a fitted value of the same name."""
    cfgs, table = _posterior_draws(cfg, seeds)
    bar = national_bar(cfg)
    if bar is not None:
        picks = [bar.index_for(c, ss) for c, ss in zip(cfgs, seeds)]
        cfgs = [bar.applied(c, i) for c, i in zip(cfgs, picks)]
        table = table.assign(bar_draw=picks, merit_noise_points=[float(bar.noise[i]) for i in picks])
    effects = [effect_values(cfg, ss) for ss in seeds]
    if effects and effects[0]:
        cfgs = [with_effects(c, e) for c, e in zip(cfgs, effects)]
        table = pd.concat([table, pd.DataFrame(effects).add_prefix("effect:")], axis=1)
    return cfgs, table


def _posterior_draws(cfg: SimConfig, seeds: list[np.random.SeedSequence]) -> tuple[list[SimConfig], pd.DataFrame]:
    post = resolve(cfg)
    if post is None:
        table = pd.DataFrame({"replication": range(len(seeds)), "source": "region values", "particle": -1})
        return [cfg] * len(seeds), table
    rows, cfgs = [], []
    median = post.median() if cfg.calibration.use == "median" else None
    base = cfg.uncertainties.model_dump()
    by_hand = set_by_hand(cfg, post)
    for k, ss in enumerate(seeds):
        if median is not None:
            i, params, source = -1, dict(median), "posterior median"
        else:
            i = post.draw_index(ss)
            params, source = post.particle(i), "posterior draw"
        params.update({n: value_of(base, n) for n in by_hand})
        unc = type(cfg.uncertainties).model_validate(with_values(base, params))
        cfgs.append(cfg.model_copy(update={"uncertainties": unc}))
        rows.append({"replication": k, "source": source, "particle": i, **params})
    return cfgs, pd.DataFrame(rows)
