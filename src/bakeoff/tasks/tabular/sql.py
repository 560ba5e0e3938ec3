"""A fitted candidate as one SQL SELECT, built as a sqlglot syntax tree and rendered per dialect.

Every step the candidate learned is folded in: the raw-column cleaning of `schema.py` (text
trimmed, blanks as missing), median imputation, category indicators (an unseen category is all
zeros, as in the Python pipeline), scaling, and the model itself (constant, one-column rule,
tree as nested CASE, linear with the sigmoid, Gaussian naive Bayes). The query reads the
table's raw columns and returns the id, `probability` and `prediction` (binary), one
`probability_<class>` per class and `prediction` (multiclass: a softmax over per-class scores
where the model has one), or `prediction` (regression).

Example::

    from bakeoff.tasks.tabular.sql import to_sql
    print(to_sql(bundle, table="customers", dialect="postgres", id_column="customerID"))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bakeoff.errors import ConfigError

if TYPE_CHECKING:
    from sqlglot import exp

    from bakeoff.core.candidate import Fitted
    from bakeoff.tasks.tabular.bundle import ModelBundle

DIALECTS = ("duckdb", "postgres", "sqlite", "bigquery", "snowflake", "spark")
MAX_SQL_CHARS = 1_000_000  # beyond this, engines parse slowly and people cannot review the query
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


def check_dialect(dialect: str) -> str:
    if dialect not in DIALECTS:
        raise ConfigError(f"unknown SQL dialect {dialect!r}; use one of {', '.join(DIALECTS)}")
    return dialect


def sql_support(fitted: Fitted, task: str, n_classes: int, schema: dict[str, str]) -> str | None:
    """None when the fitted model exports to SQL, else the reason it does not: no SQL form, or a
    query over MAX_SQL_CHARS (a linear model over a category of many thousand levels)."""
    try:
        _within_limit(select_query_for(fitted, task, n_classes, schema, [], "t", "").sql(dialect="duckdb"))
    except NotExportable as err:
        return str(err)
    return None


def to_sql(bundle: ModelBundle, table: str, dialect: str = "duckdb", id_column: str = "", pretty: bool = True) -> str:
    """The bundle's model as one SELECT over `table`, in `dialect` (laid out for reading when
    `pretty` and short enough to read)."""
    query = _exported(bundle, table, dialect, id_column)
    compact = _rendered(bundle, query, dialect)
    return query.sql(dialect=dialect, pretty=True, identify=True) if pretty and len(compact) < 100_000 else compact


def columns_read(bundle: ModelBundle) -> dict[str, str]:
    """The raw columns the exported query reads (a one-column rule reads one), with their kinds.

    A model with no SQL form is a ConfigError, as in `to_sql`."""
    from sqlglot import exp

    query = _exported(bundle, "t", "duckdb", "")
    named = {column.name for column in query.find_all(exp.Column)}
    return {name: kind for name, kind in bundle.schema.items() if name in named}


def create_table_sql(bundle: ModelBundle, table: str, into: str, dialect: str, id_column: str = "") -> str:
    """CREATE TABLE into AS the bundle's SELECT over `table`, one statement; its columns in
    the order `bakeoff predict` writes them: the key, `prediction`, then the probabilities."""
    from sqlglot import exp

    names = [*key_columns(id_column), *bundle.output_columns()]
    ordered = exp.select(*[exp.column(n, quoted=True) for n in names]).from_(
        _exported(bundle, table, dialect, id_column).subquery("scored_rows"))
    create = exp.Create(this=_table(into), kind="TABLE", expression=ordered)
    return _rendered(bundle, create, dialect)


def drop_table_sql(name: str, dialect: str) -> str:
    from sqlglot import exp

    return exp.Drop(tables=[_table(name)], kind="TABLE", exists=True).sql(dialect=dialect, identify=True)


def count_rows_sql(name: str, dialect: str) -> str:
    from sqlglot import exp

    return exp.select(exp.Count(this=exp.Star()).as_("n")).from_(_table(name)).sql(dialect=dialect, identify=True)


def copy_table_sql(name: str, source: str, dialect: str) -> str:
    """CREATE OR REPLACE TABLE name AS SELECT * FROM source."""
    from sqlglot import exp

    select = exp.select(exp.Star()).from_(exp.to_identifier(source))
    return exp.Create(this=_table(name), kind="TABLE", replace=True, expression=select).sql(dialect=dialect,
                                                                                             identify=True)


def _exported(bundle, table: str, dialect: str, id_column: str):
    """The SELECT tree in `dialect`'s words; a model with no SQL form is a ConfigError."""
    check_dialect(dialect)
    try:
        return _safe_casts(select_query(bundle, table, id_column), dialect)
    except NotExportable as err:
        raise _refusal(bundle, err) from err


