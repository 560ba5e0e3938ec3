"""M4 Hourly: bakeoff's per-series choice and each of its candidates against the M4 benchmarks,
and bakeoff's time for the statistical rungs against statsforecast's own, side by side.

bakeoff runs the bundled card (examples/m4_hourly: 414 series, horizon 48, its last 48 hours
held out: exactly the competition's test set) and its holdout forecasts are scored here with
the competition's sMAPE, MASE and OWA. statsforecast then runs the same models over the same
windows (`cross_validation` with the card's windows plus the holdout, and the final forecast),
one model at a time, timed. "bakeoff s" is each candidate's full evaluation in its worker (the
windows, the holdout, the final forecast, its cost measured: one series fitted three times);
its quick pass (one window of 12 series) and the worker's start are not in it. In the whole
run these candidates share the two cores with the slow ones (AutoETS, MSTL, the global model);
a second bakeoff run with only the statistical candidates that ran on every series times them
without that company, as statsforecast's own timing runs here alone: the goal is judged on
that run, and both ratios are printed.

    python benchmarks/forecast_m4.py                      # the card's budget (5 minutes)
    python benchmarks/forecast_m4.py --budget 2m --only seasonal_naive,theta,global_lightgbm
"""

from __future__ import annotations

import argparse
import json
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CARD = REPO / "examples" / "m4_hourly" / "bakeoff.toml"
NAIVE2 = (18.383, 2.395)  # M4 Hourly, Naive2's sMAPE and MASE (M4 paper, Table 4): OWA's yardstick
M4_BENCHMARKS = {"MLP": 13.842, "Naive (seasonal)": 13.912, "Naive2": 18.383}  # sMAPE, Hourly
GOAL_SMAPE, GOAL_SECONDS, GOAL_RATIO = 11.0, 300.0, 1.1


def official(series, forecasts: np.ndarray, only: list[int] | None = None) -> tuple[float, float, float]:
    """sMAPE, MASE and OWA of holdout forecasts (series x 48), as the M4 organisers compute them
    (over the series `only`, when given)."""
    smape, mase = [], []
    keep = range(series.count) if only is None else only
    for values, f in ((series.values[k], forecasts[k]) for k in keep):
        train, test = values[:-series.horizon], values[-series.horizon:]
        smape.append(np.mean(200 * np.abs(test - f) / (np.abs(test) + np.abs(f))))
        mase.append(np.mean(np.abs(test - f)) / np.mean(np.abs(train[24:] - train[:-24])))
    s, m = float(np.mean(smape)), float(np.mean(mase))
    return s, m, (s / NAIVE2[0] + m / NAIVE2[1]) / 2


def held(series, bounds: dict, only: list[int] | None = None) -> str:
    """The share of holdout actuals inside the 80 % and 95 % intervals ("-" for none), over the
    series `only`, when given."""
    keep = list(range(series.count)) if only is None else only
    actual = series.holdout()[keep]
    shares = []
    for level in (80.0, 95.0):
        if level not in bounds:
            return "-"
        low, high = (b[keep] for b in bounds[level])
        shares.append(f"{100 * np.mean((actual >= low) & (actual <= high)):.1f}")
    return "/".join(shares)


def chosen_bounds(models: dict, choice: list[str], horizon: int) -> dict:
    """Each series' 80 % and 95 % interval from its chosen candidate (NaN where it gives none)."""
    missing = np.full(horizon, np.nan)
    out = {}
    for level in (80.0, 95.0):
        sides = [[models[name].bounds[level][side][k] if level in models[name].bounds else missing
                  for k, name in enumerate(choice)] for side in (0, 1)]
        out[level] = (np.stack(sides[0]), np.stack(sides[1]))
    return out


def run_bakeoff(budget: str | None, only: list[str], out: Path):
    from bakeoff.core.bake import bake
    from bakeoff.core.card import load_card

    card = load_card(CARD)
    if budget:
        card.budget.total = budget
    if only:
        card.ladder.only = only
    began = time.perf_counter()
    outcome = bake(card, out=out, track=False)
    return outcome, time.perf_counter() - began


