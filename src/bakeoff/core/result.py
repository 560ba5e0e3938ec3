"""Turn race outcomes into the `result.json` record: intervals, money, the recommendation."""

from __future__ import annotations

import math


from bakeoff.core.card import Card
from bakeoff.core.cost import best_threshold_value, monthly_compute_cost
from bakeoff.tasks.tabular.data import Dataset
from bakeoff.core.jsonable import plain
from bakeoff.core.units import money
from bakeoff.core.metrics import Interval, Metric, paired_intervals
from bakeoff.core.race import Outcome
from bakeoff.core.select import Contender, Tolerance, best_of, reason, recommend


def _finite(value):
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


def _money(outcome: Outcome, dataset: Dataset, card: Card) -> dict:
    """Monthly value net of compute, monthly compute cost and the value-maximising threshold."""
    business, ev = card.business, outcome.evaluation
    if business is None or ev is None:
        return {}
    cost = monthly_compute_cost(ev.predict_us_per_row, ev.fit_seconds,
                                business.predictions_per_month, business.compute_cost_per_hour)
    if dataset.task != "classification" or len(dataset.classes) != 2:
        return {"monthly_cost": round(cost, 4)}
    y = dataset.y_train[ev.scored]
    threshold, per_row = best_threshold_value(y, ev.oof[ev.scored][:, 1], business.value_true_positive,
                                              business.cost_false_positive, business.cost_false_negative)
    return {"monthly_value": round(per_row * business.predictions_per_month - cost, 2),
            "monthly_cost": round(cost, 4), "threshold": _finite(threshold)}


def candidate_row(outcome: Outcome, interval: Interval | None, dataset: Dataset, card: Card) -> dict:
    ev = outcome.evaluation
    row = {"name": outcome.name, "family": outcome.family, "rung": outcome.rung,
           "status": outcome.status, "error": outcome.error, "score": None, "score_ci": None,
           "holdout_score": None, "fit_seconds": None, "predict_us_per_row": None,
           "latency_ms_p50": None, "model_bytes": None, "n_params": None, "sql": None, "sql_reason": None,
           "monthly_value": None, "monthly_cost": None, "threshold": None, "model_uri": None,
           "params": {}, "tuning": None, "description": "", "wall_seconds": round(outcome.wall_seconds, 2)}
    if ev is None:
        return row
    row.update(score=_finite(ev.cv_score), holdout_score=_finite(ev.holdout_score),
               score_ci=[_finite(x) for x in interval.score_ci] if interval else None,
               diff_ci=[_finite(x) for x in interval.diff_ci] if interval else None,
               fit_seconds=round(ev.fit_seconds, 4), predict_us_per_row=round(ev.predict_us_per_row, 3),
               latency_ms_p50=round(ev.latency_ms_p50, 3), model_bytes=ev.model_bytes,
               n_params=ev.n_params, sql=ev.sql, sql_reason=ev.sql_reason, **_money(outcome, dataset, card), params={k: plain(v) for k, v in ev.tuning.params.items()},
               tuning={"trials": ev.tuning.trials, "stopped_by": ev.tuning.stopped_by},
               description=ev.description)
    return row


def _plain_words(name: str, ladder: dict[str, type]) -> dict:
    cls = ladder.get(name)
    return {"title": getattr(cls, "title", "") or name, "summary": getattr(cls, "summary", ""),
            "requires": list(getattr(cls, "requires", ()))}


def intervals(outcomes: list[Outcome], metric: Metric) -> dict[str, Interval]:
    ok = [o for o in outcomes if o.status == "ok" and math.isfinite(o.evaluation.cv_score)]
    if not ok:
        return {}
    sign = 1 if metric.higher_is_better else -1
    reference = max(ok, key=lambda o: sign * o.evaluation.cv_score).name
    return paired_intervals({o.name: o.evaluation.bootstrap for o in ok}, reference)


def summarise(run_id: str, outcomes: list[Outcome], dataset: Dataset, metric: Metric, card: Card,
              provenance: dict, ladder: dict[str, type] | None = None) -> dict:
    """The whole result.json as a dict; `ladder` maps names to candidate classes (titles)."""
    spans = intervals(outcomes, metric)
    rows = [candidate_row(o, spans.get(o.name), dataset, card) | _plain_words(o.name, ladder or {})
            for o in outcomes]
    result = {"run_id": run_id, "name": card.problem.name, "question": card.problem.question,
              "task": dataset.task, "metric": metric.name,
              "higher_is_better": metric.higher_is_better, "tolerance": card.evaluate.tolerance,
              "tolerance_is_relative": metric.relative,
              "classes": dataset.classes, "training_rows": int(len(dataset.train_index)),
              "holdout_rows": int(len(dataset.holdout_index)), "candidates": rows, "best": None, "recommended": None,
              "reason": "no candidate finished; see each candidate's error",
              "notes": dataset.notes + _tuning_notes(outcomes),
              "card_dir": str(card.base_dir),
              "provenance": provenance}
    contenders = [_contender(r) for r in rows if r["status"] == "ok" and r["score"] is not None]
    if contenders:
        tolerance = Tolerance(card.evaluate.tolerance, metric.relative)
        best = best_of(contenders, metric.higher_is_better)
        chosen = recommend(contenders, tolerance, metric.higher_is_better)
        result.update(best=best.name, recommended=chosen.name,
                      reason=_full_reason(rows, chosen, best, tolerance, metric))
    return result


def _full_reason(rows: list[dict], chosen: Contender, best: Contender, tolerance: Tolerance,
                 metric: Metric) -> str:
    """The rule's reason, the money where [business] gives it, and what did not finish."""
    by_name = {r["name"]: r for r in rows}
    finished = [r for r in rows if r["status"] == "ok"]
    if len(finished) == 1:
        text = f"{chosen.name} is the only candidate that finished"
    else:
        text = reason(chosen, best, tolerance, metric.higher_is_better)
    value, best_value = by_name[chosen.name]["monthly_value"], by_name[best.name]["monthly_value"]
    if value is not None and chosen.name != best.name:
        text += f"; worth {money(value)} a month against {money(best_value)} for {best.name}"
    unfinished = [f"{r['name']} ({r['status']})" for r in rows if r["status"] != "ok"]
    if unfinished:
        text += f"; did not finish: {', '.join(unfinished)}"
    return text


def _tuning_notes(outcomes: list[Outcome]) -> list[str]:
    cut = [o.name for o in outcomes if o.evaluation is not None and o.evaluation.tuning.stopped_by == "time"]
    if not cut:
        return []
    their = "its score" if len(cut) == 1 else "their scores"
    return [f"the time slice, not the trial count, ended the tuning of {', '.join(cut)}: {their} can "
            "differ between runs of the same card and seed; raise [budget] per_candidate to repeat them exactly"]


def _contender(row: dict) -> Contender:
    diff = tuple(math.nan if x is None else x for x in row.get("diff_ci") or (math.nan, math.nan))
    return Contender(row["name"], row["rung"], row["n_params"], row["score"], diff, row["fit_seconds"],
                     row["predict_us_per_row"], row["model_bytes"], bool(row["sql"]))