def _rendered(bundle, query, dialect: str) -> str:
    """The statement in one line of `dialect`; one too long to run is a ConfigError."""
    try:
        return _within_limit(query.sql(dialect=dialect, identify=True))
    except NotExportable as err:
        raise _refusal(bundle, err) from err


def _refusal(bundle, err: NotExportable) -> ConfigError:
    return ConfigError(f"{bundle.name} cannot run as SQL: {err}; pick a candidate whose sql is true "
                       "in this run's result.json (the report's 'runs as SQL' column)")


def _within_limit(text: str) -> str:
    if len(text) > MAX_SQL_CHARS:
        raise NotExportable(f"the query would be {len(text):,} characters, over the {MAX_SQL_CHARS:,} limit "
                            "(engines parse it slowly and nobody can review it)")
    return text


def key_columns(id_column: str) -> list[str]:
    """The columns that identify a row, from an id or comma-separated names.

    >>> key_columns("store, day"), key_columns("")
    (['store', 'day'], [])
    """
    return [name.strip() for name in id_column.split(",") if name.strip()]


def select_query(bundle: ModelBundle, table: str, id_column: str = "") -> exp.Select:
    return select_query_for(bundle.fitted, bundle.task, len(bundle.classes), bundle.schema, bundle.classes,
                            table, id_column)


def select_query_for(fitted: Fitted, task: str, n_classes: int, schema: dict[str, str], classes: list[str],
                     table: str, id_column: str) -> exp.Select:
    """WITH inputs AS (cleaned raw columns), features AS (the model's inputs), scored AS (the
    model) SELECT id, outputs.

    A model that reads the raw columns directly (constant, one-column rule) skips `features`."""
    from sqlglot import exp

    found = scoring(fitted, task, n_classes, schema)
    keep = [exp.column(name, quoted=True) for name in key_columns(id_column)]
    if isinstance(found.output, PerClass):
        scored, steps = _per_class_steps(found.output, classes or [str(i) for i in range(n_classes)], keep)
    else:
        scored, steps = exp.select(*keep, found.output.as_("score", quoted=True)), [_answer(task, classes, keep)]
    used_features, passthrough, used_inputs = _used(found)
    if not used_features and not passthrough:
        ctes = [("scored", scored.from_(_table(table)))]
    else:
        inputs = exp.select(*keep, *[e.as_(name, quoted=True) for name, e in used_inputs]).from_(_table(table))
        features = exp.select(*keep, *[e.as_(name, quoted=True) for name, e in used_features],
                              *[_feature(name) for name in passthrough]).from_("inputs")
        ctes = [("inputs", inputs), ("features", features), ("scored", scored.from_("features"))]
    *more, query = steps
    for name, step in [*ctes, *more]:
        query = query.with_(name, as_=step)
    return query


def _answer(task: str, classes: list[str], keep: list):
    """The final SELECT over `scored`: the probability and label, or the predicted value."""
    from sqlglot import exp

    score = exp.column("score", quoted=True)
    if task != "classification":
        return exp.select(*keep, score.as_("prediction", quoted=True)).from_("scored")
    negative, positive = (exp.Literal.string(str(c)) for c in (classes or ("0", "1")))
    label = exp.Case().when(exp.GT(this=score.copy(), expression=_number(0.5)), positive).else_(negative)
    return exp.select(*keep, score.as_("probability", quoted=True), label.as_("prediction", quoted=True)
                      ).from_("scored")


