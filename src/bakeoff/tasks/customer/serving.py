"""What serving needs from a customer model (the task's `serving` module): a scorer of
customers given by their summary, as `bakeoff predict` writes it (purchases, recency, age in
time units; mean spend), answering their expected purchases over the card's horizon (or the
row's `horizon`), P(active), spend per purchase and discounted value.

Example request row (CDNOW, weeks)::

    {"sampleid": 4, "purchases": 2, "recency": 10.3, "age": 38.6, "mean_spend": 29.7}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bakeoff.core.profile import check_fingerprint, number_profile
from bakeoff.errors import BadValue
from bakeoff.tasks.customer.data import Summaries

INPUTS = ("purchases", "recency", "age", "mean_spend", "first_spend", "horizon")  # what a row may give


def load(model_dir: Path, settings: dict) -> CustomerScorer:
    import pickle

    from bakeoff.adapters.registry import model_file

    return CustomerScorer(pickle.loads(model_file(model_dir).read_bytes()), settings)


def settings(card) -> dict:
    section = card.customer
    return {"horizon": section.horizon, "unit_days": section.unit_days, "discount_rate": section.discount_rate,
            "amount": bool(section.amount), "time_unit": section.time_unit}


def entity(card) -> str:
    return card.data.id


def signature(model, card) -> tuple[dict[str, str], dict[str, str]]:
    columns = {card.data.id: "category", **dict.fromkeys(INPUTS, "number")}
    outputs = ["expected_purchases", "p_active"] + (["expected_spend", "value"] if card.customer.amount else [])
    return columns, dict.fromkeys(outputs, "number")


def training_profile(card, fingerprint: str, model) -> dict:
    """Profiles of the customers' summaries the model learned from (at the holdout's end)."""
    from bakeoff.tasks.customer.data import prepare

    customers = prepare(card)
    check_fingerprint(customers.sha256, fingerprint)
    final = customers.final
    return {"rows": int(final.count), "columns": {
        "purchases": number_profile(final.x), "recency": number_profile(final.recency),
        "age": number_profile(final.T), "mean_spend": number_profile(final.spend)}}


class CustomerScorer:
    def __init__(self, model, settings: dict):
        self.model, self.settings = model, settings

    def fields(self) -> dict:
        unit = self.settings.get("time_unit", "time unit")
        return {"purchases": {"kind": "number", "type": "repeat purchase days, 0 or more", "example": 2},
                "recency": {"kind": "number", "type": f"{unit}s since the last purchase", "example": 30},
                "age": {"kind": "number", "type": f"{unit}s since the first purchase", "example": 60},
                "mean_spend": {"kind": "number", "type": "mean spend of the repeat purchases, or null",
                               "example": None},
                "horizon": {"kind": "number", "type": f"{unit}s to predict over (default {self.settings['horizon']:g})",
                            "example": None}}

    def clean(self, row: dict) -> dict:
        """The row's summary as numbers; a value that cannot be one is a BadValue naming it."""
        out = {}
        for name in INPUTS:
            value = row.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                out[name] = np.nan
                continue
            try:
                out[name] = float(value) if not isinstance(value, bool) else float("x")
            except (TypeError, ValueError):
                raise BadValue(f"{name}: {value!r} is not a number") from None
        for name in ("purchases", "recency", "age"):
            if not out[name] >= 0:
                raise BadValue(f"{name}: give a number of {'repeat purchases' if name == 'purchases' else 'time units'}"
                               " (0 or more)")
        if out["recency"] > out["age"]:
            raise BadValue("recency: more than age (the time since the first purchase)")
        if out["horizon"] == out["horizon"] and out["horizon"] <= 0:
            raise BadValue("horizon: give a positive number of time units")
        return out

    def score_many(self, rows: list[dict]) -> list[dict]:
        from bakeoff.tasks.customer.predict import customer_table

        cleaned = [self.clean(row) for row in rows]
        horizons = [c["horizon"] if c["horizon"] == c["horizon"] else self.settings["horizon"] for c in cleaned]
        out: list[dict | None] = [None] * len(rows)
        for horizon in sorted(set(horizons)):
            at = [i for i, h in enumerate(horizons) if h == horizon]
            s = _summaries([cleaned[i] for i in at])
            table = customer_table(self.model, s, horizon, self.settings["unit_days"], self.settings["discount_rate"],
                                   self.settings["amount"])
            for i, record in zip(at, table.drop(columns=["id", "purchases", "recency", "age"]).to_dict("records")):
                out[i] = {k: float(v) for k, v in record.items()}
        return out


def _summaries(cleaned: list[dict]) -> Summaries:
    def column(name):
        return np.array([c[name] for c in cleaned], dtype=float)

    x, recency, age = column("purchases"), column("recency"), column("age")
    n = len(cleaned)
    return Summaries(np.arange(n), x, age - recency, age, np.where(x > 0, column("mean_spend"), np.nan),
                     column("first_spend"), np.zeros(n), np.full(n, np.nan), 0.0)
