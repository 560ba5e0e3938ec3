"""Do bakeoff's 95 % score intervals contain the score its models get on unseen rows?

Usage:
    python benchmarks/score_coverage.py [--data adult telco] [--seeds 5] [--budget 90] \\
        [--test-share 0.3] [--bakeoff-holdout 0.0] [--json benchmarks/score_coverage.json]

For each data set and each seed 0..seeds-1:

1. the rows are split once, seeded: `--test-share` (default 0.3) is held out as the test part,
   stratified on the target;
2. bakeoff runs on the rest through its Python API, as `bakeoff_vs_peers.py` does: a card on
   train.csv in a temporary folder (`[budget] total = --budget`, `per_candidate = budget / 3`,
   `[evaluate] seed = the seed`, `holdout = --bakeoff-holdout`, default 0) and
   `bakeoff.core.bake.bake(card, track=False)`;
3. every candidate that finished (status `ok`) is loaded from the run folder and scores the
   test rows; its test score is compared with its `score_ci` in result.json, the 95 %
   percentile interval of its cross-validated score (bootstrap of the out-of-fold predictions).

Printed: a table per data set (seed, candidate, cross-validated score, interval, test score,
inside or not), the candidates that did not finish, and the share of (seed, candidate) pairs
whose interval contains the test score, per data set, per candidate and overall. Goal: >= 90 %.
An interval that is a single point (the constant baseline's ROC AUC is 0.5 on any rows) is
shown but not counted.

Also printed, as a diagnosis and not for the goal: the share covered when the interval is
widened by the test score's own sampling noise (its bootstrap standard error on the test rows,
added in quadrature), which tells an interval that is too narrow for a test part of this size
apart from one that is off-centre.

--data takes names of the bundled sets (adult: benchmarks/data/adult, 32,561 rows; telco:
examples/telco_churn, 7,043 rows) or `PATH.csv:TARGET:POSITIVE[:ID]`. Only binary
classification (ROC AUC) is supported. Telco is too small for a test part of 5,000 rows that
leaves enough rows to train on: at 0.3 it has 2,113 test rows (stated in the output).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from bakeoff.core.bake import bake
from bakeoff.core.card import Card, card_from_dict
from bakeoff.tasks.tabular.predict import load_model

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOAL = 0.90
MIN_TEST_ROWS = 5_000
TEST_RESAMPLES = 200  # bootstrap of the test score, for the diagnosis only


@dataclass(frozen=True)
class DataSet:
    name: str
    path: Path
    target: str
    positive: str
    id: str = ""


BUNDLED = {
    "adult": DataSet("adult", ROOT / "benchmarks/data/adult/adult.csv", "income", ">50K"),
    "telco": DataSet("telco", ROOT / "examples/telco_churn/Telco-Customer-Churn.csv", "Churn", "Yes",
                     "customerID"),
}


def data_set(spec: str) -> DataSet:
    """A bundled set by name, or PATH.csv:TARGET:POSITIVE[:ID]."""
    if spec in BUNDLED:
        return BUNDLED[spec]
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise argparse.ArgumentTypeError(
            f"{spec!r}: give one of {', '.join(BUNDLED)} or PATH.csv:TARGET:POSITIVE[:ID]")
    path = Path(parts[0])
    return DataSet(path.stem, path, parts[1], parts[2], parts[3] if len(parts) == 4 else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", type=data_set, default=[BUNDLED["adult"], BUNDLED["telco"]],
                        help=f"data sets: {', '.join(BUNDLED)} or PATH.csv:TARGET:POSITIVE[:ID] "
                             "(default: adult telco)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--budget", type=float, default=90.0,
                        help="bakeoff's total seconds per run (default 90)")
    parser.add_argument("--test-share", type=float, default=0.3,
                        help="share of the rows held out as the test part (default 0.3)")
    parser.add_argument("--bakeoff-holdout", type=float, default=0.0,
                        help="bakeoff's own holdout share of the rest (default 0: its final models "
                             "are fitted on every training row)")
    parser.add_argument("--json", type=Path, default=HERE / "score_coverage.json",
                        help="write the raw figures here (default benchmarks/score_coverage.json; "
                             "'-' for none)")
    return parser.parse_args(argv)


def quiet() -> None:
    os.environ["PYTHONWARNINGS"] = "ignore"
    warnings.filterwarnings("ignore")


def read(data: DataSet) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows with a target, and 1 for the positive class."""
    frame = pd.read_csv(data.path)
    frame = frame[frame[data.target].notna()].reset_index(drop=True)
    labels = frame[data.target].astype(str).str.strip()
    if labels.nunique() != 2:
        sys.exit(f"{data.name}: {data.target!r} has {labels.nunique()} classes; only binary ROC AUC")
    if data.positive not in set(labels):
        sys.exit(f"{data.name}: no {data.target!r} is {data.positive!r}")
    return frame, (labels == data.positive).to_numpy(int)