def _per_class_steps(answer: PerClass, classes: list[str], keep: list):
    """(scored, [further steps as (name, SELECT)..., the final SELECT]) for a multiclass model:
    scores per class, then the softmax as scikit-learn computes it (e^(s - max) over their
    sum), then one probability per class and the label of the first largest, as numpy's argmax."""
    from sqlglot import exp

    def columns(prefix: str):
        return [exp.column(f"{prefix}_{i}", quoted=True) for i in range(len(classes))]

    scored = exp.select(*keep, *[e.as_(f"score_{i}", quoted=True) for i, e in enumerate(answer.outputs)])
    steps, probabilities, last = [], columns("score"), "scored"
    if answer.softmax:
        top = exp.func("GREATEST", *columns("score"))
        shifted = [exp.Sub(this=s, expression=top.copy()) for s in columns("score")]
        exps = [exp.Case().when(exp.LT(this=d, expression=_number(EXP_ZERO)), _number(0.0))
                .else_(exp.func("EXP", d.copy())) for d in shifted]
        total = exp.paren(_sum(columns("exp")))
        steps = [("exps", exp.select(*keep, *[e.as_(f"exp_{i}", quoted=True) for i, e in enumerate(exps)])
                  .from_("scored")),
                 ("probabilities", exp.select(*keep, *[exp.Div(this=e, expression=total.copy())
                                                       .as_(f"p_{i}", quoted=True)
                                                       for i, e in enumerate(columns("exp"))]).from_("exps"))]
        probabilities, last = columns("p"), "probabilities"
    label = exp.Case()
    for i, p in enumerate(probabilities[:-1]):
        largest = exp.and_(*[exp.GTE(this=p.copy(), expression=q.copy()) for q in probabilities[i + 1:]])
        label = label.when(largest, exp.Literal.string(str(classes[i])))
    label = label.else_(exp.Literal.string(str(classes[-1])))
    final = exp.select(*keep, *[p.as_(f"probability_{c}", quoted=True) for p, c in zip(probabilities, classes)],
                       label.as_("prediction", quoted=True)).from_(last)
    return scored, [*steps, final]


def _sum(terms: list):
    from sqlglot import exp

    total = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
    return total


def _used(found: Scoring) -> tuple[list, list, list]:
    """Only what the model reads: the features its output names (a tree splits on a few), the
    cleaned columns it reads directly, and the raw columns those need. A shorter query to
    review, and less for the engine to compute."""
    from sqlglot import exp

    def names(expression) -> set[str]:
        return {column.name for column in expression.find_all(exp.Column)}

    outputs = found.output.outputs if isinstance(found.output, PerClass) else [found.output]
    read = set().union(*(names(output) for output in outputs))
    features = [(name, e) for name, e in (found.features or []) if name in read]
    passthrough = [name for name in (found.passthrough or []) if name in read and name not in dict(features)]
    needed = set(passthrough).union(*(names(e) for _, e in features))
    return features, passthrough, [(name, e) for name, e in (found.inputs or []) if name in needed]


def _table(name: str):
    """A table name, qualified by schema (and catalog) when it holds dots: shop.customers."""
    from sqlglot import exp

    parts = name.split(".")
    if not all(parts) or len(parts) > 3:
        raise ConfigError(f"{name!r} is not a table name; write table, schema.table or catalog.schema.table")
    ident = [exp.to_identifier(p, quoted=True) for p in parts]
    return exp.Table(this=ident[-1], db=ident[-2] if len(ident) > 1 else None,
                     catalog=ident[-3] if len(ident) > 2 else None)


def table_sql(name: str, dialect: str) -> str:
    """A table name as `dialect` writes it, every part quoted."""
    return _table(name).sql(dialect=dialect, identify=True)


