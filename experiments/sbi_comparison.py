"""ABC-SMC against neural posterior estimation (sbi's NPE), on the Chongqing fit's simulation budget.

Issue 11 asks for this when ABC-SMC cannot bring every fitted figure inside its tolerance within
20 minutes (the committed Chongqing fit: 7,610 simulations in 18.1 min, threshold 1.39, two figures
outside). Three steps, because the simulator needs Python >= 3.12 (Mesa 3) and this machine's
only CPU build of PyTorch is for Python 3.11 (a PyPI torch for 3.12 is a CUDA build of several GB):

    python experiments/sbi_comparison.py simulate [--n 7610 --holdout 300]   # project venv: prior draws
    SBI_PYTHON train                                                         # a venv with sbi + torch
    python experiments/sbi_comparison.py check [--replications 40]          # project venv: both posteriors

* simulate: ``n`` parameter vectors from the fit's own prior (``calibration.priors``, uniform in the
  space ABC samples: log10 for log priors), each simulated exactly as an ABC particle is
  (``sim.calibration.driver.Simulator``: same config, same per-particle seed, its own draw of the
  national merit bar), giving the fitted figures; ``holdout`` more for the coverage check.
* train: NPE (sbi, masked autoregressive flow) on log(1 + figures), one round from the prior
  (amortised: the same network gives the posterior of any data set, which is what makes a coverage
  check on synthetic data cheap); 2,000 draws at the reported figures, from the network's density
  restricted to the prior's box by slice sampling (at these figures almost all of the network's
  mass lies outside the box, so sbi's default rejection sampling would not finish). Coverage: for each held-out
  simulation, the share of held-out true parameters inside the posterior's central 10-90% interval
  at its own synthetic figures (should be ~80%), and simulation-based-calibration ranks.
* check: posterior-predictive runs of both posteriors (the committed ABC one and NPE's, written in
  the same calibrated-file format), same replication seeds, through ``sim.calibration.check``: each
  figure's median, 90% interval, in tolerance, in interval. Writes experiments/results/sbi_comparison.{md,json}.

Sequential NPE (several rounds, each from the last posterior) would spend more of the budget near
the reported figures, but its posterior is valid only there, so a coverage check would need a new
fit per synthetic data set; one amortised round keeps the check honest on the same budget.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("SBI_RESULTS", HERE / "results"))  # another directory for a trial run
SIMS = RESULTS / "sbi_simulations.npz"
NPE_FILE = RESULTS / "sbi_npe.npz"
NPE_POSTERIOR = RESULTS / "sbi_npe_posterior.yaml"
REPORT = RESULTS / "sbi_comparison.md"


def _setup(region: str):
    from sim.calibration.driver import Simulator, fit_config
    from sim.calibration.targets import build_targets, fitted
    from sim.commands.run import compose_job

    cfg = compose_job([f"region={region}"])
    targets = build_targets(cfg)
    fit_t = fitted(targets)
    return cfg, fit_t, Simulator(fit_config(cfg, targets), cfg.calibration, fit_t)


_SIM = None


def _init(region: str) -> None:
    global _SIM
    _SIM = _setup(region)[2]


def _simulate_one(theta: np.ndarray) -> np.ndarray:
    from sim.calibration.priors import pyabc_name, to_natural

    par = {pyabc_name(n): float(v) for n, v in zip(_SIM.priors, theta)}
    return _SIM.simulate(to_natural(_SIM.priors, par))


def simulate(a) -> None:
    from multiprocessing import get_context

    from tqdm import tqdm

    from sim.calibration.priors import bounds

    cfg, fit_t, sim = _setup(a.region)
    names = list(sim.priors)
    lo, hi = np.array([bounds(p) for p in sim.priors.values()]).T
    rng = np.random.default_rng(a.seed)
    total = a.n + a.holdout
    theta = lo + (hi - lo) * rng.random((total, len(names)))
    t = time.perf_counter()
    with get_context("fork").Pool(a.processes, initializer=_init, initargs=(a.region,)) as pool:
        x = np.array(list(tqdm(pool.imap(_simulate_one, theta, chunksize=8), total=total, desc="simulate")))
    wall = time.perf_counter() - t
    RESULTS.mkdir(exist_ok=True)
    np.savez(SIMS, theta=theta, x=x, names=np.array(names), ids=np.array(list(fit_t["id"])),
             observed=fit_t["value"].to_numpy(float), tolerance=fit_t["tolerance"].to_numpy(float),
             low=lo, high=hi, n_train=a.n, wall_seconds=wall, processes=a.processes)
    print(f"{total} simulations ({a.n} for training, {a.holdout} held out) in {wall / 60:.1f} min "
          f"on {a.processes} processes -> {SIMS}")


def train(a) -> None:
    """Runs where sbi and torch are installed (no import of ``sim``)."""
    import torch
    from sbi.inference import NPE
    from sbi.utils import BoxUniform

    torch.manual_seed(a.seed)
    d = np.load(SIMS)
    os.chdir(tempfile.mkdtemp(prefix="sbi-logs-"))  # sbi writes its training logs into the working directory
    theta, x, n = d["theta"], d["x"], int(d["n_train"])
    ok = np.all(np.isfinite(x), axis=1)
    feat = np.log1p(np.maximum(x, 0.0))
    prior = BoxUniform(torch.tensor(d["low"], dtype=torch.float32), torch.tensor(d["high"], dtype=torch.float32))
    tr = np.flatnonzero(ok[:n])
    t = time.perf_counter()
    inf = NPE(prior=prior, density_estimator="maf", show_progress_bars=False)
    inf.append_simulations(torch.tensor(theta[tr], dtype=torch.float32), torch.tensor(feat[tr], dtype=torch.float32))
    est = inf.train(max_num_epochs=a.max_epochs)
    post = inf.build_posterior(est)
    train_s = time.perf_counter() - t
    print(f"trained in {train_s:.0f} s ({inf.summary['epochs_trained'][-1]} epochs)", flush=True)
    x_o = torch.tensor(np.log1p(d["observed"]), dtype=torch.float32)
    # how much of the network's posterior at the reported figures lies inside the prior's box: the
    # share rejection sampling would keep (sbi's default); where it is tiny, draw from the network's
    # density restricted to the box by MCMC instead (slice sampling, sbi's own)
    raw = post.sample((a.draws * 5,), x=x_o, reject_outside_prior=False, show_progress_bars=False).detach().numpy()
    in_prior = float(np.all((raw >= d["low"]) & (raw <= d["high"]), axis=1).mean())
    print(f"share of the posterior at the reported figures inside the prior: {in_prior:.4f}", flush=True)
    restricted = inf.build_posterior(est, sample_with="mcmc", mcmc_method="slice_np_vectorized",
                                     mcmc_parameters={"num_chains": 20, "thin": 2, "warmup_steps": 200})
    samples = restricted.sample((a.draws,), x=x_o, show_progress_bars=False).detach().numpy()
    print(f"{a.draws} draws at the reported figures, {time.perf_counter() - t:.0f} s", flush=True)
    # coverage on synthetic data: held-out simulations as if they were the reported figures
    ho = np.flatnonzero(ok[n:]) + n
    ranks, inside = [], []
    for n_done, k in enumerate(ho):
        if n_done % 50 == 0:
            print(f"coverage: {n_done} of {len(ho)} held-out data sets, {time.perf_counter() - t:.0f} s", flush=True)
        s = post.sample((a.coverage_draws,), x=torch.tensor(feat[k], dtype=torch.float32),
                        show_progress_bars=False).detach().numpy()
        ranks.append((s < theta[k]).sum(axis=0))
        q10, q90 = np.quantile(s, [0.1, 0.9], axis=0)
        inside.append((q10 <= theta[k]) & (theta[k] <= q90))
    np.savez(NPE_FILE, samples=samples, ranks=np.array(ranks), inside=np.array(inside), train_seconds=train_s,
             n_train=len(tr), n_holdout=len(ho), coverage_draws=a.coverage_draws, in_prior=in_prior,
             epochs=int(inf.summary["epochs_trained"][-1]))
    cover = np.array(inside).mean(axis=0)
    print(f"NPE trained on {len(tr)} simulations in {train_s:.0f} s; coverage of the 10-90% interval on "
          f"{len(ho)} held-out data sets: " + ", ".join(f"{c:.2f}" for c in cover) + f" -> {NPE_FILE}")


def check(a) -> None:
    from sim.calibration import check as chk
    from sim.calibration.priors import pyabc_name, to_natural
    from sim.experiment import posterior as post_mod

    cfg, fit_t, sim = _setup(a.region)
    d, r = np.load(SIMS), np.load(NPE_FILE)
    names = [str(n) for n in d["names"]]
    nat = np.array([[to_natural(sim.priors, {pyabc_name(n): v for n, v in zip(names, row)})[n] for n in names]
                    for row in r["samples"]])
    abc_file = post_mod.default_file(a.region)
    abc = post_mod.load_posterior(abc_file)
    meta = {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "model_source": post_mod.model_source_hash(),
            "fit": {"method": "NPE (sbi, MAF), one amortised round from the prior",
                    "simulations": int(d["n_train"]), "simulation_wall_seconds": float(d["wall_seconds"]),
                    "train_seconds": float(r["train_seconds"]), "processes": int(d["processes"])}}
    npe = post_mod.Posterior(a.region, tuple(names), np.full(len(nat), 1.0 / len(nat)), nat, None, meta)
    post_mod.write_posterior(NPE_POSTERIOR, npe, "NPE posterior for the side-by-side check (experiments/sbi_comparison.py)")
    interval = cfg.outcomes.interval
    tables = {}
    for label, f in (("ABC-SMC", abc_file), ("NPE", NPE_POSTERIOR)):
        q, _ = chk.predictive(cfg, f, a.replications, a.processes, cfg.calibration.scale, progress=True)
        tables[label] = chk.target_table(fit_t.reset_index(drop=True), q, interval, cfg.calibration.scale)
    cover = r["inside"].mean(axis=0)
    n_ho = int(r["n_holdout"])
    lines = [
        "# ABC-SMC and NPE side by side: the Chongqing fit", "",
        f"Command: `python experiments/sbi_comparison.py simulate && <sbi venv>/bin/python "
        f"experiments/sbi_comparison.py train && python experiments/sbi_comparison.py check`", "",
        f"* ABC-SMC: the committed fit (`{abc_file.relative_to(HERE.parent)}`), "
        f"{abc.meta['fit']['simulations']:,} simulations in {abc.meta['fit']['wall_seconds'] / 60:.1f} min on "
        f"{abc.meta['fit']['processes']} processes.",
        f"* NPE: {int(r['n_train']):,} simulations from the prior in {float(d['wall_seconds']) / 60:.1f} min on "
        f"{int(d['processes'])} processes (of {int(d['n_train']):,} drawn), network trained in "
        f"{float(r['train_seconds']):.0f} s on one CPU; {n_ho} more simulations held out for the coverage check.",
        f"* NPE at the reported figures: {float(r['in_prior']):.2%} of the network's posterior lies inside the "
        "prior's box (what rejection sampling keeps); the draws below are from its density restricted to "
        "the box (slice sampling).",
        f"* Posterior-predictive check of each: {a.replications} runs, the same replication seeds.", "",
        "| figure | reported | tolerance | ABC median [90%] | ABC ok | NPE median [90%] | NPE ok |",
        "|---|---:|---:|---|---|---|---|",
    ]
    t_abc, t_npe = tables["ABC-SMC"], tables["NPE"]

    def cell(row):
        return f"{row.sim_median:,.0f} [{row.sim_low:,.0f}–{row.sim_high:,.0f}] ({row.rel_error:+.0%})"

    def ok(row):
        return ("tol" if row.in_tolerance else "–") + " / " + ("int" if row.in_interval else "–")

    for ra, rn in zip(t_abc.itertuples(), t_npe.itertuples()):
        lines.append(f"| {ra.id} | {ra.reported:,.0f} | {ra.tolerance:.0%} | {cell(ra)} | {ok(ra)} | {cell(rn)} | {ok(rn)} |")
    summary = {label: {"in_tolerance": int(t.in_tolerance.sum()), "in_interval": int(t.in_interval.sum()),
                       "figures": len(t), "median_abs_rel_error": float(t.rel_error.abs().median())}
               for label, t in tables.items()}
    lines += ["", "ok: tol = median within the figure's tolerance; int = reported value inside the 90% interval.", ""]
    for label, s in summary.items():
        lines.append(f"* {label}: {s['in_tolerance']} of {s['figures']} medians within tolerance, "
                     f"{s['in_interval']} of {s['figures']} reported values inside the interval, median |error| "
                     f"{s['median_abs_rel_error']:.1%}.")
    lines += ["", f"NPE coverage on synthetic data ({n_ho} held-out simulations as data, {int(r['coverage_draws'])} "
              "posterior draws each): share of true parameters inside their 10-90% posterior interval "
              "(calibrated: 0.80):", "",
              "| parameter | coverage |", "|---|---:|"]
    lines += [f"| {n} | {c:.2f} |" for n, c in zip(names, cover)]
    REPORT.write_text("\n".join(lines) + "\n")
    (RESULTS / "sbi_comparison.json").write_text(json.dumps(
        {"summary": summary, "coverage_10_90": dict(zip(names, map(float, cover))),
         "tables": {k: v.to_dict(orient="records") for k, v in tables.items()}}, indent=1, default=str) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("simulate")
    s.add_argument("--n", type=int, default=7610, help="training simulations (the ABC fit's count)")
    s.add_argument("--holdout", type=int, default=300)
    t = sub.add_parser("train")
    t.add_argument("--draws", type=int, default=2000)
    t.add_argument("--coverage-draws", type=int, default=500)
    t.add_argument("--max-epochs", type=int, default=400)
    c = sub.add_parser("check")
    c.add_argument("--replications", type=int, default=40)
    for p in (s, t, c):
        p.add_argument("--region", default="chongqing")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--processes", type=int, default=2)
    a = ap.parse_args()
    if a.cmd != "train":
        sys.path.insert(0, str(HERE.parent))
    {"simulate": simulate, "train": train, "check": check}[a.cmd](a)


if __name__ == "__main__":
    main()