def statsforecast_seconds(name: str, series, cls) -> float | None:
    """statsforecast alone, the same model over the same windows: cross-validation (the card's
    windows and the holdout) and the forecast from every step."""
    from bakeoff.tasks.forecast.ladder import ForecastCandidate

    candidate = cls(seasons=tuple(series.seasons))
    if type(candidate).cross_validate is not ForecastCandidate.cross_validate:
        return None  # not a statsforecast model
    from statsforecast import StatsForecast

    frame = __import__("bakeoff.tasks.forecast.fitting", fromlist=["long_frame"]).long_frame(series.values)
    levels = list(map(int, series.levels)) if candidate.intervals else None
    _warm_statsforecast(frame)
    began = time.perf_counter()
    engine = StatsForecast(models=[candidate.model()], freq=1, n_jobs=1)
    engine.cross_validation(df=frame, h=series.horizon, n_windows=series.windows + 1, step_size=series.horizon,
                            level=levels)
    StatsForecast(models=[candidate.model()], freq=1, n_jobs=1).forecast(df=frame, h=series.horizon, level=levels)
    return time.perf_counter() - began


def statistical_alone(budget: str | None, names: list[str]) -> float:
    """bakeoff's seconds for these candidates' full evaluations in a run of them only."""
    if not names:
        return 0.0
    with tempfile.TemporaryDirectory() as tmp:
        outcome, _ = run_bakeoff(budget, names, Path(tmp))
        rows = json.loads((outcome.run_dir / "result.json").read_text())["candidates"]
    whole = [r for r in rows if r["status"] == "ok" and not r["fold_fit_rows"]]
    if len(whole) < len(names):  # one sampled or cut here: not the same work as statsforecast's
        print(f"  (alone: only {len(whole)} of {len(names)} ran on every series)")
        return float("inf")
    return sum(r["wall_seconds"] for r in whole)


