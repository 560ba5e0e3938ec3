"""Per-customer predictions from a finished run: expected purchases over a horizon, P(active),
expected spend per purchase, and the discounted value of the horizon's purchases.

The model is the one fitted on every purchase to the holdout's end; the customers are
summarised from the log given (or the card's own) up to its last day.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bakeoff.core.runstore import load_model, read_card, read_result
from bakeoff.tasks.customer.data import Summaries
from bakeoff.tasks.customer.ladder import CustomerModel

PATH_POINTS = 10_000_000  # customers x periods of the expected purchases a value is computed from, at most
MIN_PERIODS = 4
BGNBD_NOTE = ("bg_nbd's p_active is 1 for every customer without a repeat purchase (BG/NBD lets customers drop "
              "out only just after a purchase); for who is gone, pareto_nbd's P(alive) tells them apart")
COLUMNS = ["id", "purchases", "recency", "age", "expected_purchases", "p_active", "expected_spend", "value"]


def value(model: CustomerModel, s: Summaries, horizon: float, unit_days: float, discount_rate: float,
          spend: np.ndarray | None = None) -> np.ndarray:
    """Each customer's purchases over `horizon` time units times their spend per purchase, each
    period's purchases discounted at `discount_rate` a year to today.

    Periods are whole time units (the last one partial), or with many customers fewer, longer
    ones (`PATH_POINTS`: a million customers' value takes a few model evaluations, not 52); a
    period's purchases are the growth of the expected cumulative purchases over it, discounted
    from its end.
    """
    steps = int(np.ceil(horizon))
    periods = min(steps, max(MIN_PERIODS, PATH_POINTS // max(s.count, 1)))
    ends = np.append(np.linspace(0, horizon, periods + 1)[1:-1], horizon) if periods < steps else \
        np.append(np.arange(1.0, steps), horizon)
    cumulative = np.column_stack([model.expected(s, t) for t in ends])
    per_period = np.diff(cumulative, axis=1, prepend=0.0)
    discount = (1 + discount_rate) ** (-ends * unit_days / 365.25)
    return (per_period @ discount) * (model.spend(s) if spend is None else spend)


def customer_table(model: CustomerModel, s: Summaries, horizon: float, unit_days: float,
                   discount_rate: float, amount: bool) -> pd.DataFrame:
    """One row per customer: their summary and the model's predictions (`COLUMNS`)."""
    expected, active, spend = model.outputs(s, horizon)
    frame = pd.DataFrame({"id": s.ids, "purchases": s.x.astype(int), "recency": s.recency, "age": s.T,
                          "expected_purchases": expected, "p_active": active})
    if amount:
        frame["expected_spend"] = spend
        frame["value"] = value(model, s, horizon, unit_days, discount_rate, spend)
    return frame


def predict(run_dir: Path, candidate: str, data: Path | None = None,
            horizon: float | None = None) -> tuple[pd.DataFrame, list[str]]:
    """`bakeoff predict` for a customer run: every customer of the log (`data`, or the card's),
    summarised at its last day, with the candidate's predictions over `horizon` time units
    (the card's horizon by default), the id column named as in the card; and notes."""
    from bakeoff.tasks.customer.data import summaries_now

    result, card = read_result(run_dir), read_card(run_dir)
    name = result.get(candidate) if candidate in ("recommended", "best") else candidate
    model = load_model(run_dir, name, result, others="recommended or ")
    section = card.customer
    source = card.data.source if data is None else str(Path(data).resolve())
    now = summaries_now(source, card.base_dir, card.data.id, card.data.time, section)
    table = customer_table(model, now, horizon or section.horizon, section.unit_days, section.discount_rate,
                           bool(section.amount))
    notes = [BGNBD_NOTE] if name == "bg_nbd" else []
    return table.rename(columns={"id": card.data.id}) if card.data.id not in table.columns else table, notes