def card_for(data: DataSet, train: pd.DataFrame, seed: int, args: argparse.Namespace,
             folder: Path) -> Card:
    train.to_csv(folder / "train.csv", index=False)
    raw = {"problem": {"name": f"coverage {data.name} seed {seed}", "task": "classification"},
           "data": {"source": "train.csv", "target": data.target, "id": data.id,
                    "positive": data.positive},
           "evaluate": {"seed": seed, "holdout": args.bakeoff_holdout},
           "budget": {"total": args.budget, "per_candidate": args.budget / 3}}
    return card_from_dict(raw).with_base_dir(folder)


def test_noise(y: np.ndarray, p: np.ndarray, seed: int) -> float:
    """Bootstrap standard error of the ROC AUC on these test rows."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(TEST_RESAMPLES):
        rows = rng.integers(0, len(y), len(y))
        if y[rows].min() != y[rows].max():
            draws.append(roc_auc_score(y[rows], p[rows]))
    return float(np.std(draws, ddof=1))


def one_run(data: DataSet, frame: pd.DataFrame, y: np.ndarray, seed: int,
            args: argparse.Namespace) -> dict:
    """bakeoff on the training part of one seeded split; each finished candidate's test score."""
    train, test = train_test_split(np.arange(len(frame)), test_size=args.test_share,
                                   random_state=seed, stratify=y)
    raw_test, y_test = frame.iloc[test], y[test]
    with tempfile.TemporaryDirectory(prefix="bakeoff-coverage-") as tmp:
        card = card_for(data, frame.iloc[train], seed, args, Path(tmp))
        load = os.getloadavg()[0]
        start = time.perf_counter()
        outcome = bake(card, out=Path(tmp), track=False)
        wall = time.perf_counter() - start
        result = outcome.result.to_dict()
        if result["classes"][-1] != data.positive:
            sys.exit(f"bakeoff's positive class is {result['classes'][-1]!r}, not {data.positive!r}")
        rows = []
        for row in result["candidates"]:
            entry = {"name": row["name"], "rung": row["rung"], "status": row["status"],
                     "cv_score": row["score"], "score_ci": row["score_ci"],
                     "holdout_score": row["holdout_score"],
                     "tuning": row.get("tuning"), "wall_seconds": row["wall_seconds"]}
            if row["status"] == "ok":
                p = load_model(outcome.run_dir, row["name"]).score(raw_test)["probability"]
                p = p.to_numpy(float)
                entry["test_score"] = float(roc_auc_score(y_test, p))
                entry["test_se"] = test_noise(y_test, p, seed)
                lo, hi = row["score_ci"] or (None, None)
                entry["covered"] = (lo is not None and hi is not None
                                    and lo <= entry["test_score"] <= hi)
                entry["covered_with_test_noise"] = widened_covers(entry)
                entry["point"] = lo is not None and lo == hi  # e.g. the constant's 0.5: not counted
            rows.append(entry)
    return {"data": data.name, "seed": seed, "train_rows": len(train), "test_rows": len(test),
            "wall_seconds": wall, "load_average_at_start": load, "best": result["best"],
            "recommended": result["recommended"], "candidates": rows}


def widened_covers(entry: dict) -> bool | None:
    """Inside the interval when each half is widened by 1.96 test standard errors (quadrature)."""
    lo, hi = entry["score_ci"] or (None, None)
    cv = entry["cv_score"]
    if lo is None or hi is None or cv is None:
        return None
    z = 1.959964 * entry["test_se"]
    low, high = cv - np.hypot(cv - lo, z), cv + np.hypot(hi - cv, z)
    return bool(low <= entry["test_score"] <= high)


def counted(c: dict) -> bool:
    """A finished candidate whose interval is not a single point (the constant's ROC AUC is
    0.5 on every row set, so its interval says nothing)."""
    return c["status"] == "ok" and not c["point"]


def share(flags: list[bool]) -> str:
    flags = [f for f in flags if f is not None]
    if not flags:
        return "-"
    return f"{sum(flags)}/{len(flags)} = {100 * sum(flags) / len(flags):.0f} %"


def print_run(run: dict) -> None:
    print(f"\n{run['data']} seed {run['seed']}: {run['train_rows']:,} train / {run['test_rows']:,} "
          f"test rows, bakeoff {run['wall_seconds']:.1f} s (load {run['load_average_at_start']:.2f} "
          f"at start), best {run['best']}, recommended {run['recommended']}")
    print(f"  {'candidate':<16}{'cv':>8}{'95 % interval':>20}{'test':>9}{'test-cv':>9}"
          f"{'test se':>9}  inside")
    for c in run["candidates"]:
        if c["status"] != "ok":
            print(f"  {c['name']:<16}{c['status']:>8}  ({c['wall_seconds']:.1f} s)")
            continue
        lo, hi = c["score_ci"] or (float("nan"), float("nan"))
        mark = "(a point: not counted)" if c["point"] else "yes" if c["covered"] else ("no, inside widened" if c["covered_with_test_noise"]
                                           else "NO")
        print(f"  {c['name']:<16}{c['cv_score']:>8.4f}{f'[{lo:.4f}, {hi:.4f}]':>20}"
              f"{c['test_score']:>9.4f}{c['test_score'] - c['cv_score']:>+9.4f}"
              f"{c['test_se']:>9.4f}  {mark}")


