"""Rung 1 `one_rule`: the best rule that looks at a single column (Holte's 1R, with bins)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bakeoff.core.candidate import Candidate, Fitted

MISSING, OTHER = "missing", "other"


@dataclass
class ColumnRule:
    """How one column maps to groups, and what each group predicts."""

    column: str
    edges: np.ndarray | None  # numeric: bin edges; None for a categorical column
    levels: list[str]  # categorical: kept levels
    groups: list[str]
    outputs: np.ndarray  # (n_groups, n_classes) probabilities or (n_groups,) means
    fallback: np.ndarray | float

    def group_of(self, values: pd.Series) -> np.ndarray:
        """Each value's group position; -1 for a group not seen in training."""
        positions = {group: i for i, group in enumerate(self.groups)}
        labels = pd.Series(_group_labels(values, self.edges, self.levels))
        return labels.map(positions).fillna(-1).to_numpy(int)

    def output(self, values: pd.Series) -> np.ndarray:
        index = self.group_of(values)
        known = self.outputs[np.maximum(index, 0)]
        fallback = np.broadcast_to(self.fallback, known.shape)
        mask = (index >= 0).reshape((-1,) + (1,) * (known.ndim - 1))
        return np.where(mask, known, fallback)


def _group_labels(values: pd.Series, edges, levels) -> np.ndarray:
    """The group name of each value: its bin, its level, 'other' or 'missing'."""
    if edges is not None:
        numbers = values.to_numpy(float)
        names = np.array([_interval(edges, c) for c in range(len(edges) + 1)], dtype=object)
        labels = names[np.searchsorted(edges, numbers, side="right")]
        return np.where(np.isnan(numbers), MISSING, labels)
    text = values.astype("object").where(values.notna(), None).map(lambda v: None if v is None else str(v))
    labels = np.where(text.isin(levels), text, OTHER)
    return np.where(text.isna(), MISSING, labels)


def _interval(edges: np.ndarray, code: int) -> str:
    if code == 0:
        return f"< {edges[0]:.4g}"
    if code == len(edges):
        return f">= {edges[-1]:.4g}"
    return f"{edges[code - 1]:.4g} to {edges[code]:.4g}"


def fit_column_rule(column: pd.Series, y: np.ndarray, bins: int, n_classes: int) -> ColumnRule:
    """Group the column (quantile bins or frequent levels) and learn each group's answer."""
    if pd.api.types.is_numeric_dtype(column):
        quantiles = np.nanquantile(column.to_numpy(float), np.linspace(0, 1, bins + 1)[1:-1]) \
            if column.notna().any() else np.array([])
        edges, levels = np.unique(quantiles), []
    else:
        counts = column.astype(str).value_counts()
        edges, levels = None, list(counts[counts >= max(5, 0.01 * len(column))].index)
    labels = _group_labels(column, edges, levels)
    natural = [_interval(edges, c) for c in range(len(edges) + 1)] if edges is not None else levels + [OTHER]
    groups = [g for g in natural + [MISSING] if g in set(labels)]
    outputs = np.array([_answer(y[labels == g], n_classes) for g in groups])
    return ColumnRule(str(column.name), edges, levels, groups, outputs, _answer(y, n_classes))


def _answer(y: np.ndarray, n_classes: int):
    if n_classes == 0:
        return float(np.mean(y))
    return (np.bincount(y, minlength=n_classes) + 1.0) / (len(y) + n_classes)


def rule_loss(rule: ColumnRule, column: pd.Series, y: np.ndarray, n_classes: int) -> float:
    """Training log loss (classification) or squared error (regression) of a rule."""
    out = rule.output(column)
    if n_classes == 0:
        return float(np.mean((y - out) ** 2))
    return float(-np.mean(np.log(out[np.arange(len(y)), y])))


class OneRuleFitted(Fitted):
    def __init__(self, rule: ColumnRule, task: str, class_names: tuple[str, ...] = ()):
        self.rule, self.task, self.class_names = rule, task, class_names

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        out = self.rule.output(X[self.rule.column])
        return out.argmax(axis=1) if self.task == "classification" else out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.rule.output(X[self.rule.column])

    @property
    def n_params(self) -> int:
        per_group = self.rule.outputs.shape[1] - 1 if self.rule.outputs.ndim == 2 else 1
        cuts = len(self.rule.edges) if self.rule.edges is not None else len(self.rule.levels)
        return int(cuts + len(self.rule.groups) * per_group)

    def describe(self) -> str:
        lines = [f"Looks only at {self.rule.column}:"]
        names = self.class_names or tuple(str(i) for i in range(np.shape(self.rule.outputs)[-1]))
        for group, out in zip(self.rule.groups, self.rule.outputs, strict=True):
            answer = f"{names[out.argmax()]} ({out.max():.0%})" if np.ndim(out) else f"{out:,.4g}"
            if np.ndim(out) and len(out) == 2:
                answer = f"{names[1]} with probability {out[1]:.0%}"
            lines.append(f"  if {self.rule.column} is {group}: {answer}")
        return "\n".join(lines)

    def sql_scoring(self, task: str, n_classes: int, schema: dict[str, str]):
        """CASE over the one column's groups: its bins or levels, 'missing', and the fallback (one
        CASE per class for a multiclass rule)."""
        from sqlglot import exp

        from bakeoff.tasks.tabular.sqlexpr import (
            NotExportable,
            PerClass,
            Scoring,
            number,
            raw_number,
            raw_text,
        )

        rule = self.rule
        if rule.column not in schema or (rule.edges is not None and schema[rule.column] != "number"):
            raise NotExportable(f"the rule on {rule.column!r} reads a date, which has no SQL form yet")

        def case_for(cls: int):
            def answer(group: str):
                out = rule.outputs[rule.groups.index(group)] if group in rule.groups else rule.fallback
                return number(out[cls] if task == "classification" else out)

            if rule.edges is not None:
                x = raw_number(rule.column)
                case = exp.Case().when(exp.Is(this=x.copy(), expression=exp.Null()), answer(MISSING))
                for code, edge in enumerate(rule.edges):
                    case = case.when(exp.LT(this=x.copy(), expression=number(edge)),
                                     answer(_interval(rule.edges, code)))
                return case.else_(answer(_interval(rule.edges, len(rule.edges))))
            text = raw_text(rule.column)
            case = exp.Case().when(exp.Is(this=text.copy(), expression=exp.Null()), answer(MISSING))
            for level in rule.levels:
                case = case.when(exp.EQ(this=text.copy(), expression=exp.Literal.string(str(level))), answer(level))
            return case.else_(answer(OTHER))

        n_classes = np.shape(rule.outputs)[-1] if task == "classification" else 0
        if n_classes > 2:
            return Scoring([], PerClass([case_for(k) for k in range(n_classes)], softmax=False))
        return Scoring([], case_for(1))


class OneRule(Candidate):
    name, rung, family = "one_rule", 1, "rules"
    title, requires = "One rule on one column", ()
    summary = "the best rule that looks at a single column"
    sql_exportable = True
    max_trials = 8  # one number (its bins) of eleven to choose

    def default_params(self):
        return {"bins": 6}

    def search_space(self, trial):
        return {"bins": trial.suggest_int("bins", 2, 12)}

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Fitted:
        bins = int(self.hyperparams["bins"])
        k = self.n_classes if self.task == "classification" else 0
        rules = [fit_column_rule(X[c], y, bins, k) for c in X.columns]
        losses = [rule_loss(r, X[r.column], y, k) for r in rules]
        return OneRuleFitted(rules[int(np.argmin(losses))], self.task, self.class_names)
