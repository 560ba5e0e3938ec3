"""A fitted candidate as one SQL SELECT, built as a sqlglot syntax tree and rendered per dialect.

Every step the candidate learned is folded in: the raw-column cleaning of `schema.py` (text
trimmed, blanks as missing), median imputation, category indicators (an unseen category is all
zeros, as in the Python pipeline), scaling, and the model itself (constant, one-column rule,
tree as nested CASE, linear with the sigmoid, Gaussian naive Bayes; EXP(score) - 1 for a model
that learnt log(1 + y)). The query reads the
table's raw columns and returns the id, `probability` and `prediction` (binary), one
`probability_<class>` per class and `prediction` (multiclass: a softmax over per-class scores
where the model has one), or `prediction` (regression).

Example::

    from bakeoff.tasks.tabular.sql import to_sql
    print(to_sql(bundle, table="customers", dialect="postgres", id_column="customerID"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bakeoff.errors import ConfigError
from bakeoff.tasks.tabular.sqlexpr import (
    EXP_ZERO,
    NotExportable,
    PerClass,
    Scoring,
    exp_minus_one,
    feature,
    number,
    raw_number,
    raw_text,
    sum_of,
)

if TYPE_CHECKING:
    from sqlglot import exp

    from bakeoff.core.candidate import Fitted
    from bakeoff.tasks.tabular.bundle import ModelBundle

DIALECTS = ("duckdb", "postgres", "sqlite", "bigquery", "snowflake", "spark")
MAX_SQL_CHARS = 1_000_000  # beyond this, engines parse slowly and people cannot review the query


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
                              *[feature(name) for name in passthrough]).from_("inputs")
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
    label = exp.Case().when(exp.GT(this=score.copy(), expression=number(0.5)), positive).else_(negative)
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
        exps = [exp.Case().when(exp.LT(this=d, expression=number(EXP_ZERO)), number(0.0))
                .else_(exp.func("EXP", d.copy())) for d in shifted]
        total = exp.paren(sum_of(columns("exp")))
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
    """The model as SQL, written by its family: whole (`sql_scoring`, for models that read raw
    columns), or its answer (`sql_output` of its candidate) over the cleaned pipeline inputs."""
    from bakeoff.tasks.tabular.ladder.sklearn_base import SklearnFitted

    if hasattr(fitted, "sql_scoring"):
        return fitted.sql_scoring(task, n_classes, schema)
    if isinstance(fitted, SklearnFitted):
        dates = [c for c, kind in schema.items() if kind.startswith("date")]
        if dates:
            raise NotExportable(f"it reads the date column {dates[0]!r} (as year, month, day parts), "
                                "which has no SQL form yet")
        inputs, features, indicators = _preprocessed(fitted.inputs)
        names = [name for name, _ in features]
        categories = list(dict.fromkeys(column for column, _ in indicators.values()))
        output = fitted.candidate.sql_output(fitted.model, names, indicators)
        return Scoring(features, exp_minus_one(output) if fitted.log_target else output, inputs, categories)
    own = fitted.to_sql()  # a custom candidate's own expression over the raw columns
    if own and task == "classification" and n_classes > 2:
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


def _category(column: str, levels: list[str], fill: str):
    """The cleaned category: a value that is already a known level as is (the common, fast
    case), anything else trimmed, blank or NULL as `fill`."""
    from sqlglot import exp

    text = exp.cast(exp.column(column, quoted=True), exp.DataType.build("text"))
    known = exp.In(this=text.copy(), expressions=[exp.Literal.string(level) for level in levels])
    cleaned = exp.func("COALESCE", raw_text(column), exp.Literal.string(fill))
    return exp.Case().when(known, text).else_(cleaned)


def _preprocessed(inputs) -> tuple[list, list, dict]:
    """The preprocessing (a `Preprocessing`) as (cleaned raw columns, output columns over the
    cleaned ones, indicator name -> (column, level)).

    Each raw column is cleaned once (in the `inputs` step) and read by name afterwards."""
    from sqlglot import exp

    if inputs is None:
        raise NotExportable("its preprocessing has no SQL form")
    cleaned, out, indicators = [], [], {}
    for num in inputs.numbers:
        cleaned.append((num.column, raw_number(num.column)))
        value = exp.func("COALESCE", feature(num.column), number(num.median))
        if num.scale is not None:
            value = exp.Div(this=exp.paren(exp.Sub(this=value, expression=number(num.mean))),
                            expression=number(num.scale))
        out.append((num.column, value))
    for category in inputs.categories:
        column = category.column
        cleaned.append((column, _category(column, [str(level) for level in category.levels],
                                          str(category.fill))))
        for level in category.levels:
            hit = exp.EQ(this=feature(column), expression=exp.Literal.string(str(level)))
            out.append((f"{column}_{level}", exp.Case().when(hit, number(1.0)).else_(number(0.0))))
            indicators[f"{column}_{level}"] = (column, str(level))
    return cleaned, out, indicators

