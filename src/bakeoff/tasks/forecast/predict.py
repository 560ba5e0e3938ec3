"""Forecasts from a finished run: one candidate for every series, or each series' own choice."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd

from bakeoff.core.runstore import load_model, read_result
from bakeoff.errors import ConfigError
from bakeoff.tasks.forecast.data import series_keys
from bakeoff.tasks.forecast.fitting import level_label

PER_SERIES = ("recommended", "per_series")  # each series forecast by the candidate chosen for it
FALLBACK = "seasonal_naive (outside its sample)"  # a sampled candidate's forecast of a series it never saw
FAILED = "seasonal_naive ({name} failed)"  # a candidate's forecast of a series its model raised on
SPARK_FORECASTS = "forecasts.parquet"  # a Spark run's chosen forecasts, a folder written by Spark


def forecasts(run_dir: Path, candidate: str) -> pd.DataFrame:
    """Columns id, time, candidate, prediction and lo_<level>, hi_<level> per interval level."""
    from bakeoff.tasks.forecast.task import SELECTION, SERIES_INDEX

    if (run_dir / SPARK_FORECASTS).is_dir():
        return _written_on_spark(run_dir, candidate)
    result = read_result(run_dir)
    index = json.loads((run_dir / SERIES_INDEX).read_text())
    if candidate in PER_SERIES:
        choice = pd.read_csv(run_dir / SELECTION, dtype={"id": str})["chosen"].tolist()
        if len(choice) != len(index["ids"]):
            raise ConfigError(f"run {run_dir.name} has no per-series choice (no candidate finished, or its "
                              "figures could not be computed: see its notes); name a candidate that finished")
    else:
        name = result.get(candidate) if candidate == "best" else candidate
        choice = [name] * len(index["ids"])
    models = {name: load_model(run_dir, name, result, what="forecasts", others="recommended (each series' own "
                               "choice) or ") for name in sorted(set(choice))}
    return table(models, choice, index)


def _written_on_spark(run_dir: Path, candidate: str) -> pd.DataFrame:
    """A Spark run's forecasts: each series' chosen candidate's, as Spark wrote them."""
    if candidate not in PER_SERIES:
        raise ConfigError(f"a run on Spark keeps each series' own choice only; run bakeoff predict {run_dir.name} "
                          "recommended (or set [ladder] only to the one candidate and run again)")
    frame = pd.read_parquet(run_dir / SPARK_FORECASTS).drop(columns="part", errors="ignore")
    return frame.sort_values(["id", "time"], kind="stable").reset_index(drop=True)


def table(models: dict, choice: list[str], index: dict, wanted: set[str] | None = None) -> pd.DataFrame:
    """The forecasts of each series (those `wanted`, or all) by its candidate in `choice`."""
    levels = sorted({level for m in models.values() for level in m.bounds})
    rows = []
    for k, (key, times) in enumerate(zip(index["ids"], index["times"])):
        if wanted is not None and key not in wanted:
            continue
        model = models[choice[k]]
        label = (FALLBACK if k in getattr(model, "fallback", ()) else
                 FAILED.format(name=choice[k]) if k in getattr(model, "failed", ()) else choice[k])
        frame = pd.DataFrame({"id": key, "time": times, "candidate": label, "prediction": model.mean[k]})
        for position, (column, part) in enumerate(zip(index.get("key_columns", []), _parts(index, k)), start=1):
            frame.insert(position, column, part)  # several key columns: each beside the joined id
        for level in levels:
            low, high = model.bounds.get(level, (None, None))
            frame[f"lo_{level_label(level)}"] = low[k] if low is not None else float("nan")
            frame[f"hi_{level_label(level)}"] = high[k] if high is not None else float("nan")
        rows.append(frame)
    columns = ["id", "time", "candidate", "prediction"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def _parts(index: dict, k: int) -> list[str]:
    """Series k's value of each key column, when its key is several columns."""
    parts = index.get("key_parts") or []
    return parts[k] if parts else []


def portfolio_key(name: str) -> str:
    """The artifact name of a chosen candidate's forecasts in the per-series pyfunc model."""
    return f"model_{name}"


def pyfunc_predictor(artifacts: dict[str, str]):
    """Frame with the series wanted (an `id` column, or the card's key columns) in, their forecasts
    out (every series' when it names none): from one candidate ("bundle"), or each series' own
    choice (the selection and the chosen candidates' forecasts)."""
    from bakeoff.tasks.forecast.task import SELECTION, SERIES_INDEX

    index = json.loads(Path(artifacts[SERIES_INDEX]).read_text())
    if SELECTION in artifacts:
        choice = pd.read_csv(artifacts[SELECTION], dtype={"id": str})["chosen"].tolist()
        models = {name: pickle.loads(Path(artifacts[portfolio_key(name)]).read_bytes()) for name in set(choice)}
    else:
        model = pickle.loads(Path(artifacts["bundle"]).read_bytes())
        models, choice = {model.name: model}, [model.name] * len(index["ids"])
    keys = index.get("key_columns", ["id"])

    def predict(frame: pd.DataFrame) -> pd.DataFrame:
        if "id" in frame.columns:
            return table(models, choice, index, set(frame["id"].astype(str)))
        if keys != ["id"] and set(keys) <= set(frame.columns):
            return table(models, choice, index, set(series_keys(frame, keys)))
        return table(models, choice, index)

    return predict