def summary(runs: list[dict]) -> dict:
    """Covered shares overall, per data set and per candidate, and what did not finish."""
    finished = [(r, c) for r in runs for c in r["candidates"] if counted(c)]
    out = {"covered": share([c["covered"] for _, c in finished]),
           "covered_share": (sum(c["covered"] for _, c in finished) / len(finished)) if finished else None,
           "covered_with_test_noise": share([c["covered_with_test_noise"] for _, c in finished]),
           "per_data": {}, "per_candidate": {}, "unfinished": {}}
    for name in dict.fromkeys(r["data"] for r in runs):
        pairs = [c for r, c in finished if r["data"] == name]
        gaps = [c["test_score"] - c["cv_score"] for c in pairs]
        halves = [(c["score_ci"][1] - c["score_ci"][0]) / 2 for c in pairs if c["score_ci"]]
        out["per_data"][name] = {
            "covered": share([c["covered"] for c in pairs]),
            "covered_with_test_noise": share([c["covered_with_test_noise"] for c in pairs]),
            "mean_test_minus_cv": float(np.mean(gaps)) if gaps else None,
            "mean_abs_test_minus_cv": float(np.mean(np.abs(gaps))) if gaps else None,
            "mean_half_width": float(np.mean(halves)) if halves else None,
            "mean_test_se": float(np.mean([c["test_se"] for c in pairs])) if pairs else None}
        for cand in dict.fromkeys(c["name"] for r in runs if r["data"] == name for c in r["candidates"]):
            rows = [c for r in runs if r["data"] == name for c in r["candidates"] if c["name"] == cand]
            if all(c.get("point") for c in rows):
                continue
            ok = [c for c in rows if counted(c)]
            out["per_candidate"][f"{name} {cand}"] = {
                "finished": f"{len(ok)}/{len(rows)}", "covered": share([c["covered"] for c in ok]),
                "mean_test_minus_cv": float(np.mean([c["test_score"] - c["cv_score"] for c in ok]))
                if ok else None}
            missed = [f"seed {r['seed']} {c['status']}" for r in runs if r["data"] == name
                      for c in r["candidates"] if c["name"] == cand and c["status"] != "ok"]
            if missed:
                out["unfinished"][f"{name} {cand}"] = missed
    return out


def print_summary(out: dict) -> None:
    print("\nper data set: covered | covered if widened by the test noise | mean test-cv | "
          "mean |test-cv| | mean interval half-width | mean test se")
    for name, d in out["per_data"].items():
        print(f"  {name:<8}{d['covered']:>16}{d['covered_with_test_noise']:>18}"
              f"{d['mean_test_minus_cv']:>+10.4f}{d['mean_abs_test_minus_cv']:>9.4f}"
              f"{d['mean_half_width']:>9.4f}{d['mean_test_se']:>9.4f}")
    print("\nper candidate: finished | covered | mean test-cv")
    for name, d in out["per_candidate"].items():
        gap = "" if d["mean_test_minus_cv"] is None else f"{d['mean_test_minus_cv']:+.4f}"
        print(f"  {name:<24}{d['finished']:>6}{d['covered']:>16}{gap:>10}")
    for name, missed in out["unfinished"].items():
        print(f"  did not finish: {name}: {', '.join(missed)}")
    ok = out["covered_share"] is not None and out["covered_share"] >= GOAL
    print(f"\noverall: {out['covered']} of the finished candidates' intervals (points not counted) contain their test "
          f"score (widened by the test noise: {out['covered_with_test_noise']})")
    print(f"goal: {'PASS' if ok else 'MISS'}  >= {GOAL:.0%} covered")


def _plain(value):
    """numpy scalars (a numpy bool among them) as plain JSON values."""
    return value.item() if hasattr(value, "item") else str(value)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    quiet()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    runs = []
    for data in args.data:
        frame, y = read(data)
        test_rows = int(np.ceil(len(frame) * args.test_share))
        note = "" if test_rows >= MIN_TEST_ROWS else (
            f"  (EXCEPTION: fewer than {MIN_TEST_ROWS:,} test rows; {len(frame):,} rows in all)")
        print(f"\n== {data.name}: {data.path.name}, {len(frame):,} rows, test share "
              f"{args.test_share:g} = about {test_rows:,} rows{note}", flush=True)
        for seed in range(args.seeds):
            run = one_run(data, frame, y, seed, args)
            runs.append(run)
            print_run(run)
            sys.stdout.flush()
    out = summary(runs)
    print_summary(out)
    if str(args.json) != "-":
        figures = {"environment": {
            "started": started, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "budget": args.budget, "seeds": args.seeds, "test_share": args.test_share,
            "bakeoff_holdout": args.bakeoff_holdout, "cpus": os.cpu_count(),
            "python": platform.python_version(), "load_average_at_end": list(os.getloadavg()),
            "data": {d.name: {"path": str(d.path.relative_to(ROOT) if d.path.is_relative_to(ROOT)
                                          else d.path), "target": d.target, "positive": d.positive}
                     for d in args.data}},
            "summary": out, "runs": runs}
        args.json.write_text(json.dumps(figures, indent=1, default=_plain) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
