"""What serving needs from a forecasting model (the task's `serving` module): a scorer that
answers a row naming a series (`{"id": "H1"}`) with that series' forecasts, as `bakeoff predict`
writes them: each step's time, prediction and interval bounds, and the candidate that made them
(with `recommended`, each series' own choice).

Example request and answer::

    {"rows": [{"id": "H1"}]}  ->  {"predictions": [{"id": "H1", "candidate": "seasonal_naive",
                                   "forecasts": [{"time": "…", "prediction": 604.0, "lo_95": …}, …], …}]}
"""

from __future__ import annotations

from pathlib import Path

from bakeoff.core.profile import check_fingerprint, number_profile
from bakeoff.errors import BadValue, ConfigError


def load(model_dir: Path, settings: dict) -> ForecastScorer:
    """The scorer of an MLflow model folder bakeoff logged (its MLmodel names the artifacts)."""
    import json

    import yaml

    from bakeoff.tasks.forecast.predict import pyfunc_predictor
    from bakeoff.tasks.forecast.task import SERIES_INDEX

    described = yaml.safe_load((Path(model_dir) / "MLmodel").read_text())
    artifacts = (described.get("flavors", {}).get("python_function", {}) or {}).get("artifacts") or {}
    if SERIES_INDEX not in artifacts:
        raise ConfigError(f"{model_dir} is no bakeoff forecasting model; promote a candidate of a tracked forecast run")
    paths = {key: str(Path(model_dir) / value["path"]) for key, value in artifacts.items()}
    ids = json.loads(Path(paths[SERIES_INDEX]).read_text())["ids"]
    return ForecastScorer(pyfunc_predictor(paths), set(ids))


def settings(card) -> dict:
    return {}


def entity(card) -> str:
    """The field that names a series in a request (and keys the challenger split)."""
    return "id"


def signature(model, card) -> tuple[dict[str, str], dict[str, str]]:
    return {"id": "category"}, {"id": "category", "time": "category", "candidate": "category", "prediction": "number"}


def training_profile(card, fingerprint: str, model) -> dict:
    """Profiles of the series the model learned from: their lengths and their values."""
    import numpy as np

    from bakeoff.tasks.forecast.data import prepare

    series = prepare(card)
    check_fingerprint(series.sha256, fingerprint)
    return {"rows": int(series.rows), "series": len(series.ids), "columns": {
        "length": number_profile(np.array([len(v) for v in series.values], dtype=float)),
        "value": number_profile(np.concatenate(series.values).astype(float))}}


class ForecastScorer:
    def __init__(self, predictor, ids: set[str]):
        self.predictor, self.ids = predictor, ids

    def fields(self) -> dict:
        return {"id": {"kind": "category", "type": "a series of the run", "levels": sorted(self.ids)}}

    def clean(self, row: dict) -> dict:
        key = row.get("id")
        if key is None or isinstance(key, (list, dict)) or str(key) not in self.ids:
            shown = "no id" if key is None else f"no series {key!r} in the model"
            raise BadValue(f"id: {shown}; name one of the run's series (the card's series key, joined by / when "
                           "it is several columns)")
        return {"id": str(key)}

    def score_many(self, rows: list[dict]) -> list[dict]:
        import pandas as pd

        wanted = [self.clean(row)["id"] for row in rows]
        table = self.predictor(pd.DataFrame({"id": wanted}))
        steps = {key: part for key, part in table.groupby("id", sort=False)}
        out = []
        for key in wanted:
            part = steps[key]
            forecasts = part.drop(columns=[c for c in ("id", "candidate") if c in part.columns])
            forecasts = forecasts.assign(time=forecasts["time"].astype(str))
            out.append({"id": key, "candidate": str(part["candidate"].iloc[0]),
                        "forecasts": forecasts.to_dict("records")})
        return out
