"""What the customer report shows, computed while the models are here: every metric of every
candidate on the holdout, the tracking of repeat purchases (actual against each candidate's
expectation), expected against actual purchases by number of past purchases, the distribution
of P(active), and, by the model users get, the customers most likely gone and the most valuable.
"""

from __future__ import annotations

import numpy as np

from bakeoff.tasks.customer.data import Customers
from bakeoff.tasks.customer.evaluate import holdout_truth, predictions
from bakeoff.tasks.customer.metrics import HIGHER_IS_BETTER, score
from bakeoff.tasks.customer.predict import customer_table

FACTS_VERSION = "customer-1"
FREQUENCIES = 7  # past purchases 0..6 shown one by one, the rest together
LISTED = 10  # customers in each list
HISTOGRAM_BINS = 10
TRACKED = 20_000  # customers the tracking chart's expectations are summed over, at most


def collect_facts(result: dict, evaluations: dict, data: Customers, card) -> dict:
    models = {name: ev.holdout_model for name, ev in evaluations.items() if ev.holdout_model is not None}
    if not models:
        return {"version": FACTS_VERSION}
    truth, s, t = holdout_truth(data), data.calibration, data.holdout_units
    predicted = {name: predictions(m, s, t) for name, m in models.items()}
    metrics = [name for name in HIGHER_IS_BETTER if data.amount or "spend" not in name]
    scores = {name: {m: score(m, truth, p) for m in metrics} for name, p in predicted.items()}
    shown = _shown(result, evaluations, scores)
    facts = {"version": FACTS_VERSION, "metric": result["metric"], "customers": data.count, "unit": data.time_unit,
             "holdout_units": t, "horizon": data.horizon, "dates": data.dates, "amount": data.amount,
             "scores": scores, "metrics": metrics, "tracking": _tracking(data, models, card.evaluate.seed),
             "holdout_total": float(truth.purchases.sum()),
             "expected_total": {name: float(p.purchases.sum()) for name, p in predicted.items()},
             "by_frequency": _by_frequency(s, truth.purchases, {n: p.purchases for n, p in predicted.items()}),
             "shown": shown, "p_alive": bool(shown and evaluations[shown].fitted.gives_p_alive)}
    if shown:
        facts |= _lists(evaluations[shown].fitted, data) | {"described": evaluations[shown].fitted.describe()}
    return facts


def _shown(result: dict, evaluations: dict, scores: dict[str, dict[str, float]]) -> str | None:
    """The model whose per-customer figures the report lists: of those that give P(alive), the
    one whose P(alive) best tells who bought in the holdout (ROC AUC), so that "most likely gone"
    means something; without one, the recommended."""
    alive = [name for name, ev in evaluations.items() if ev.fitted is not None and ev.fitted.gives_p_alive
             and np.isfinite(scores[name]["auc_active"])]
    if alive:
        return max(alive, key=lambda name: scores[name]["auc_active"])
    recommended = result.get("recommended")
    return recommended if recommended in evaluations else None


def _tracking(data: Customers, models: dict, seed: int) -> dict:
    """Cumulative repeat purchases per period: actual throughout, and from the calibration's end
    each candidate's expectation added to the actual count at that point (summed over a seeded
    sample of `TRACKED` customers, scaled to all, when there are more)."""
    s = data.calibration
    scale = 1.0
    if s.count > TRACKED:
        s, scale = s.take(np.random.default_rng(seed).choice(s.count, TRACKED, replace=False)), s.count / TRACKED
    actual = np.cumsum(data.tracking["actual"])
    split = data.tracking["calibration_periods"]
    start = int(np.floor(split))
    steps = np.arange(1, len(actual) - start + 1, dtype=float) - (split - start)
    at_split = float(actual[start - 1]) if start else 0.0
    curves = {}
    for name, model in models.items():
        expected = [scale * float(np.sum(model.expected(s, max(step, 0.0)))) for step in steps]
        curves[name] = [at_split + e for e in expected]
    return {"actual": actual.tolist(), "split": split, "start": start, "curves": curves,
            "sample": s.count if scale > 1 else None}


def _by_frequency(s, actual: np.ndarray, expected: dict[str, np.ndarray]) -> list[dict]:
    """Per number of past repeat purchases (0..6, 7+): customers, mean actual and mean expected holdout purchases."""
    group = np.minimum(s.x, FREQUENCIES).astype(int)
    rows = []
    for k in range(FREQUENCIES + 1):
        members = group == k
        if members.any():
            rows.append({"x": f"{k}+" if k == FREQUENCIES else str(k), "customers": int(members.sum()),
                         "actual": float(actual[members].mean()),
                         "expected": {n: float(e[members].mean()) for n, e in expected.items()}})
    return rows


def _lists(model, data: Customers) -> dict:
    """By the model users get, at the log's end: the P(active) histogram, the repeat customers most
    likely gone, and the most valuable (by the horizon's discounted value, or its purchases)."""
    table = customer_table(model, data.final, data.horizon, data.unit_days, data.discount_rate, data.amount)
    counts, edges = np.histogram(table["p_active"].clip(0, 1), bins=HISTOGRAM_BINS, range=(0, 1))
    repeat = table[table["purchases"] >= 2]
    gone = repeat.sort_values(["p_active", "purchases"], ascending=[True, False], kind="stable").head(LISTED)
    key = "value" if data.amount else "expected_purchases"
    valuable = table.sort_values(key, ascending=False, kind="stable").head(LISTED)
    return {"histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
            "gone": _records(gone), "valuable": _records(valuable),
            "totals": {"expected_purchases": float(table["expected_purchases"].sum()),
                       "value": float(table["value"].sum()) if data.amount else None,
                       "active": float(table["p_active"].mean())}}


def _records(frame) -> list[dict]:
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in frame.to_dict("records")]
