"""What the harness costs around the models: the figures of issue "One core, three tasks".

    python benchmarks/overhead.py            # all four figures
    python benchmarks/overhead.py --no-demo  # skip the ~2.5-minute demo run

1. `bakeoff --help`: process start to help printed (target <= 0.5 s).
2. Telco end to end with `--only constant,rules,linear`: process start to verdict printed, with
   MLflow tracking as a user runs it (target <= 5 s on 2 cores).
3. The demo (`make demo`: the Telco card, every candidate): harness overhead = wall time minus
   the time the candidates' own fitting, tuning and scoring needs on the run's workers (each
   candidate's `work_seconds`, scheduled simplest first on `workers` lanes as the race does);
   target <= 10 % of wall.
4. 500 bootstrap resamples of ROC AUC on 50,000 rows: the vectorised bootstrap against
   scikit-learn's `roc_auc_score` once per resample (target <= 0.2 s).

Each figure is the best of `--repeat` runs (default 3; the demo once). Runs write to a
temporary folder; tracking goes to a fresh SQLite store there, as on a first run.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "examples" / "telco_churn" / "bakeoff.toml"
BAKEOFF = Path(sys.executable).with_name("bakeoff")


def timed(args: list[str], folder: Path) -> tuple[float, float | None, dict | None]:
    """Wall seconds of one `bakeoff` command to its exit and to its verdict line
    ("Recommended: ..."), and the result.json it wrote (if any)."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}"}
    start = time.perf_counter()
    verdict, lines = None, []
    with subprocess.Popen([str(BAKEOFF), *args], cwd=folder, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            lines.append(line)
            if verdict is None and line.startswith(("Recommended:", "No recommendation:")):
                verdict = time.perf_counter() - start
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"bakeoff {' '.join(args)} failed:\n{''.join(lines)[-2000:]}")
    results = sorted(folder.glob("runs/*/result.json"), key=lambda p: p.stat().st_mtime)
    return wall, verdict, json.loads(results[-1].read_text()) if results else None


def best_of(repeat: int, args: list[str]) -> tuple[float, float | None, dict | None, float]:
    """The best of `repeat` runs in one folder (its MLflow store made by the first): wall time to
    exit, to the verdict, the result; and the first run's wall time (a new store: MLflow creates
    its tables)."""
    with tempfile.TemporaryDirectory() as folder:
        runs = [timed([*args, "--out", folder] if args[0] == "run" else args, Path(folder))
                for _ in range(repeat)]
    wall, verdict, result = min(runs, key=lambda r: r[0])
    return wall, verdict, result, runs[0][0]


def makespan(work: list[float], workers: int) -> float:
    """Seconds `work` takes on `workers` lanes, started in order as lanes free up.

    >>> makespan([1.0, 2.0, 3.0], 2)
    4.0
    """
    lanes = [0.0] * workers
    for seconds in work:
        heapq.heappush(lanes, heapq.heappop(lanes) + seconds)
    return max(lanes)


def harness(wall: float, result: dict) -> tuple[float, float]:
    """(the candidates' own seconds on the run's workers, the harness's seconds)."""
    workers = min(2, os.cpu_count() or 1)
    rows = sorted(result["candidates"], key=lambda r: r["rung"])
    own = makespan([r.get("work_seconds") or (r["wall_seconds"] if r["status"] == "timeout" else 0.0)
                    for r in rows], workers)  # a candidate stopped at its slice worked all of it
    return own, wall - own


def bootstrap_figures() -> tuple[float, float]:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from bakeoff.core.metrics import fold_bootstrap
    from bakeoff.tasks.tabular.metrics import METRICS

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50_000)
    p = np.clip(0.3 * y + rng.random(50_000), 0, 1)
    proba, rows = np.column_stack([1 - p, p]), [np.arange(50_000)]
    ours = min(_clock(lambda: fold_bootstrap(METRICS["roc_auc"], y, proba, rows, 500, 0)) for _ in range(3))

    def loop():
        draw = np.random.default_rng(0)
        for _ in range(500):
            picked = draw.integers(0, 50_000, 50_000)
            roc_auc_score(y[picked], p[picked])

    return ours, _clock(loop)


def _clock(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    help_wall, _, _, _ = best_of(args.repeat, ["--help"])
    print(f"bakeoff --help                          {help_wall:6.2f} s   (target <= 0.5 s)")
    quick_wall, verdict, quick, first = best_of(args.repeat, ["run", str(CARD), "--only", "constant,rules,linear"])
    own, _ = harness(quick_wall, quick)
    print(f"telco --only constant,rules,linear      {quick_wall:6.2f} s   (target <= 5 s; verdict printed at "
          f"{verdict:.2f} s; candidates' own work {own:.2f} s; first run, new MLflow store: {first:.2f} s)")
    ours, sklearn_loop = bootstrap_figures()
    print(f"500 resamples ROC AUC, 50,000 rows      {ours:6.3f} s   (target <= 0.2 s; "
          f"scikit-learn per resample {sklearn_loop:.2f} s, {sklearn_loop / ours:.0f}x)")
    if args.no_demo:
        return
    demo_wall, _, demo, _ = best_of(1, ["run", str(CARD)])
    own, overhead = harness(demo_wall, demo)
    print(f"demo: wall {demo_wall:.1f} s, candidates' own work {own:.1f} s, harness {overhead:.1f} s "
          f"= {overhead / demo_wall:.1%} of wall   (target <= 10 %)")


if __name__ == "__main__":
    main()