def _warm_statsforecast(frame) -> None:
    """One small untimed run, as bakeoff's workers start with statsforecast imported and used
    (its forkserver preloads it): the first call's costs are nobody's model's."""
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    small = frame[frame["unique_id"].isin(frame["unique_id"].unique()[:2])]
    StatsForecast(models=[SeasonalNaive(season_length=24)], freq=1, n_jobs=1).cross_validation(
        df=small, h=48, n_windows=1, level=[80])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", help="[budget] total for bakeoff (default: the card's)")
    parser.add_argument("--only", default="", help="comma-separated candidates (default: the whole ladder)")
    parser.add_argument("--no-peer", action="store_true", help="skip statsforecast alone")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    from bakeoff.core.card import load_card
    from bakeoff.tasks.forecast.data import prepare

    series = prepare(load_card(CARD))
    with tempfile.TemporaryDirectory() as tmp:
        outcome, wall = run_bakeoff(args.budget, [n for n in args.only.split(",") if n], Path(tmp))
        result = json.loads((outcome.run_dir / "result.json").read_text())
        models = {r["name"]: pickle.loads((outcome.run_dir / "models" / f"{r['name']}.train.pkl").read_bytes())
                  for r in result["candidates"] if r["status"] == "ok"}
        choice = [line.split(",")[1] for line in (outcome.run_dir / "selection.csv").read_text().splitlines()[1:]]
    print(f"bakeoff on M4 Hourly: {wall:.1f} s wall ({result['recommended']} recommended for every series)")
    figures = {"wall_seconds": wall, **scored(series, result, models, choice, args.no_peer)}
    ratio, judged = statistical_time(args.budget, figures)
    best_smape = figures.get("per_series", {}).get("smape", float("inf"))
    goals = [(f"per-series choice beats every M4 Hourly benchmark (sMAPE < {min(M4_BENCHMARKS.values())})",
              best_smape < min(M4_BENCHMARKS.values())),
             (f"per-series choice sMAPE <= {GOAL_SMAPE}", best_smape <= GOAL_SMAPE),
             (f"whole run <= {GOAL_SECONDS:.0f} s", wall <= GOAL_SECONDS),
             (f"statistical rungs <= {GOAL_RATIO}x statsforecast's own time, in total ({ratio:.2f}x, {judged})",
              ratio <= GOAL_RATIO)]
    for text, ok in goals:
        print(f"  {'PASS' if ok else 'MISS'}  {text}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


def scored(series, result: dict, models: dict, choice: list[str], no_peer: bool) -> dict:
    """The table of the per-series choice and every candidate (with statsforecast's time for the
    same model beside it), printed; its figures."""
    from bakeoff.tasks.forecast.ladder import ladder

    holdout = {name: m.mean for name, m in models.items()}
    sampled = {name: sorted(set(range(series.count)) - set(m.fallback)) for name, m in models.items() if m.fallback}
    figures: dict = {"candidates": {}}
    print(f"{'forecasts':<28}{'sMAPE':>8}{'MASE':>8}{'OWA':>8}{'bakeoff s':>11}{'statsforecast s':>17}{'ratio':>7}"
          f"{'80/95 % hold':>14}")
    if holdout:
        s, m, o = official(series, np.stack([holdout[name][k] for k, name in enumerate(choice)]))
        figures["per_series"] = {"smape": s, "mase": m, "owa": o,
                                 "held": held(series, chosen_bounds(models, choice, series.horizon))}
        print(f"{'per-series choice':<28}{s:>8.3f}{m:>8.3f}{o:>8.3f}{'':>35}{figures['per_series']['held']:>14}")
    classes, unfinished = ladder(), []
    for row in result["candidates"]:
        name, seconds = row["name"], row["wall_seconds"]
        if name not in holdout:
            print(f"{name:<28}{row['status']:>24}{seconds:>11.1f}")
            figures["candidates"][name] = {"status": row["status"], "error": row["error"]}
            unfinished.append(f"  {name}: {row['error']}")
            continue
        rows = sampled.get(name)  # scored on its sample only; statsforecast on every series would be other work
        s, m, o = official(series, holdout[name], rows)
        cover = held(series, models[name].bounds, rows)
        peer = None if no_peer or rows or name not in classes else statsforecast_seconds(name, series, classes[name])
        label = name + (f" ({len(rows)} series)" if rows else "")
        ratio = f"{seconds / peer:>7.2f}" if peer else f"{'':>7}"
        peer_text = f"{peer:>17.1f}" if peer else f"{'':>17}"
        print(f"{label:<28}{s:>8.3f}{m:>8.3f}{o:>8.3f}{seconds:>11.1f}{peer_text}{ratio}{cover:>14}")
        figures["candidates"][name] = {"smape": s, "mase": m, "owa": o, "held": cover, "bakeoff_seconds": seconds,
                                       "statsforecast_seconds": peer, "status": row["status"],
                                       **({"series": len(rows)} if rows else {})}
    for label, value in M4_BENCHMARKS.items():
        print(f"{'M4 benchmark ' + label:<28}{value:>8.3f}")
    print("\n".join(unfinished))
    return figures


def statistical_time(budget: str | None, figures: dict) -> tuple[float, str]:
    """bakeoff's time for the statistical candidates that ran on every series against
    statsforecast's, in the whole run and in a run of them only (printed; kept in `figures`):
    the ratio the goal is judged on and which run that is."""
    both = {n: c for n, c in figures["candidates"].items() if c.get("statsforecast_seconds")}
    ours = sum(c["bakeoff_seconds"] for c in both.values())
    theirs = sum(c["statsforecast_seconds"] for c in both.values())
    ratio = ours / theirs if theirs else float("inf")
    print(f"{'statistical rungs, total':<28}{'':>24}{ours:>11.1f}{theirs:>17.1f}{ratio:>7.2f}  (in the whole run)")
    alone = statistical_alone(budget, list(both))
    ratio_alone = alone / theirs if theirs and alone else float("inf")
    figures["statistical_seconds"] = {"bakeoff_in_whole_run": ours, "bakeoff_alone": alone, "statsforecast": theirs,
                                      "ratio_in_whole_run": ratio, "ratio": ratio_alone}
    print(f"{'statistical rungs, alone':<28}{'':>24}{alone:>11.1f}{theirs:>17.1f}{ratio_alone:>7.2f}  (a run of them only)")
    if ratio_alone == float("inf"):  # one was sampled there (its estimate near its slice): not the same work
        return ratio, "the whole run: in the run of them only one was sampled"
    return ratio_alone, "a run of them only"


if __name__ == "__main__":
    main()
