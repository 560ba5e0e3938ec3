"""Many models: the per-series forecasting bake-off on the local engine, on Spark local[2] and
on a Spark standalone cluster (a master and one 2-core worker on loopback), side by side.

Synthetic series, seeded: half daily (a weekly season, a trend, noise), half hourly-shaped
(a 24-step season); 120 steps each, horizon 14, two windows, the ladder's cheap per-series
rungs (naive, seasonal naive, window average, simple exponential smoothing). Each run is the
real `bakeoff run` in its own process; its driver's peak memory (resident, the Python process
that runs bakeoff) is sampled from /proc while it runs.

    python benchmarks/many_models.py                         # 1,000 and 10,000 series, all engines
    python benchmarks/many_models.py --series 100000 --engines spark-local
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BAKEOFF = Path(sys.executable).with_name("bakeoff")
sys.path.insert(0, str(REPO / "tests"))  # the loopback cluster the tests start

CARD = """
[problem]
name = "many series"
task = "forecast"
[data]
source = "series.parquet"
id = "series"
time = "step"
target = "value"
[forecast]
horizon = 14
season_length = 7
windows = 2
[budget]
total = "60m"
per_candidate = "30m"
[ladder]
only = ["naive", "seasonal_naive", "window_average", "ses"]
{engine}
"""
ENGINES = {"local": "", "spark-local": '[engine]\nkind = "spark"\nmaster = "local[2]"\n',
           "spark-cluster": '[engine]\nkind = "spark"\nmaster = "{master}"\n'}
GOAL_SPARK_RATIO, GOAL_GROWTH = 1.5, 11.0


def series(count: int, length: int = 120, seed: int = 0) -> pd.DataFrame:
    """`count` seeded series in long form (series, step, value)."""
    rng = np.random.default_rng(seed)
    steps = np.arange(length)
    season = np.where(np.arange(count)[:, None] % 2 == 0, np.sin(2 * np.pi * steps / 7),
                      np.sin(2 * np.pi * steps / 24))
    level = rng.uniform(20, 200, (count, 1))
    values = level * (1 + 0.2 * season + 0.001 * rng.normal(0, 1, (count, 1)) * steps) + rng.normal(0, 2, (count, length))
    return pd.DataFrame({"series": np.repeat([f"s{k:06d}" for k in range(count)], length),
                         "step": np.tile(steps + 1, count), "value": values.ravel()})


def run(folder: Path, engine: str) -> dict:
    """`bakeoff run` in its own process: wall seconds, the driver's peak RSS, and the exit code."""
    (folder / "bakeoff.toml").write_text(CARD.format(engine=engine))
    began = time.perf_counter()
    process = subprocess.Popen([str(BAKEOFF), "run", "bakeoff.toml", "--no-track"], cwd=folder,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0]
    sampler = threading.Thread(target=_sample_rss, args=(process, peak), daemon=True)
    sampler.start()
    _, err = process.communicate()
    wall = time.perf_counter() - began
    sampler.join()
    return {"seconds": wall, "peak_mb": peak[0] / 2**20, "exit": process.returncode,
            "error": err.strip().splitlines()[-1] if process.returncode else None}


def _sample_rss(process: subprocess.Popen, peak: list[int]) -> None:
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    peak[0] = max(peak[0], int(line.split()[1]) * 1024)
        except OSError:
            return
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="1000,10000", help="comma-separated series counts")
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated, of {', '.join(ENGINES)}")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    counts = [int(c) for c in args.series.split(",")]
    engines = args.engines.split(",")
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        cluster = None
        if "spark-cluster" in engines:
            from spark_cluster import standalone

            cluster = standalone(Path(tmp), cores=2, memory="4g")
            master = cluster.__enter__()
        try:
            print(f"{'series':>8}  {'engine':<14}{'seconds':>9}{'series/s':>10}{'driver MB':>11}")
            for count in counts:
                data = Path(tmp) / f"n{count}"
                data.mkdir()
                series(count).to_parquet(data / "series.parquet", index=False)
                for name in engines:
                    folder = data / name
                    folder.mkdir()
                    os.link(data / "series.parquet", folder / "series.parquet")
                    engine = ENGINES[name].format(master=master) if name == "spark-cluster" else ENGINES[name]
                    got = run(folder, engine)
                    figures.setdefault(name, {})[count] = got
                    rate = count / got["seconds"]
                    note = f"  exit {got['exit']}: {got['error']}" if got["exit"] else ""
                    print(f"{count:>8,}  {name:<14}{got['seconds']:>9.1f}{rate:>10.0f}{got['peak_mb']:>11.0f}{note}",
                          flush=True)
        finally:
            if cluster is not None:
                cluster.__exit__(None, None, None)
    _goals(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


def _goals(figures: dict) -> None:
    local, spark = figures.get("local", {}), figures.get("spark-local", {})
    if 10_000 in local and 10_000 in spark:
        ratio = spark[10_000]["seconds"] / local[10_000]["seconds"]
        print(f"  {'PASS' if ratio <= GOAL_SPARK_RATIO else 'MISS'}  Spark local[2] within {GOAL_SPARK_RATIO}x "
              f"of the local engine at 10,000 series ({ratio:.2f}x)")
    for name, runs in figures.items():
        if 10_000 in runs and 100_000 in runs:
            growth = runs[100_000]["seconds"] / runs[10_000]["seconds"]
            memory = runs[100_000]["peak_mb"] / runs[10_000]["peak_mb"]
            print(f"  {'PASS' if growth <= GOAL_GROWTH else 'MISS'}  {name}: 100,000 series take {growth:.1f}x "
                  f"10,000's time (goal <= {GOAL_GROWTH}x); driver memory {memory:.2f}x")


if __name__ == "__main__":
    main()