def scoring(fitted: Fitted, task: str, n_classes: int, schema: dict[str, str]) -> Scoring:
    """Dispatch on the fitted model's kind; NotExportable for anything else."""
    from bakeoff.tasks.tabular.ladder.baseline import ConstantFitted
    from bakeoff.tasks.tabular.ladder.one_rule import OneRuleFitted
    from bakeoff.tasks.tabular.ladder.sklearn_base import SklearnFitted

    multiclass = task == "classification" and n_classes > 2
    if isinstance(fitted, ConstantFitted):
        if multiclass:
            return Scoring([], PerClass([_number(share) for share in fitted.answer], softmax=False))
        return Scoring([], _number(fitted.answer[1] if task == "classification" else fitted.answer))
    if isinstance(fitted, OneRuleFitted):
        return _one_rule(fitted, task, schema)
    if isinstance(fitted, SklearnFitted):
        dates = [c for c, kind in schema.items() if kind.startswith("date")]
        if dates:
            raise NotExportable(f"it reads the date column {dates[0]!r} (as year, month, day parts), "
                                "which has no SQL form yet")
        inputs, features, indicators = _preprocessed(fitted.inputs)
        names = [name for name, _ in features]
        categories = list(dict.fromkeys(column for column, _ in indicators.values()))
        return Scoring(features, _model(fitted.model, names, task, indicators), inputs, categories)
    own = fitted.to_sql()  # a custom candidate's own expression over the raw columns
    if own and multiclass:
        raise NotExportable(f"{type(fitted).__name__}.to_sql() gives one expression; a multiclass model needs "
                            "one per class")
    if own:
        return Scoring([], _parsed(own, type(fitted).__name__))
    raise NotExportable(f"{type(fitted).__name__} has no SQL form")


def _parsed(text: str, owner: str):
    import sqlglot

    try:
        return sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.ParseError as err:
        raise NotExportable(f"{owner}.to_sql() is not one SQL expression ({str(err).splitlines()[0][:120]})") from err


# ----------------------------------------------------------------------------- inputs

def _raw_number(column: str):
    """A numeric input as schema.py reads it: a number column as is, text that is a number
    (spaces allowed) as that number, blank or other text as NULL. The tree holds a TRY_CAST;
    `_safe_casts` rewrites it for the dialects that have none."""
    from sqlglot import exp

    return exp.TryCast(this=exp.column(column, quoted=True), to=exp.DataType.build("double"), safe=True)


_NUMBER_TEXT = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"


def _safe_casts(query, dialect: str):
    """TRY_CAST to double in each dialect's words: PostgreSQL has no TRY_CAST (a regular
    expression guards the cast), SQLite's CAST reads any text as 0 (a GLOB guards it),
    Snowflake's TRY_CAST takes text only."""
    from sqlglot import exp

    def rewrite(node):
        if not (isinstance(node, exp.TryCast) and node.args.get("safe")):
            return node
        value, double = node.this, node.args["to"]
        text = exp.cast(value.copy(), exp.DataType.build("text"))
        if dialect == "postgres":
            is_number = exp.RegexpLike(this=text.copy(), expression=exp.Literal.string(_NUMBER_TEXT))
            return exp.Case().when(is_number, exp.cast(text.copy(), double.copy()))
        if dialect == "sqlite":
            trimmed = exp.Trim(this=value.copy())
            stored_number = exp.In(this=exp.func("TYPEOF", value.copy()),
                                   expressions=[exp.Literal.string("integer"), exp.Literal.string("real")])
            looks_like_number = exp.and_(
                exp.Glob(this=trimmed.copy(), expression=exp.Literal.string("*[0-9]*")),
                exp.not_(exp.Glob(this=trimmed.copy(), expression=exp.Literal.string("*[^0-9.eE+-]*"))))
            return (exp.Case().when(stored_number, exp.cast(value.copy(), double.copy()))
                    .when(looks_like_number, exp.cast(trimmed.copy(), double.copy())))
        if dialect == "snowflake":
            return exp.TryCast(this=text, to=double.copy(), requires_string=True)
        return node

    return query.transform(rewrite, copy=False)


def _raw_text(column: str):
    """A category as schema.py reads it: text without surrounding spaces, blank as NULL.

    TRIM runs only on values that start or end with a space: trimming every value costs
    DuckDB more than the whole model."""
    from sqlglot import exp

    text = exp.cast(exp.column(column, quoted=True), exp.DataType.build("text"))
    padded = exp.or_(exp.Like(this=text.copy(), expression=exp.Literal.string(" %")),
                     exp.Like(this=text.copy(), expression=exp.Literal.string("% ")))
    trimmed = exp.Case().when(padded, exp.Trim(this=text.copy())).else_(text.copy())
    return exp.Nullif(this=trimmed, expression=exp.Literal.string(""))


