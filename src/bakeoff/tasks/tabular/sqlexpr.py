"""The building blocks of a model's SQL (sqlglot trees), shared by every family on the ladder.

Each family writes its own answer from these (`sql_output` on its candidate class, `sql_scoring`
on its fitted model); `bakeoff.tasks.tabular.sql` adds the input cleaning, assembles the query,
renders it per dialect and checks it.

>>> number(0.5).sql(), number(-2.0).sql()
('0.5E0', '-2.0E0')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_TREE_NODES = 2_000  # ensembles beyond this many tree nodes are refused (about 300 KB of SQL)
EXP_GUARD = 700.0  # EXP() of more than this overflows a double; PostgreSQL raises instead of inf
EXP_ZERO = -700.0  # EXP() below this is 0 here: a subnormal divided by the sum would underflow, and PostgreSQL raises


class NotExportable(Exception):
    """The fitted candidate has no SQL form; the message says why in a few words."""


@dataclass
class Scoring:
    """A model as SQL: cleaned raw columns, the model's input features, and its output."""

    features: list  # (name, expression over the cleaned inputs), in the model's input order
    output: object  # expression over the feature names: P(positive) or the predicted value; PerClass
    inputs: list = None  # (raw column, cleaned expression over the table), computed once each
    passthrough: list = None  # cleaned category columns that splits read directly


@dataclass
class PerClass:
    """A multiclass model's answer: one expression per class, in the classes' order, either
    probabilities or scores that a softmax turns into probabilities."""

    outputs: list
    softmax: bool


def raw_number(column: str):
    """A numeric input as schema.py reads it: a number column as is, text that is a number
    (spaces allowed) as that number, blank or other text as NULL. The tree holds a TRY_CAST;
    `_safe_casts` rewrites it for the dialects that have none."""
    from sqlglot import exp

    return exp.TryCast(this=exp.column(column, quoted=True), to=exp.DataType.build("double"), safe=True)


def number(value: float):
    """A numeric literal that round-trips the double exactly, written with an exponent so that
    engines read a double, not a DECIMAL (DuckDB's decimal arithmetic is several times slower)."""
    from sqlglot import exp

    value = float(value)
    if not math.isfinite(value):
        raise NotExportable("the model holds a non-finite number")
    text = repr(abs(value))
    literal = exp.Literal.number(text if "e" in text else f"{text}E0")
    return exp.Neg(this=literal) if value < 0 or math.copysign(1, value) < 0 else literal


def feature(name: str):
    from sqlglot import exp

    return exp.column(name, quoted=True)


def raw_text(column: str):
    """A category as schema.py reads it: text without surrounding spaces, blank as NULL.

    TRIM runs only on values that start or end with a space: trimming every value costs
    DuckDB more than the whole model."""
    from sqlglot import exp

    text = exp.cast(exp.column(column, quoted=True), exp.DataType.build("text"))
    padded = exp.or_(exp.Like(this=text.copy(), expression=exp.Literal.string(" %")),
                     exp.Like(this=text.copy(), expression=exp.Literal.string("% ")))
    trimmed = exp.Case().when(padded, exp.Trim(this=text.copy())).else_(text.copy())
    return exp.Nullif(this=trimmed, expression=exp.Literal.string(""))


def sum_of(terms: list):
    from sqlglot import exp

    total = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
    return total


def sigmoid(z):
    """1 / (1 + e^-z), with z clamped to +-700 so that EXP neither overflows nor underflows
    (PostgreSQL raises on both); z appears once, so engines compute it once."""
    from sqlglot import exp

    clamped = exp.func("GREATEST", exp.func("LEAST", z, number(EXP_GUARD)), number(-EXP_GUARD))
    return exp.Div(this=number(1.0),
                   expression=exp.paren(exp.Add(this=number(1.0), expression=exp.func("EXP", exp.Neg(this=clamped)))))


def exp_minus_one(z):
    """e^z - 1: the value of a model that learnt log(1 + y), as EXP(z) - 1 with z capped at 700
    (a larger z overflows a double; PostgreSQL raises)."""
    from sqlglot import exp

    capped = exp.func("LEAST", z, number(EXP_GUARD))
    return exp.Sub(this=exp.func("EXP", capped), expression=number(1.0))


def each_class(model, task: str, answer):
    """`answer(k)` for each class k of a multiclass model, else the one answer (class 1's
    probability for a binary model)."""
    n_classes = len(getattr(model, "classes_", ())) if task == "classification" else 0
    if n_classes > 2:
        return PerClass([answer(k) for k in range(n_classes)], softmax=False)
    return answer(1)


def tree_case(tree, names: list[str], task: str, indicators: dict, cls: int = 1, node: int = 0):
    """Nested CASE over the tree's splits (left: feature <= threshold), leaves as values: class
    `cls`'s share for classification."""
    from sqlglot import exp

    left, right = tree.children_left[node], tree.children_right[node]
    if left == -1:
        value = tree.value[node][0]
        return number(value[cls] / value.sum() if task == "classification" else value[0])
    test = split(names[tree.feature[node]], float(tree.threshold[node]), indicators, single_precision=True)
    return (exp.Case().when(test, tree_case(tree, names, task, indicators, cls, left))
            .else_(tree_case(tree, names, task, indicators, cls, right)))


def split(name: str, threshold: float, indicators: dict, single_precision: bool = False):
    """`feature <= threshold`; on a 0/1 category indicator split between 0 and 1 that is
    `column <> level` on the cleaned column, which engines test without building the indicator.
    scikit-learn's trees compare the feature rounded to single precision: `single_precision`
    turns that into the equivalent test on the double."""
    from sqlglot import exp

    if name in indicators and 0.0 <= threshold < 1.0:
        column, level = indicators[name]
        return exp.NEQ(this=feature(column), expression=exp.Literal.string(level))
    if single_precision:
        cut, inclusive = float32_cut(threshold)
        return (exp.LTE if inclusive else exp.LT)(this=feature(name), expression=number(cut))
    return exp.LTE(this=feature(name), expression=number(threshold))


def float32_cut(threshold: float) -> tuple[float, bool]:
    """(m, inclusive) with float32(x) <= threshold exactly when x < m (x <= m if inclusive),
    for a double x rounded to nearest, ties to even.

    >>> float32_cut(0.15000000223517418)
    (0.14999999850988388, False)
    """
    low = np.float32(threshold)
    if float(low) > threshold:
        low = np.nextafter(low, np.float32(-np.inf))
    high = np.nextafter(low, np.float32(np.inf))
    if not np.isfinite(high):
        return float(low), True
    middle = (float(low) + float(high)) / 2.0  # exact: two floats' midpoint fits a double
    return middle, bool(int(np.array(low).view(np.int32)) & 1 == 0)


def check_size(nodes: int, what: str) -> None:
    if nodes > MAX_TREE_NODES:
        raise NotExportable(f"{what} has {nodes:,} tree nodes, over the {MAX_TREE_NODES:,}-node limit for SQL "
                            "(the query would pass a megabyte); fewer or smaller trees would fit")
