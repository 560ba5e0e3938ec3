"""One partition of series forecast end to end where it lies (a Spark task, see
`bakeoff.adapters.spark_forecast`): each candidate's rolling-origin windows and holdout, each
series' choice, and the chosen candidate's forecasts.

Pure pandas and numpy, and the same functions as the local engine (`evaluate.window_scores`,
`selection.choose`), so a series gets the same scores and the same choice wherever it is
forecast. Each candidate has `seconds` per partition (a timer interrupts it: its series are
`timeout`); a candidate that raises is `failed` for the partition's series; once the job's
`deadline` has passed, the candidates not yet started are `skipped`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from bakeoff.core.time_limit import attempt
from bakeoff.errors import DataError
from bakeoff.tasks.forecast.data import Series, series_from
from bakeoff.tasks.forecast.evaluate import floored, interval_bounds, window_scores
from bakeoff.tasks.forecast.fitting import level_label
from bakeoff.tasks.forecast.ladder import suited
from bakeoff.tasks.forecast.selection import best_per_series, choose

REFUSED = "refused"  # the partition's data breaks a rule of the card


@dataclass(frozen=True)
class PartitionPlan:
    """What every partition is told: the card, the candidates (classes: shipped to the
    executors), the frequency found on the driver, and the time each candidate may take."""

    card: object
    candidates: tuple[type, ...]
    frequency: str
    seconds: float  # per candidate per partition
    deadline: float  # epoch seconds: candidates not started by then are skipped

    def columns(self) -> list[tuple[str, str]]:
        """The output's columns and their Spark SQL types: a row per series and candidate."""
        bounds = [(f"{side}_{level_label(level)}", "array<double>") for level in self.card.forecast.level
                  for side in ("lo", "hi")]
        return [("id", "string"), ("candidate", "string"), ("rung", "int"), ("status", "string"),
                ("error", "string"), ("cv_score", "double"), ("holdout_score", "double"), ("seconds", "double"),
                ("chosen", "boolean"), ("best", "string"), ("best_score", "double"),
                ("label", "string"), ("times", "array<string>"),
                ("prediction", "array<double>"), *bounds]


def run_partition(frame: pd.DataFrame, plan: PartitionPlan) -> pd.DataFrame:
    """Rows (id, candidate, …) for the series in `frame` (columns id, time, value); one row of
    status "refused" when the data breaks a rule of the card (its error says which and how to fix it)."""
    card = plan.card
    columns = [c for c, _ in plan.columns()]
    try:
        data = series_from(frame, card, "", plan.frequency)
    except DataError as err:
        refusal = {**dict.fromkeys(columns), "id": str(frame["id"].iloc[0]), "candidate": "", "status": REFUSED,
                   "error": str(err), "chosen": False}
        return pd.DataFrame([refusal], columns=columns, dtype=object)
    cv, holdout, runs = {}, {}, {}
    for cls in suited(plan.candidates, data.intermittent()):
        runs[cls.name] = _run(cls, data, plan)
        if runs[cls.name]["status"] == "ok":
            cv[cls.name], holdout[cls.name] = runs[cls.name]["cv"], runs[cls.name]["holdout"]
    choice = choose(cv, {n: (runs[n]["rung"], runs[n]["params"]) for n in cv}, card.evaluate.tolerance) if cv else None
    best = best_per_series(cv) if cv else None
    times = data.future_time_texts(data.horizon)
    rows = []
    for name, run in runs.items():
        for k, key in enumerate(data.ids):
            chosen = choice is not None and choice[k] == name
            row = _row(plan, key, name, run, k, chosen, times[k] if chosen else None, data.count)
            if chosen:
                row["best"], row["best_score"] = str(best[k]), float(cv[str(best[k])][k])
            rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _run(cls, data: Series, plan: PartitionPlan) -> dict:
    """One candidate over the partition's series: its scores and final forecasts, or why not."""
    run = {"rung": cls.rung, "params": 0, "status": "ok", "error": None, "seconds": 0.0}
    if time.time() > plan.deadline:
        return {**run, "status": "skipped", "error": "the job's [budget] total had run out"}
    candidate = cls(seed=plan.card.evaluate.seed, seasons=tuple(data.seasons))
    levels = tuple(data.levels) if candidate.intervals else ()
    began = time.perf_counter()
    done, failure = attempt(lambda: (candidate.cross_validate(data.values, data.horizon, data.windows + 1, levels),
                                     candidate.forecast(data.values, data.horizon, levels)), plan.seconds, "this partition")
    if failure:
        return {**run, **failure, "seconds": time.perf_counter() - began}
    windows, made = (floored(data, made) for made in done)
    scores = window_scores(plan.card.evaluate.metric, data, data.values, windows.mean)
    _, bounds = interval_bounds(candidate, data, data.values, windows, made)
    return {**run, "params": candidate.learned_per_series(), "cv": scores[:, :-1].mean(axis=1),
            "holdout": scores[:, -1], "mean": made.mean, "bounds": bounds, "failed": made.failed | windows.failed,
            "seconds": time.perf_counter() - began}


def _row(plan: PartitionPlan, key: str, name: str, run: dict, k: int, chosen: bool, times, count: int) -> dict:
    ok = run["status"] == "ok"
    row = {"id": key, "candidate": name, "rung": int(run["rung"]), "status": run["status"], "error": run["error"],
           "cv_score": float(run["cv"][k]) if ok else None, "holdout_score": float(run["holdout"][k]) if ok else None,
           "seconds": run["seconds"] / count, "chosen": chosen, "best": None, "best_score": None,
           "label": None, "times": times, "prediction": None}
    for level in plan.card.forecast.level:
        row[f"lo_{level_label(level)}"] = row[f"hi_{level_label(level)}"] = None
    if chosen:
        row["label"] = f"seasonal_naive ({name} failed)" if k in run["failed"] else name
        row["prediction"] = run["mean"][k].tolist()
        for level, (low, high) in run["bounds"].items():
            row[f"lo_{level_label(level)}"], row[f"hi_{level_label(level)}"] = low[k].tolist(), high[k].tolist()
    return row