def _category(column: str, levels: list[str], fill: str):
    """The cleaned category: a value that is already a known level as is (the common, fast
    case), anything else trimmed, blank or NULL as `fill`."""
    from sqlglot import exp

    text = exp.cast(exp.column(column, quoted=True), exp.DataType.build("text"))
    known = exp.In(this=text.copy(), expressions=[exp.Literal.string(level) for level in levels])
    cleaned = exp.func("COALESCE", _raw_text(column), exp.Literal.string(fill))
    return exp.Case().when(known, text).else_(cleaned)


def _preprocessed(inputs) -> tuple[list, list, dict]:
    """The preprocessing (a `Preprocessing`) as (cleaned raw columns, output columns over the
    cleaned ones, indicator name -> (column, level)).

    Each raw column is cleaned once (in the `inputs` step) and read by name afterwards."""
    from sqlglot import exp

    if inputs is None:
        raise NotExportable("its preprocessing has no SQL form")
    cleaned, out, indicators = [], [], {}
    for number in inputs.numbers:
        cleaned.append((number.column, _raw_number(number.column)))
        value = exp.func("COALESCE", _feature(number.column), _number(number.median))
        if number.scale is not None:
            value = exp.Div(this=exp.paren(exp.Sub(this=value, expression=_number(number.mean))),
                            expression=_number(number.scale))
        out.append((number.column, value))
    for category in inputs.categories:
        column = category.column
        cleaned.append((column, _category(column, [str(level) for level in category.levels],
                                          str(category.fill))))
        for level in category.levels:
            hit = exp.EQ(this=_feature(column), expression=exp.Literal.string(str(level)))
            out.append((f"{column}_{level}", exp.Case().when(hit, _number(1.0)).else_(_number(0.0))))
            indicators[f"{column}_{level}"] = (column, str(level))
    return cleaned, out, indicators


def _number(value: float):
    """A numeric literal that round-trips the double exactly, written with an exponent so that
    engines read a double, not a DECIMAL (DuckDB's decimal arithmetic is several times slower)."""
    from sqlglot import exp

    value = float(value)
    if not math.isfinite(value):
        raise NotExportable("the model holds a non-finite number")
    text = repr(abs(value))
    literal = exp.Literal.number(text if "e" in text else f"{text}E0")
    return exp.Neg(this=literal) if value < 0 or math.copysign(1, value) < 0 else literal


def _feature(name: str):
    from sqlglot import exp

    return exp.column(name, quoted=True)


# ----------------------------------------------------------------------------- models

def _model(model, names: list[str], task: str, indicators: dict):
    kind = type(model).__name__
    if kind in ("LogisticRegression", "Ridge", "LinearRegression", "Lasso", "ElasticNet"):
        return _linear(model, names, task, indicators)
    if kind in ("DecisionTreeClassifier", "DecisionTreeRegressor"):
        return _each_class(model, task, lambda k: _tree(model.tree_, names, task, indicators, k))
    if kind == "GaussianNB":
        return _gaussian_nb(model, names)
    if kind in ("RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor"):
        n_classes = len(getattr(model, "classes_", ())) if task == "classification" else 0
        copies = n_classes if n_classes > 2 else 1  # a multiclass forest is written once per class
        _check_size(copies * sum(t.tree_.node_count for t in model.estimators_),
                    f"this forest of {len(model.estimators_)} trees")
        return _each_class(model, task, lambda k: _forest(model, names, task, indicators, k))
    if kind in ("LGBMClassifier", "LGBMRegressor"):
        return _lightgbm(model, names, task, indicators)
    raise NotExportable(f"{kind} models have no SQL form yet (trees, linear models and naive Bayes do)")


def _linear(model, names: list[str], task: str, indicators: dict):
    """intercept + the weighted inputs; a category's indicator weights fold into one
    `CASE column WHEN level THEN weight ... ELSE 0` (the same sum, far fewer operations)."""
    coef = np.atleast_2d(model.coef_)
    intercept = np.ravel(model.intercept_) if np.size(model.intercept_) else np.zeros(len(coef))
    if task == "classification" and len(coef) > 1:  # multinomial: one score per class, then the softmax
        return PerClass([_weighted_sum(coef[k], float(intercept[k]), names, indicators) for k in range(len(coef))],
                        softmax=True)
    total = _weighted_sum(coef[0], float(intercept[0]), names, indicators)
    return _sigmoid(total) if task == "classification" else total


