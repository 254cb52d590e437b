"""Benchmark: population PK throughput and memory (issue 4).

Prints, in one run on one machine:
1. subject-timepoints per second of ketaclinic's exact engine for a Domino population
   (0.5 mg/kg IV over 40 min at each subject's weight, weights uniform 50-100 kg, 200 time
   points over 8 h) for one million subjects over the default local process pool, with peak
   memory (sum of the resident memory of the main process and its workers, sampled every 50 ms);
2. the same work with SciPy's ``solve_ivp`` per subject (its defaults, RK45 with rtol 1e-3, and
   LSODA with rtol 1e-6, atol 1e-9 mg; both split at the end of the infusion) on a sample of
   subjects, scaled to subject-timepoints per second;
3. their ratio; and, for context, the engine's throughput for Herd 2007 (with its published
   inter-individual variability, so every subject has its own eigen-decomposition).

Run: .venv/bin/python benchmarks/pk_population.py [--subjects 1000000] [--baseline-sample 200]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.pharmacology import (
    Covariates,
    Dose,
    PopulationRequest,
    Regimen,
    simulate_population,
)
from ketaclinic.pharmacology.parameters import CovariateArrays, individual_values
from ketaclinic.pharmacology.schema import load_model_spec
from ketaclinic.pharmacology.structures import build_model

TIMES_MIN = tuple(float(t) for t in np.linspace(0.0, 480.0, 200))
WEIGHT_RANGE_KG = (50.0, 100.0)
REFERENCE_WEIGHT_KG = 75.0


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            for child in children:
                found.append(int(child))
                found.extend(_descendants(int(child)))
    except OSError:
        pass
    return found


class PeakMemory:
    """Samples the resident memory of this process and all its descendants."""

    def __init__(self) -> None:
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            total = _rss_bytes(me) + sum(_rss_bytes(pid) for pid in _descendants(me))
            self.peak_bytes = max(self.peak_bytes, total)
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _regimen() -> Regimen:
    # 0.5 mg/kg for the reference weight; the engine run scales it to each subject's weight
    # (per_kg_doses), and the solve_ivp baseline does the same.
    return Regimen((Dose(Route.IV, 0.5 * REFERENCE_WEIGHT_KG, 0.0, 40.0),))


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (the pool's workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def engine_run(
    model_id: str, subjects: int, workers: int | None
) -> tuple[float, float, int, float]:
    request = PopulationRequest(
        model_id,
        _regimen(),
        TIMES_MIN,
        subjects,
        2024,
        Covariates(REFERENCE_WEIGHT_KG),
        weight_range_kg=WEIGHT_RANGE_KG,
        per_kg_doses=True,
    )
    with PeakMemory() as memory:
        cpu_start = _cpu_seconds()
        start = time.perf_counter()
        result = simulate_population(request, workers=workers, progress=True)
        elapsed = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu_start
    assert result.n_subjects == subjects
    return elapsed, subjects * len(TIMES_MIN) / elapsed, memory.peak_bytes, cpu


def baseline_run(sample: int, method: str, rtol: float, atol: float) -> tuple[float, float]:
    """solve_ivp per subject on the same Domino system (matrices built by the same model code)."""
    spec = load_model_spec("domino")
    rng = np.random.default_rng(7)
    weights = rng.uniform(*WEIGHT_RANGE_KG, sample)
    covariates = CovariateArrays.repeat(Covariates(REFERENCE_WEIGHT_KG), sample)
    covariates = CovariateArrays(
        weights,
        covariates.age_years,
        covariates.asian,
        covariates.japanese,
        covariates.hours_since_first_dose,
        covariates.age_known,
    )
    built = build_model(spec, individual_values(spec, covariates), _regimen())
    times = np.asarray(TIMES_MIN)
    start = time.perf_counter()
    for subject in range(sample):
        matrix = built.system.matrix_per_min[subject]
        infusion = np.zeros(matrix.shape[0])
        infusion[0] = 0.5 * weights[subject] / 40.0  # 0.5 mg/kg over 40 min
        during = times[times <= 40.0]
        first = solve_ivp(
            lambda t, x, u=infusion, a=matrix: a @ x + u,
            (0.0, 40.0),
            np.zeros(matrix.shape[0]),
            method=method,
            t_eval=during,
            rtol=rtol,
            atol=atol,
        )
        second = solve_ivp(
            lambda t, x, a=matrix: a @ x,
            (40.0, 480.0),
            first.y[:, -1],
            method=method,
            t_eval=times[times > 40.0],
            rtol=rtol,
            atol=atol,
        )
        assert first.success
        assert second.success
    elapsed = time.perf_counter() - start
    return elapsed, sample * len(TIMES_MIN) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--baseline-sample", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None, help="default: all cores")
    args = parser.parse_args()
    cores = os.cpu_count()
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.2f} at start")

    elapsed, engine_rate, peak, cpu = engine_run("domino", args.subjects, args.workers)
    points = args.subjects * len(TIMES_MIN)
    print(
        f"engine  domino: {args.subjects:,} subjects x {len(TIMES_MIN)} times in {elapsed:.2f} s "
        f"= {engine_rate / 1e6:.1f} million subject-timepoints/s (wall clock); "
        f"peak memory {peak / 2**20:.0f} MiB"
    )
    # CPU time does not depend on other programs sharing the cores: the rate two idle cores
    # would reach if the work split evenly (an estimate, printed as such).
    print(
        f"engine  domino CPU time {cpu:.2f} s = {points / cpu / 1e6:.1f} million "
        f"subject-timepoints per CPU-second; on {cores} idle cores about "
        f"{points / cpu * (cores or 1) / 1e6:.1f} million/s (estimate)"
    )
    for label, method, rtol, atol in (
        ("defaults (RK45, rtol 1e-3, atol 1e-6)", "RK45", 1e-3, 1e-6),
        ("LSODA, rtol 1e-6, atol 1e-9", "LSODA", 1e-6, 1e-9),
    ):
        base_elapsed, base_rate = baseline_run(args.baseline_sample, method, rtol, atol)
        print(
            f"solve_ivp {label}: {args.baseline_sample} subjects in {base_elapsed:.2f} s = "
            f"{base_rate:,.0f} subject-timepoints/s (scaled); engine / solve_ivp = "
            f"{engine_rate / base_rate:,.0f}x"
        )
    herd_subjects = max(args.subjects // 4, 1)
    herd_elapsed, herd_rate, herd_peak, _ = engine_run("herd", herd_subjects, args.workers)
    print(
        f"engine  herd (with IIV): {herd_subjects:,} subjects in {herd_elapsed:.2f} s = "
        f"{herd_rate / 1e6:.1f} million subject-timepoints/s; "
        f"peak memory {herd_peak / 2**20:.0f} MiB"
    )
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
