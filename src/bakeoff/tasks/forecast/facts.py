"""What the forecasting report shows, computed while the candidates' forecasts are here: the
per-series choice against the best single candidate, wins by rung, interval coverage, and a
few series to look at."""

from __future__ import annotations

import numpy as np

from bakeoff.tasks.forecast.data import Series
from bakeoff.tasks.forecast.selection import best_per_series, choose, picked, summary
from bakeoff.tasks.forecast.task import FACTS_VERSION

HISTORY_SEASONS = 3  # seasons of history drawn before a sample series' holdout


def collect_facts(result: dict, evaluations: dict, data: Series, card) -> dict:
    models = {name: ev.holdout_model for name, ev in evaluations.items() if ev.holdout_model is not None}
    if not models:
        return {"version": FACTS_VERSION}
    cv = {name: evaluations[name].oof for name in models}
    holdout = {name: m.scores for name, m in models.items()}
    simplicity = {name: (m.rung, m.params_per_series) for name, m in models.items()}
    choice = choose(cv, simplicity, card.evaluate.tolerance)
    best = best_per_series(cv)
    chosen_cv, chosen_holdout = picked(cv, choice), picked(holdout, choice)
    rows = [{"id": key, "chosen": str(c), "chosen_score": float(s), "best": str(b), "best_score": float(cv[b][k])}
            for k, (key, c, s, b) in enumerate(zip(data.ids, choice, chosen_cv, best))]
    costs = {name: _fit_cost(evaluations[name], m, data.count) for name, m in models.items()}
    singles = {role: _single(result.get(role), cv, holdout, costs) for role in ("best", "recommended")}
    wins = summary(choice, {name: m.rung for name, m in models.items()})
    return {"version": FACTS_VERSION, "metric": result["metric"], "series": data.count, "target": card.data.target,
            "horizon": data.horizon, "tolerance": card.evaluate.tolerance,
            "selection": {"rows": rows, "score": float(np.mean(chosen_cv)),
                          "holdout": float(np.mean(chosen_holdout)),
                          "fit_seconds": mix_fit_seconds(wins["by_candidate"], costs), **wins},
            "singles": singles,
            "coverage": {name: {str(k): v for k, v in m.coverage.items()} for name, m in models.items()},
            "samples": _samples(data, choice, chosen_holdout, models)}


def _single(name: str | None, cv: dict, holdout: dict, costs: dict) -> dict | None:
    if name not in cv:
        return None
    per_series, shared = costs[name]
    return {"name": name, "score": float(np.nanmean(cv[name])), "holdout": float(np.nanmean(holdout[name])),
            "fit_seconds": shared + per_series * len(cv[name])}


def _fit_cost(evaluation, model, count: int) -> tuple[float, float]:
    """A candidate's measured seconds to fit and forecast: per series (a model per series: its
    final fit's seconds over the series it fitted) and once for all (a global model: all of it)."""
    if model.shared_params:
        return 0.0, evaluation.fit_seconds
    return evaluation.fit_seconds / (evaluation.fold_fit_rows or count), 0.0


def mix_fit_seconds(wins: dict[str, int], costs: dict[str, tuple[float, float]]) -> float:
    """Seconds to fit the per-series choice: each candidate on the series it won (a global
    model on all series, since it learns from all of them).

    >>> mix_fit_seconds({"seasonal_naive": 300, "global_lightgbm": 100}, {"seasonal_naive": (0.001, 0.0),
    ...                 "global_lightgbm": (0.0, 60.0)})
    60.3
    """
    return sum(costs[name][0] * n + costs[name][1] for name, n in wins.items())


def _samples(data: Series, choice: np.ndarray, scores: np.ndarray, models: dict) -> list[dict]:
    """The best, a typical and the worst series under the per-series choice, and a typical one
    of each rung's wins: recent history, the chosen candidate's holdout forecast (with its
    widest interval) and the actuals."""
    order = np.argsort(scores, kind="stable")
    picks = {"best": order[0], "typical": order[len(order) // 2], "worst": order[-1]}
    rungs = np.array([models[str(c)].rung for c in choice])
    for rung in sorted(set(rungs.tolist())):
        wins = [k for k in order if rungs[k] == rung]  # by score: the middle one is typical
        typical = wins[len(wins) // 2]
        if typical not in picks.values():
            picks[f"a rung {rung} win"] = typical
    history = HISTORY_SEASONS * max(data.season, 1) + data.horizon
    out = []
    for role, k in picks.items():
        model, values = models[str(choice[k])], data.values[k]
        level = max(model.bounds, default=None)
        out.append({"role": role, "id": data.ids[k], "candidate": str(choice[k]), "score": float(scores[k]),
                    "history": values[-history:-data.horizon].tolist(), "actual": values[-data.horizon:].tolist(),
                    "forecast": model.mean[k].tolist(), "level": level,
                    "low": model.bounds[level][0][k].tolist() if level else None,
                    "high": model.bounds[level][1][k].tolist() if level else None})
    return out
