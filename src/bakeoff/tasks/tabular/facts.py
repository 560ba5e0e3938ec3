"""The report's facts beyond result.json, computed on the untouched holdout rows.

Pure functions over arrays and frames: the headline in business terms, gains, calibration,
the confusion matrix at the chosen threshold, what drives the model, quality by segment and
sample predictions. `collect_facts` gathers them into the run's facts.json.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bakeoff.core.jsonable import plain

FACTS_VERSION = 2  # facts.json from another version is not rendered (re-run the card)
FLAG_SHARE = 0.20  # the headline: flagging the top 20 % of rows
PLAIN_RESAMPLES = 200  # bootstrap resamples of the holdout for the plain figures' intervals
MAX_SEGMENT_COLUMNS = 12  # categorical columns shown by segment, the most important first
SMALL_SEGMENT = 30  # segments with fewer holdout rows are marked small
MAX_LEVELS = 8


def kind_of(task: str, classes: list[str]) -> str:
    if task == "regression":
        return "regression"
    return "binary" if len(classes) == 2 else "multiclass"


def caught(y: np.ndarray, score: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    """Share of all positives among the `flagged` highest-scored rows (any counts, may be
    fractional). Rows with tied scores cannot be told apart, so a cut inside a tie takes its
    share of the tie's positives, whatever the row order.

    >>> caught(np.array([1, 0, 0, 0]), np.array([.5, .5, .5, .5]), np.array([1, 2]))
    array([0.25, 0.5 ])
    """
    _, counts = np.unique(-score, return_counts=True)
    positives = np.add.reduceat(y[np.argsort(-score, kind="stable")], np.r_[0, np.cumsum(counts)[:-1]])
    rows_so_far, found_so_far = np.r_[0, np.cumsum(counts)], np.r_[0, np.cumsum(positives)]
    return np.interp(flagged, rows_so_far, found_so_far) / max(1, y.sum())


def capture_at(y: np.ndarray, score: np.ndarray, share: float = FLAG_SHARE) -> float:
    """Share of all positives found among the `share` highest-scored rows.

    >>> capture_at(np.array([1, 0, 1, 0, 0]), np.array([.9, .8, .1, .2, .3]), 0.2)
    0.5
    """
    return float(caught(y, score, np.array([share * len(y)]))[0])


def gains(y: np.ndarray, score: np.ndarray, points: int = 20) -> list[list[float]]:
    """[share of rows flagged, share of positives caught] from 0 to 1.

    >>> gains(np.array([1, 0]), np.array([.9, .1]), 2)
    [[0.0, 0.0], [0.5, 1.0], [1.0, 1.0]]
    """
    shares = np.linspace(0, 1, points + 1)
    found = caught(y, score, shares * len(y))
    return [[round(float(s), 4), round(float(f), 4)] for s, f in zip(shares, found)]


def calibration(y: np.ndarray, score: np.ndarray, bins: int = 10) -> dict:
    """Mean predicted against observed rate in equal-count bins."""
    order = np.argsort(score, kind="stable")
    groups = [g for g in np.array_split(order, min(bins, len(order))) if len(g)]
    return {"predicted": [round(float(score[g].mean()), 4) for g in groups],
            "observed": [round(float(y[g].mean()), 4) for g in groups],
            "rows": [len(g) for g in groups]}


def confusion(y: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """Counts at `threshold` (flag when score >= threshold).

    >>> confusion(np.array([1, 0, 1, 0]), np.array([.9, .8, .3, .1]), 0.5)
    {'threshold': 0.5, 'tp': 1, 'fp': 1, 'fn': 1, 'tn': 1}
    """
    flag = score >= threshold
    return {"threshold": threshold, "tp": int((flag & (y == 1)).sum()), "fp": int((flag & (y == 0)).sum()),
            "fn": int((~flag & (y == 1)).sum()), "tn": int((~flag & (y == 0)).sum())}


def decision_money(counts: dict, business, rows: int) -> float | None:
    """Value per month of the decisions in `counts`, scaled from `rows` holdout rows."""
    if business is None or rows == 0:
        return None
    value = (counts["tp"] * business.value_true_positive - counts["fp"] * business.cost_false_positive
             - counts["fn"] * business.cost_false_negative)
    return round(value / rows * business.predictions_per_month, 2)


def _nice_step(spread: float) -> float:
    """One unit when units are readable (a month, a dollar), else a round step near one
    standard deviation: 0.1, 0.2, 0.5, 100, 200, 500, ...

    >>> _nice_step(24.5), _nice_step(2266.0), _nice_step(0.3)
    (1.0, 2000.0, 0.2)
    """
    if not spread or not math.isfinite(spread) or 1 <= spread <= 50:
        return 1.0
    power = 10 ** math.floor(math.log10(spread))
    return float(min((1, 2, 5, 10), key=lambda m: abs(m * power - spread)) * power)


def linear_effects(fitted, classification: bool, positive: str, limit: int = 8,
                   target: str = "the target") -> list[dict]:
    """A linear model's weights in words, per raw unit and per category change; [] otherwise.
    A weight on log(1 + target) multiplies 1 + target: said as a percentage, like odds."""
    model = getattr(fitted, "model", None)
    coef = getattr(model, "coef_", None)
    if coef is None or np.atleast_2d(coef).shape[0] != 1:
        return []
    inputs = fitted.inputs
    if inputs is None:
        return []
    weights = dict(zip(inputs.feature_names, np.atleast_2d(coef)[0]))
    log_target = getattr(fitted, "log_target", False)

    def effect(change: str, delta: float) -> dict:
        return _effect(change, delta, classification, positive, target if log_target else None)

    effects = []
    for number in inputs.numbers:
        scale = number.scale if number.scale is not None else 1.0
        per_unit = weights[number.column] / scale
        step = _nice_step(scale)
        effects.append(effect(f"each extra {step:g} of {number.column}", per_unit * step)
                       | {"strength": abs(per_unit * scale)})
    for category in inputs.categories:
        level_weights = {str(level): weights[f"{category.column}_{level}"] for level in category.levels}
        reference = next(iter(level_weights))  # the first level in sorted order
        for level, w in level_weights.items():
            if level != reference:
                delta = w - level_weights[reference]
                effects.append(effect(f"{category.column} '{level}' instead of '{reference}'", delta)
                               | {"strength": abs(delta)})
    effects.sort(key=lambda e: -e["strength"])
    return effects[:limit]


def _effect(change: str, delta: float, classification: bool, positive: str,
            log_of: str | None = None) -> dict:
    """`delta` in words: on the log-odds of `positive`, on log(1 + `log_of`), or added."""
    if classification or log_of:
        factor = math.exp(delta)
        direction = "raises" if factor >= 1 else "lowers"
        size = (factor - 1) * 100 if factor >= 1 else (1 - factor) * 100
        what = f"the odds of {positive}" if classification else f"1 + {log_of}"
        text = f"{change} {direction} {what} by {size:.0f} %"
        return {"text": text, "log_effect": float(delta), "factor": round(factor, 4)}
    direction = "adds" if delta >= 0 else "takes off"
    return {"text": f"{change} {direction} {abs(delta):,.3g}", "log_effect": float(delta), "factor": None}


PERMUTED_CELLS = 2_000_000  # cells of shuffled copies predicted in one call


def permutation_drop(predict, score, X: pd.DataFrame, y: np.ndarray, seed: int, repeats: int = 3,
                     max_rows: int = 2000) -> list[dict]:
    """How much the score drops when each raw column is shuffled, largest first: scikit-learn's
    permutation importance on the holdout, with the very shuffles it draws for `seed`, but the
    shuffled copies are predicted a few large batches at a time (`predict(frame)` -> what
    `score(truth, predictions)` scores, higher is better) instead of in one call per column and
    repeat, each of which costs a model's fixed milliseconds."""
    if len(X) > max_rows:
        keep = np.random.default_rng(seed).choice(len(X), max_rows, replace=False)
        X, y = X.iloc[keep], y[keep]
    X = X.reset_index(drop=True)
    baseline = score(y, predict(X))
    orders = sklearn_shuffles(seed, len(X), repeats)  # the same for every column
    copies = [(column, order) for column in range(X.shape[1]) for order in orders]
    drops = np.empty(len(copies))
    per_call = max(1, PERMUTED_CELLS // max(X.size, 1))
    for first in range(0, len(copies), per_call):
        batch = copies[first:first + per_call]
        pred = predict(pd.concat([_shuffled(X, column, order) for column, order in batch], ignore_index=True))
        for k in range(len(batch)):
            drops[first + k] = baseline - score(y, pred[k * len(X):(k + 1) * len(X)])
    drops = drops.reshape(X.shape[1], repeats)
    ranked = sorted(zip(X.columns, drops.mean(axis=1), drops.std(axis=1)), key=lambda t: -t[1])
    return [{"feature": str(c), "drop": round(float(m), 5), "spread": round(float(s), 5)} for c, m, s in ranked]


def sklearn_shuffles(seed: int, rows: int, repeats: int) -> list[np.ndarray]:
    """The row order of each repeat's shuffled column in `sklearn.inspection.permutation_importance`
    with `random_state=seed`: every column is shuffled alike, and each repeat shuffles the
    column the repeat before left (so its order is the previous one, shuffled again)."""
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    draw, shuffling, order, orders = np.random.RandomState(column_seed), np.arange(rows), np.arange(rows), []
    for _ in range(repeats):
        draw.shuffle(shuffling)
        order = order[shuffling]
        orders.append(order)
    return orders


def _shuffled(X: pd.DataFrame, column: int, order: np.ndarray) -> pd.DataFrame:
    copy = X.copy(deep=False)
    copy.isetitem(column, X.iloc[:, column].take(order).reset_index(drop=True))
    return copy


def segments(X: pd.DataFrame, y: np.ndarray, pred: np.ndarray, score_fn, numeric_columns: list[str],
             categorical_columns: list[str]) -> list[dict]:
    """Quality per level of each categorical column and per quartile of the given numeric ones."""
    out = []
    for column in categorical_columns:
        values = X[column].astype("object").where(X[column].notna(), "(missing)").astype(str)
        top = values.value_counts().index[:MAX_LEVELS]
        for level in top:
            out.append(_segment(column, level, (values == level).to_numpy(), y, pred, score_fn))
    for column in numeric_columns:
        try:
            bins = pd.qcut(X[column], 4, duplicates="drop")
        except (ValueError, TypeError):
            continue
        for interval in bins.cat.categories:
            mask = (bins == interval).to_numpy()
            inside = X[column][mask]
            label = f"{inside.min():,.4g} to {inside.max():,.4g}"
            out.append(_segment(column, label, mask, y, pred, score_fn))
    return out


def _segment(column: str, label: str, mask: np.ndarray, y, pred, score_fn) -> dict:
    rows = int(mask.sum())
    try:
        value = float(score_fn(y[mask], pred[mask])) if rows else None
    except ValueError:  # e.g. ROC AUC of a segment with one class only
        value = None
    if value is not None and not math.isfinite(value):
        value = None
    return {"column": column, "segment": label, "rows": rows, "score": value,
            "actual": round(float(np.mean(y[mask])), 4) if rows else None, "small": rows < SMALL_SEGMENT}


def samples(frame: pd.DataFrame, ids: list | None, truth: list, predicted: list, shown: np.ndarray,
            groups: list[tuple[str, np.ndarray]], per_group: int = 3) -> list[dict]:
    """The first `per_group` rows of each (name, positions in order) group, with their inputs;
    `shown` is the figure printed beside each (confidence or error)."""
    picks = []
    for group, positions in groups:
        for i in positions[:per_group]:
            picks.append({"group": group, "position": int(i), "id": None if ids is None else _scalar(ids[i]),
                          "actual": _scalar(truth[i]), "predicted": _scalar(predicted[i]),
                          "shown": round(float(shown[i]), 4),
                          "features": {k: _scalar(v) for k, v in frame.iloc[i].items()}})
    return picks


def classification_samples(frame, ids, labels, y, proba) -> list[dict]:
    """The most confident right, the most confident wrong and the borderline predictions."""
    chosen, sure = proba.argmax(axis=1), proba.max(axis=1)
    order = np.argsort(-sure, kind="stable")
    right = chosen == y
    margin = sure - np.sort(proba, axis=1)[:, -2]
    groups = [("most confident and right", order[right[order]]), ("most confident and wrong", order[~right[order]]),
              ("borderline", np.argsort(margin, kind="stable"))]
    return samples(frame, ids, list(labels[y]), list(labels[chosen]), sure, groups)


def regression_samples(frame, ids, y, pred) -> list[dict]:
    """The predictions closest to the truth, the furthest, and typical ones (median error)."""
    error = np.abs(pred - y)
    groups = [("closest to the truth", np.argsort(error, kind="stable")),
              ("furthest from the truth", np.argsort(-error, kind="stable")),
              ("typical", np.argsort(np.abs(error - np.median(error)), kind="stable"))]
    return samples(frame, ids, list(y), list(pred), error, groups)


def _scalar(value):
    value = plain(value)
    return round(value, 6) if isinstance(value, float) else value


def collect_facts(result: dict, fitted: dict, dataset, card) -> dict:
    """Everything the report needs beyond result.json, for the recommended candidate."""
    from bakeoff.tasks.tabular.evaluate import predictions
    from bakeoff.tasks.tabular.metrics import get_metric

    kind = kind_of(dataset.task, dataset.classes)
    facts = {"version": FACTS_VERSION, "kind": kind, "positive": dataset.classes[-1] if kind == "binary" else None,
             "target": card.data.target, "holdout_rows": len(dataset.holdout_index), "quality": {}}
    name = result["recommended"]
    if name is None or len(dataset.holdout_index) < 10:
        return facts
    X, y = dataset.X.iloc[dataset.holdout_index], dataset.y[dataset.holdout_index]
    metric = get_metric(result["metric"], dataset.task)
    held = {n: predictions(f, X, dataset.task) for n, f in fitted.items() if f is not None}
    facts["quality"] = {n: _plain_quality(kind, y, p, card.evaluate.seed) for n, p in held.items()}
    model, pred = fitted[name], held[name]
    importance = permutation_drop(lambda rows: predictions(model, rows, dataset.task),
                                  lambda truth, pred: _signed(metric, truth, pred), X, y, card.evaluate.seed)
    facts["explain"] = {"importance": importance[:12],
                        "effects": linear_effects(model, kind != "regression", facts["positive"] or "",
                                                  target=card.data.target),
                        "log_target": bool(getattr(model, "log_target", False))}
    numeric = [i["feature"] for i in importance if dataset.schema.get(i["feature"]) == "number"][:3]
    rank = {item["feature"]: i for i, item in enumerate(importance)}  # most important first
    categorical = sorted((c for c, k in dataset.schema.items() if k == "category"),
                         key=lambda c: rank.get(c, len(rank)))[:MAX_SEGMENT_COLUMNS]
    facts["segments"] = segments(X, y, pred, metric.score, numeric, categorical)
    raw = dataset.raw.iloc[dataset.holdout_index]
    ids = raw[dataset.id_column].tolist() if dataset.id_column else None
    features = raw[[c for c in raw.columns if c in dataset.schema]]
    if kind == "regression":
        facts["samples"] = regression_samples(features, ids, y, pred)
        facts["fit"] = {"actual": [round(float(v), 4) for v in y[:2000]],
                        "predicted": [round(float(v), 4) for v in pred[:2000]]}
        return facts
    facts["samples"] = classification_samples(features, ids, np.asarray(dataset.classes, dtype=object), y, pred)
    if kind == "binary":
        row = next(r for r in result["candidates"] if r["name"] == name)
        facts.update(binary_facts(y, {n: p[:, 1] for n, p in held.items()}, name, result["best"],
                                  row.get("threshold"), card.business))
    return facts


def binary_facts(y: np.ndarray, positive: dict[str, np.ndarray], name: str, best: str,
                 money_threshold: float | None, business) -> dict:
    """Headline, gains, calibration and the decisions at the chosen threshold, for `name`."""
    score = positive[name]
    if business is None:
        rule, threshold = "default", 0.5
    elif money_threshold is None:  # at the values given, flagging nobody earns the most
        rule, threshold = "nobody", float(np.nextafter(score.max(), np.inf))
    else:
        rule, threshold = "money", money_threshold
    counts = confusion(y, score, threshold)
    return {"headline": {"share": FLAG_SHARE, "capture": capture_at(y, score), "base_rate": round(float(y.mean()), 4)},
            "gains": {n: gains(y, p) for n, p in positive.items() if n in (name, best)},
            "calibration": calibration(y, score),
            "confusion": counts | {"rule": rule, "money_per_month": decision_money(counts, business, len(y))}}


def _signed(metric, truth, pred) -> float:
    value = metric.score(truth, pred)
    return value if metric.higher_is_better else -value


def _plain_quality(kind: str, y: np.ndarray, pred: np.ndarray, seed: int = 0) -> dict:
    """One figure a manager reads, with its 95 % bootstrap interval over the holdout rows:
    share caught in the top 20 %, share right, or typical error."""
    if kind == "binary":
        key, figure = "capture", lambda rows: capture_at(y[rows], pred[rows, 1])
    elif kind == "multiclass":
        key, figure = "accuracy", lambda rows: float((pred[rows].argmax(axis=1) == y[rows]).mean())
    else:
        key, figure = "median_error", lambda rows: float(np.median(np.abs(pred[rows] - y[rows])))
    rng = np.random.default_rng(seed)
    everyone = np.arange(len(y))
    resampled = [figure(rng.integers(0, len(y), len(y))) for _ in range(PLAIN_RESAMPLES)]
    low, high = np.percentile(resampled, [2.5, 97.5])
    return {key: round(figure(everyone), 6), "low": round(float(low), 6), "high": round(float(high), 6)}