def _weighted_sum(coef: np.ndarray, intercept: float, names: list[str], indicators: dict):
    from sqlglot import exp

    terms, by_column = [], {}
    for weight, name in zip(coef, names):
        if name in indicators:
            column, level = indicators[name]
            by_column.setdefault(column, []).append((level, float(weight)))
        elif weight != 0:
            terms.append(exp.Mul(this=_number(weight), expression=_feature(name)))
    for column, levels in by_column.items():
        case = exp.Case()
        for level, weight in levels:
            if weight != 0:
                case = case.when(exp.EQ(this=_feature(column), expression=exp.Literal.string(level)), _number(weight))
        if case.args.get("ifs"):
            terms.append(case.else_(_number(0.0)))
    return _sum([_number(intercept), *terms])


def _sigmoid(z):
    """1 / (1 + e^-z), with z clamped to +-700 so that EXP neither overflows nor underflows
    (PostgreSQL raises on both); z appears once, so engines compute it once."""
    from sqlglot import exp

    clamped = exp.func("GREATEST", exp.func("LEAST", z, _number(EXP_GUARD)), _number(-EXP_GUARD))
    return exp.Div(this=_number(1.0),
                   expression=exp.paren(exp.Add(this=_number(1.0), expression=exp.func("EXP", exp.Neg(this=clamped)))))


def _each_class(model, task: str, answer):
    """`answer(k)` for each class k of a multiclass model, else the one answer (class 1's
    probability for a binary model)."""
    n_classes = len(getattr(model, "classes_", ())) if task == "classification" else 0
    if n_classes > 2:
        return PerClass([answer(k) for k in range(n_classes)], softmax=False)
    return answer(1)


def _tree(tree, names: list[str], task: str, indicators: dict, cls: int = 1, node: int = 0):
    """Nested CASE over the tree's splits (left: feature <= threshold), leaves as values: class
    `cls`'s share for classification."""
    from sqlglot import exp

    left, right = tree.children_left[node], tree.children_right[node]
    if left == -1:
        value = tree.value[node][0]
        return _number(value[cls] / value.sum() if task == "classification" else value[0])
    test = _split(names[tree.feature[node]], float(tree.threshold[node]), indicators, single_precision=True)
    return (exp.Case().when(test, _tree(tree, names, task, indicators, cls, left))
            .else_(_tree(tree, names, task, indicators, cls, right)))


def _split(name: str, threshold: float, indicators: dict, single_precision: bool = False):
    """`feature <= threshold`; on a 0/1 category indicator split between 0 and 1 that is
    `column <> level` on the cleaned column, which engines test without building the indicator.
    scikit-learn's trees compare the feature rounded to single precision: `single_precision`
    turns that into the equivalent test on the double."""
    from sqlglot import exp

    if name in indicators and 0.0 <= threshold < 1.0:
        column, level = indicators[name]
        return exp.NEQ(this=_feature(column), expression=exp.Literal.string(level))
    if single_precision:
        cut, inclusive = float32_cut(threshold)
        return (exp.LTE if inclusive else exp.LT)(this=_feature(name), expression=_number(cut))
    return exp.LTE(this=_feature(name), expression=_number(threshold))


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


def _check_size(nodes: int, what: str) -> None:
    if nodes > MAX_TREE_NODES:
        raise NotExportable(f"{what} has {nodes:,} tree nodes, over the {MAX_TREE_NODES:,}-node limit for SQL "
                            "(the query would pass a megabyte); fewer or smaller trees would fit")


def _forest(model, names: list[str], task: str, indicators: dict, cls: int = 1):
    """The average of the trees' answers, each a nested CASE."""
    from sqlglot import exp

    trees = [exp.paren(_tree(t.tree_, names, task, indicators, cls)) for t in model.estimators_]
    return exp.Div(this=exp.paren(_sum(trees)), expression=_number(float(len(trees))))


