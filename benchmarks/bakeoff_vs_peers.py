"""Benchmark bakeoff against FLAML and LazyPredict on one fixed train/test split.

Usage:
    python benchmarks/bakeoff_vs_peers.py DATA.csv --target T --budget 60 \\
        [--task classification|regression] [--id COL] [--positive LABEL] [--seed 0] \\
        [--bakeoff-holdout 0.0] [--skip flaml|lazypredict] [--no-lazypredict] [--json FIGURES.json]

The rows are split once, 80/20 (stratified for classification, seeded). All three tools
see only the training part; every score is measured on the same test part:

1. bakeoff: a card on train.csv (written to a temporary folder), `bake(track=False)` with
   `budget` seconds in total and budget/3 per candidate; its best and its recommended
   models are loaded from the run folder and score the raw test rows. Fit time, predict
   time and size of the recommended model come from result.json.
2. FLAML: `AutoML.fit(time_budget=budget)`; fit time is `best_config_train_time`, predict
   time the best of 3 timings over the test rows, size the pickled final estimator.
3. LazyPredict: every model it has, fitted on train and scored on test (it has no budget;
   on tens of thousands of rows its SVC and label-spreading models, quadratic in the rows,
   take longer than 20 minutes: leave it out with --no-lazypredict or --skip lazypredict).
4. PyCaret (with --pycaret-python, a Python where PyCaret 3 is installed): setup +
   compare_models with its defaults (10-fold CV of every model, sorted by accuracy or R2),
   timed; its best model scores the test rows.

Metric: ROC AUC of the positive class (binary classification) or RMSE (regression).
Goals: every bakeoff candidate ran at least once (its quick pass) and, stricter, finished its
full evaluation; bakeoff's best within 0.002 ROC AUC (0.5 % RMSE) of the best peer, its
recommended model within the run's tolerance of bakeoff's best on the test rows and within
0.005 of the best peer (for RMSE a fraction of the peer's RMSE), and the recommended model at
least 100x cheaper to fit and 10x cheaper to serve than FLAML's pick. A skipped peer is left out of
the best peer; without FLAML the two cost goals are not measured.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split

from bakeoff.core.bake import bake
from bakeoff.core.card import Card, card_from_dict
from bakeoff.tasks.tabular.predict import load_model

if TYPE_CHECKING:
    from flaml import AutoML

BEST_WITHIN, RECOMMENDED_WITHIN = 0.002, 0.005
BEST_WITHIN_RMSE = 0.005  # a share of the best peer's RMSE
FIT_CHEAPER, SERVE_CHEAPER = 100.0, 10.0
TEST_SHARE = 0.2
PEERS = ("flaml", "lazypredict")


@dataclass
class Split:
    """Raw rows and cleaned features of one train/test split, and what to predict."""

    raw_train: pd.DataFrame
    raw_test: pd.DataFrame
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    target: str
    task: str


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="CSV file with a header row")
    parser.add_argument("--target", required=True, help="column to predict")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds for bakeoff and for FLAML")
    parser.add_argument("--task", choices=("classification", "regression"),
                        default="classification")
    parser.add_argument("--id", default="", help="identifier column, never a feature")
    parser.add_argument("--positive", default=None,
                        help="positive class (default: the one bakeoff picks)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bakeoff-holdout", type=float, default=0.0,
                        help="bakeoff's own holdout share of the training part (default 0: the "
                             "test part plays that role, so its final models see every "
                             "training row, as FLAML's do)")
    parser.add_argument("--skip", action="append", choices=PEERS, default=[], metavar="PEER",
                        help=f"leave out a peer ({' or '.join(PEERS)}); repeat for both")
    parser.add_argument("--no-lazypredict", dest="skip", action="append_const",
                        const="lazypredict",
                        help="leave out LazyPredict (same as --skip lazypredict): it has no time "
                             "budget and its SVC and label-spreading models are quadratic in the "
                             "rows (more than 20 minutes on 30,000 rows)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--pycaret-python", type=Path, default=None,
                        help="a Python with PyCaret 3 installed (its own virtualenv): also time "
                             "compare_models with its defaults")
    return parser.parse_args(argv)


def quiet() -> None:
    """Silence the warnings and logs of the peers (and of bakeoff's worker processes)."""
    os.environ["PYTHONWARNINGS"] = "ignore"
    warnings.filterwarnings("ignore")
    for name in ("flaml", "flaml.automl.logger", "lazypredict", "lightgbm"):
        logging.getLogger(name).setLevel(logging.ERROR)


def text_columns(X: pd.DataFrame) -> list[str]:
    return [name for name in X.columns if pd.api.types.is_string_dtype(X[name].dtype)]


def clean_features(frame: pd.DataFrame, drop: list[str]) -> pd.DataFrame:
    """Features for the peers: `drop` removed, text as object dtype, text numbers as floats."""
    X = frame.drop(columns=[c for c in drop if c])
    for name in text_columns(X):
        text = X[name].astype(object).where(X[name].notna())
        text = text.map(lambda v: (v.strip() or np.nan) if isinstance(v, str) else v)
        numbers = pd.to_numeric(text, errors="coerce")
        X[name] = numbers if numbers.notna().sum() == text.notna().sum() else text.astype(object)
    return X


def make_split(args: argparse.Namespace) -> Split:
    frame = pd.read_csv(args.data)
    frame = frame[frame[args.target].notna()].reset_index(drop=True)
    labels = frame[args.target].astype(str).str.strip()
    classification = args.task == "classification"
    if classification and labels.nunique() != 2:
        sys.exit(f"{args.target!r} has {labels.nunique()} classes; "
                 "this benchmark scores binary ROC AUC only")
    train, test = train_test_split(np.arange(len(frame)), test_size=TEST_SHARE,
                                   random_state=args.seed,
                                   stratify=labels if classification else None)
    X = clean_features(frame, [args.target, args.id])
    return Split(frame.iloc[train], frame.iloc[test], X.iloc[train], X.iloc[test],
                 args.target, args.task)


def encode_target(raw: pd.DataFrame, split: Split, positive: str | None) -> np.ndarray:
    """1 for the positive class and 0 otherwise, or the numeric target for regression."""
    if split.task == "regression":
        return pd.to_numeric(raw[split.target]).to_numpy(float)
    return (raw[split.target].astype(str).str.strip() == positive).to_numpy(int)


def score_of(task: str, y_true: np.ndarray, prediction: np.ndarray) -> float:
    """ROC AUC from positive-class probabilities, or RMSE from predictions."""
    if task == "classification":
        return float(roc_auc_score(y_true, prediction))
    return float(np.sqrt(mean_squared_error(y_true, prediction)))


def bakeoff_card(split: Split, args: argparse.Namespace, folder: Path) -> Card:
    split.raw_train.to_csv(folder / "train.csv", index=False)
    data = {"source": "train.csv", "target": split.target, "id": args.id}
    if args.positive is not None:
        data["positive"] = args.positive
    raw = {"problem": {"name": f"benchmark {args.data.stem}", "task": split.task},
           "data": data, "evaluate": {"seed": args.seed, "holdout": args.bakeoff_holdout},
           "budget": {"total": args.budget, "per_candidate": args.budget / 3}}
    return card_from_dict(raw).with_base_dir(folder)


def bakeoff_test_score(run_dir: Path, name: str, split: Split, y_test: np.ndarray) -> float:
    scored = load_model(run_dir, name).score(split.raw_test)
    column = "probability" if split.task == "classification" else "prediction"
    return score_of(split.task, y_test, scored[column].to_numpy(float))


def run_bakeoff(split: Split, args: argparse.Namespace) -> tuple[dict, str | None]:
    """bakeoff's figures, and the positive class it used (None for regression)."""
    with tempfile.TemporaryDirectory(prefix="bakeoff-bench-") as tmp:
        card = bakeoff_card(split, args, Path(tmp))
        start = time.perf_counter()
        outcome = bake(card, out=Path(tmp), track=False)
        wall = time.perf_counter() - start
        result = outcome.result.to_dict()
        if result["best"] is None:
            sys.exit(f"bakeoff finished no candidate: {result['reason']}")
        positive = result["classes"][-1] if split.task == "classification" else None
        y_test = encode_target(split.raw_test, split, positive)
        scores = {which: bakeoff_test_score(outcome.run_dir, which, split, y_test)
                  for which in ("best", "recommended")}
    row = next(r for r in result["candidates"] if r["name"] == result["recommended"])
    figures = {"tool": "bakeoff", "model": result["best"], "test_score": scores["best"],
               "wall_seconds": wall, "recommended": result["recommended"],
               "recommended_test_score": scores["recommended"], "reason": result["reason"],
               "fit_seconds": row["fit_seconds"], "predict_us_per_row": row["predict_us_per_row"],
               "model_bytes": row["model_bytes"],
               "statuses": {r["name"]: r["status"] for r in result["candidates"]},
               "ran_once": all(r["status"] == "ok" or r.get("quick_score") is not None
                               for r in result["candidates"]),
               "tolerance": result["tolerance"], "tolerance_is_relative": result["tolerance_is_relative"],
               "candidates": [{k: r.get(k) for k in ("name", "status", "score", "score_ci", "quick_score",
                                                     "fold_fit_rows", "wall_seconds", "work_seconds",
                                                     "tuning", "remedy")}
                              for r in result["candidates"]]}
    return figures, positive


def best_predict_us(predict: Callable[[pd.DataFrame], np.ndarray], X: pd.DataFrame,
                    repeats: int = 3) -> float:
    """Microseconds per row of the fastest of `repeats` timings of predict(X)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(X)
        times.append(time.perf_counter() - start)
    return min(times) / len(X) * 1e6


def flaml_predictor(automl: AutoML, task: str) -> Callable[[pd.DataFrame], np.ndarray]:
    """Positive-class probabilities (classification) or predictions of a fitted AutoML."""
    if task == "classification":
        return lambda rows: automl.predict_proba(rows)[:, 1]
    return automl.predict


def run_flaml(split: Split, y_train: np.ndarray, y_test: np.ndarray,
              args: argparse.Namespace) -> dict:
    from flaml import AutoML

    both = pd.concat([split.X_train, split.X_test])  # one category vocabulary for both parts
    both = both.astype({name: "category" for name in text_columns(both)})
    X_train, X_test = both.iloc[:len(split.X_train)], both.iloc[len(split.X_train):]
    automl = AutoML()
    metric = "roc_auc" if split.task == "classification" else "rmse"
    start = time.perf_counter()
    automl.fit(X_train, y_train, task=split.task, time_budget=args.budget, metric=metric,
               seed=args.seed, verbose=0)
    wall = time.perf_counter() - start
    predict = flaml_predictor(automl, split.task)
    return {"tool": "FLAML", "model": automl.best_estimator,
            "test_score": score_of(split.task, y_test, predict(X_test)), "wall_seconds": wall,
            "fit_seconds": automl.best_config_train_time,
            "predict_us_per_row": best_predict_us(predict, X_test),
            "model_bytes": len(pickle.dumps(automl.model.estimator))}


def run_lazypredict(split: Split, y_train: np.ndarray, y_test: np.ndarray,
                    args: argparse.Namespace) -> dict:
    from lazypredict.Supervised import LazyClassifier, LazyRegressor

    classification = split.task == "classification"
    lazy = (LazyClassifier if classification else LazyRegressor)(
        verbose=0, ignore_warnings=True, random_state=args.seed)
    start = time.perf_counter()
    table = lazy.fit(split.X_train, split.X_test, y_train, y_test)
    wall = time.perf_counter() - start
    table = table[0] if isinstance(table, tuple) else table
    column = "ROC AUC" if classification else "RMSE"
    scores = pd.to_numeric(table[column], errors="coerce").dropna()
    if scores.empty:
        sys.exit(f"LazyPredict reported no {column} for any model")
    model = scores.idxmax() if classification else scores.idxmin()
    return {"tool": "LazyPredict", "model": model, "test_score": float(scores[model]),
            "wall_seconds": wall, "models_scored": len(scores), "models_run": len(table)}


def run_pycaret(split: Split, y_train: np.ndarray, y_test: np.ndarray,
                args: argparse.Namespace) -> dict | None:
    """PyCaret's compare_models with defaults, in its own Python (benchmarks/pycaret_compare.py)."""
    import subprocess

    if args.pycaret_python is None:
        return None
    with tempfile.TemporaryDirectory(prefix="bakeoff-pycaret-") as tmp:
        for name, X, y in (("train", split.X_train, y_train), ("test", split.X_test, y_test)):
            X.assign(__y=y).to_csv(Path(tmp) / f"{name}.csv", index=False)
        done = subprocess.run([str(args.pycaret_python), str(Path(__file__).with_name("pycaret_compare.py")),
                               str(Path(tmp) / "train.csv"), str(Path(tmp) / "test.csv"), split.task,
                               str(args.seed)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"PyCaret failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    return {"tool": "PyCaret", **json.loads(done.stdout.strip().splitlines()[-1])}


def better(a: float, b: float, higher_is_better: bool) -> bool:
    return a > b if higher_is_better else a < b


def within(score: float, peer: float, allowance: float, higher_is_better: bool) -> bool:
    """At most `allowance` worse than peer: absolute for ROC AUC, a fraction of peer for RMSE."""
    if higher_is_better:
        return score >= peer - allowance
    return score <= peer * (1 + allowance)


def ratio(peer: float, ours: float) -> float:
    return peer / ours if ours > 0 else float("inf")


def compare(ours: dict, peers: list[dict], higher_is_better: bool, pycaret: dict | None = None) -> dict:
    """Score gaps to the best peer, cost ratios against FLAML's pick, and the goals (those
    against a skipped peer left out)."""
    goals: dict[str, bool] = {
        "every candidate ran at least once (its quick pass)": ours["ran_once"],
        "every candidate finished its full evaluation": all(v == "ok" for v in ours["statuses"].values()),
        "recommended within the run's tolerance of bakeoff's best on the test rows": within(
            ours["recommended_test_score"], ours["test_score"], ours["tolerance"], higher_is_better)}
    out: dict = {"goals": goals}
    if peers:
        best_peer = peers[0]
        for peer in peers[1:]:
            if better(peer["test_score"], best_peer["test_score"], higher_is_better):
                best_peer = peer
        peer_score = best_peer["test_score"]
        out.update(best_peer=best_peer["tool"], best_peer_score=peer_score,
                   gap_best=ours["test_score"] - peer_score,
                   gap_recommended=ours["recommended_test_score"] - peer_score)
        allowance = BEST_WITHIN if higher_is_better else BEST_WITHIN_RMSE
        goals[f"bakeoff best within {allowance} of best peer"] = \
            within(ours["test_score"], peer_score, allowance, higher_is_better)
        goals[f"recommended within {RECOMMENDED_WITHIN} of best peer"] = \
            within(ours["recommended_test_score"], peer_score, RECOMMENDED_WITHIN, higher_is_better)
    flaml = next((p for p in peers if p["tool"] == "FLAML"), None)
    if flaml is not None:
        fit = ratio(flaml["fit_seconds"], ours["fit_seconds"])
        serve = ratio(flaml["predict_us_per_row"], ours["predict_us_per_row"])
        out.update(fit_ratio=fit, serve_ratio=serve,
                   size_ratio=ratio(flaml["model_bytes"], ours["model_bytes"]),
                   search_ratio=ratio(flaml["wall_seconds"], ours["fit_seconds"]))
        goals[f"recommended >= {FIT_CHEAPER:g}x cheaper to fit than FLAML's pick"] = fit >= FIT_CHEAPER
        goals[f"recommended >= {SERVE_CHEAPER:g}x cheaper to serve than FLAML's pick"] = \
            serve >= SERVE_CHEAPER
    if pycaret is not None:
        goals["whole run faster than PyCaret's compare_models (defaults)"] = \
            ours["wall_seconds"] < pycaret["wall_seconds"]
    return out


def print_scores(tools: list[dict], metric: str, skipped: list[str]) -> None:
    print(f"\n{'tool':<22}{'model':<32}{'test ' + metric:>14}{'wall s':>10}")
    for tool in tools:
        print(f"{tool['tool']:<22}{tool['model']:<32}{tool['test_score']:>14.4f}"
              f"{tool['wall_seconds']:>10.1f}")
    ours = tools[0]
    print(f"{'bakeoff recommended':<22}{ours['recommended']:<32}"
          f"{ours['recommended_test_score']:>14.4f}")
    print(f"\nbakeoff's reason: {ours['reason']}")
    unfinished = [f"{name} ({status})" for name, status in ours["statuses"].items()
                  if status != "ok"]
    if unfinished:
        print(f"bakeoff candidates that did not finish: {', '.join(unfinished)}")
    if skipped:
        print(f"skipped: {', '.join(skipped)}")
    if "lazypredict" not in skipped:
        print("note: LazyPredict's best is picked on the test rows themselves (optimistic); "
              "bakeoff, FLAML and PyCaret pick on the training part only.")


def print_costs(ours: dict, flaml: dict, comparison: dict) -> None:
    print(f"\n{'final model cost':<20}{'bakeoff ' + ours['recommended']:>26}"
          f"{'FLAML ' + flaml['model']:>22}{'FLAML/bakeoff':>16}")
    rows = [("fit seconds", "fit_seconds", "fit_ratio", ".4f"),
            ("predict us/row", "predict_us_per_row", "serve_ratio", ".2f"),
            ("model bytes", "model_bytes", "size_ratio", ",.0f")]
    for label, key, ratio_key, fmt in rows:
        print(f"{label:<20}{ours[key]:>26{fmt}}{flaml[key]:>22{fmt}}"
              f"{comparison[ratio_key]:>15.1f}x")
    print(f"FLAML's whole {flaml['wall_seconds']:.0f} s search against the recommended model's fit: "
          f"{comparison['search_ratio']:,.0f}x")


def print_goals(comparison: dict, metric: str, higher_is_better: bool) -> None:
    if not comparison["goals"]:
        print("\nno peer ran: no goals measured")
        return
    if "best_peer" not in comparison:  # only PyCaret's time
        print("\ngoals:")
        for goal, passed in comparison["goals"].items():
            print(f"  {'PASS' if passed else 'MISS'}  {goal}")
        return
    direction = "higher is better" if higher_is_better else "lower is better"
    print(f"\nscore gaps to the best peer ({comparison['best_peer']}, {metric}, {direction}):")
    print(f"  bakeoff best - best peer:        {comparison['gap_best']:+.4f}")
    print(f"  bakeoff recommended - best peer: {comparison['gap_recommended']:+.4f}")
    if not higher_is_better:
        print(f"  (the {BEST_WITHIN} and {RECOMMENDED_WITHIN} allowances are meant for roc_auc; "
              f"for {metric} they are used as fractions of the best peer's score)")
    print("\ngoals:")
    for goal, passed in comparison["goals"].items():
        print(f"  {'PASS' if passed else 'MISS'}  {goal}")


def environment(args: argparse.Namespace, split: Split) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"data": str(args.data), "target": args.target, "task": args.task,
            "budget": args.budget, "seed": args.seed, "bakeoff_holdout": args.bakeoff_holdout,
            "train_rows": len(split.raw_train), "test_rows": len(split.raw_test),
            "skipped": sorted(set(args.skip)), "cpus": os.cpu_count(),
            "python": platform.python_version(), "flaml": installed("flaml"),
            "lazypredict": installed("lazypredict"), "load_average": list(os.getloadavg()),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _plain(value):
    """numpy scalars (a numpy bool among them) as plain JSON values."""
    return value.item() if hasattr(value, "item") else str(value)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    quiet()
    split = make_split(args)
    print(f"{args.data.name}: {len(split.raw_train)} train / {len(split.raw_test)} test rows, "
          f"budget {args.budget:g} s, seed {args.seed}, {os.cpu_count()} cpus, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    ours, positive = run_bakeoff(split, args)
    y_train, y_test = (encode_target(raw, split, positive)
                       for raw in (split.raw_train, split.raw_test))
    skipped = sorted(set(args.skip))
    peers = []
    if "flaml" not in skipped:
        peers.append(run_flaml(split, y_train, y_test, args))
    if "lazypredict" not in skipped:
        peers.append(run_lazypredict(split, y_train, y_test, args))
    pycaret = run_pycaret(split, y_train, y_test, args)
    if pycaret is not None:
        peers.append(pycaret)
    higher_is_better = split.task == "classification"
    metric = "roc_auc" if higher_is_better else "rmse"
    comparison = compare(ours, peers, higher_is_better, pycaret)
    print_scores([ours, *peers], metric, skipped)
    flaml = next((p for p in peers if p["tool"] == "FLAML"), None)
    if flaml is not None:
        print_costs(ours, flaml, comparison)
    print_goals(comparison, metric, higher_is_better)
    if args.json:
        figures = {"environment": environment(args, split), "metric": metric,
                   "positive": positive, "tools": [ours, *peers], "comparison": comparison}
        args.json.write_text(json.dumps(figures, indent=2, default=_plain))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