def _lightgbm(model, names: list[str], task: str, indicators: dict):
    """The sum of the boosted trees' leaf values (through the sigmoid for binary classification;
    per class, tree i scoring class i mod k, through the softmax for multiclass)."""
    from sqlglot import exp

    dumped = model.booster_.dump_model()
    objective = dumped.get("objective", "").split()[0]
    if objective not in ("binary", "regression", "multiclass"):
        raise NotExportable(f"LightGBM objective {dumped.get('objective')!r} has no SQL form yet")
    trees = [exp.paren(_lightgbm_node(t["tree_structure"], names, indicators)) for t in dumped["tree_info"]]
    _check_size(sum(2 * t.get("num_leaves", 1) - 1 for t in dumped["tree_info"]),
                f"this LightGBM model of {len(trees)} trees")
    if objective == "multiclass":
        k = dumped["num_class"]
        return PerClass([_sum(trees[c::k]) for c in range(k)], softmax=True)
    total = _sum(trees)
    return _sigmoid(total) if task == "classification" else total


def _lightgbm_node(node: dict, names: list[str], indicators: dict):
    from sqlglot import exp

    if "leaf_value" in node:
        return _number(node["leaf_value"])
    if node.get("decision_type") != "<=":
        raise NotExportable(f"LightGBM split {node.get('decision_type')!r} has no SQL form yet")
    test = _split(names[node["split_feature"]], float(node["threshold"]), indicators)
    return (exp.Case().when(test, _lightgbm_node(node["left_child"], names, indicators))
            .else_(_lightgbm_node(node["right_child"], names, indicators)))


def _gaussian_nb(model, names: list[str]):
    """P(positive) = 1 / (1 + e^(jll0 - jll1)), jll_c = log prior - sum of Gaussian terms; the
    softmax of the jll_c for more classes."""
    from sqlglot import exp

    def joint_log_likelihood(c: int):
        total = _number(np.log(model.class_prior_[c]) - 0.5 * np.sum(np.log(2.0 * np.pi * model.var_[c])))
        for i, name in enumerate(names):
            diff = exp.paren(exp.Sub(this=_feature(name), expression=_number(model.theta_[c, i])))
            total = exp.Sub(this=total, expression=exp.Div(
                this=exp.Mul(this=diff, expression=diff.copy()), expression=_number(2.0 * model.var_[c, i])))
        return total

    if len(model.classes_) > 2:
        return PerClass([joint_log_likelihood(c) for c in range(len(model.classes_))], softmax=True)
    return _sigmoid(exp.paren(exp.Sub(this=joint_log_likelihood(1), expression=exp.paren(joint_log_likelihood(0)))))


def _one_rule(fitted, task: str, schema: dict[str, str]):
    """CASE over the one column's groups: its bins or levels, 'missing', and the fallback (one
    CASE per class for a multiclass rule)."""
    from sqlglot import exp

    from bakeoff.tasks.tabular.ladder.one_rule import MISSING, OTHER, _interval

    rule = fitted.rule
    if rule.column not in schema or (rule.edges is not None and schema[rule.column] != "number"):
        raise NotExportable(f"the rule on {rule.column!r} reads a date, which has no SQL form yet")

    def case_for(cls: int):
        def answer(group: str):
            out = rule.outputs[rule.groups.index(group)] if group in rule.groups else rule.fallback
            return _number(out[cls] if task == "classification" else out)

        if rule.edges is not None:
            x = _raw_number(rule.column)
            case = exp.Case().when(exp.Is(this=x.copy(), expression=exp.Null()), answer(MISSING))
            for code, edge in enumerate(rule.edges):
                case = case.when(exp.LT(this=x.copy(), expression=_number(edge)),
                                 answer(_interval(rule.edges, code)))
            return case.else_(answer(_interval(rule.edges, len(rule.edges))))
        text = _raw_text(rule.column)
        case = exp.Case().when(exp.Is(this=text.copy(), expression=exp.Null()), answer(MISSING))
        for level in rule.levels:
            case = case.when(exp.EQ(this=text.copy(), expression=exp.Literal.string(str(level))), answer(level))
        return case.else_(answer(OTHER))

    n_classes = np.shape(rule.outputs)[-1] if task == "classification" else 0
    if n_classes > 2:
        return Scoring([], PerClass([case_for(k) for k in range(n_classes)], softmax=False))
    return Scoring([], case_for(1))
