"""The problem card (bakeoff.toml): schema, loading and validation.

>>> card = Card.model_validate({"problem": {"task": "regression"}, "data": {"source": "d.csv", "target": "y"}})
>>> card.evaluate.metric, card.budget.total_seconds
('rmse', 300.0)
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from bakeoff.core.units import parse_duration, parse_size
from bakeoff.errors import ConfigError
from bakeoff.tasks.customer.section import CustomerSection
from bakeoff.tasks.forecast.section import ForecastSection

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib



class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(_Section):
    name: str = "bake-off"
    task: Literal["classification", "regression", "forecast", "customer"] = "classification"
    question: str = ""

    @field_validator("task")
    @classmethod
    def _task_supported(cls, task: str) -> str:
        from bakeoff.tasks import task_for

        task_for(task)  # ValueError naming the supported tasks
        return task


class SqlSource(_Section):
    url: str
    query: str


class SparkTable(_Section):
    spark_table: str  # a table of the Spark session's catalog ([engine] kind = "spark")


class Data(_Section):
    source: str | SqlSource | SparkTable
    target: str = ""  # every task but customer (a transaction log has no target column) needs it
    positive: str | int | bool | None = None
    id: str | list[str] = ""  # a forecast's series key may be several columns (store, item)
    group_by: str | list[str] = ""  # one bake-off per group of rows (a store), by one or more columns
    time: str = ""
    drop: list[str] = Field(default_factory=list)

    @field_validator("source", mode="before")
    @classmethod
    def _source_shape(cls, source):
        if isinstance(source, dict) and set(source) not in ({"url", "query"}, {"spark_table"}):
            raise ValueError('a SQL source needs exactly url and query, e.g. '
                             '{ url = "postgresql://host/db", query = "SELECT * FROM t" }, '
                             'a Spark table { spark_table = "db.sales" }')
        if not isinstance(source, (str, dict)):
            raise ValueError('write a file path ("data.csv") or { url = "...", query = "..." }')
        return source

    @model_validator(mode="after")
    def _id_is_not_the_target(self) -> Data:
        if isinstance(self.id, list) and not self.id:
            raise ValueError("id is an empty list; name the key column(s), e.g. id = [\"store\", \"item\"]")
        if self.target and self.target in ([self.id] if isinstance(self.id, str) else self.id):
            raise ValueError(f"id and target are both {self.target!r}: the id names each row, the target is "
                             "what to predict; set id to the row key column, or leave it out")
        groups = [self.group_by] if isinstance(self.group_by, str) else self.group_by
        if isinstance(self.group_by, list) and not groups:
            raise ValueError("group_by is an empty list; name the column(s) of the groups, e.g. group_by = \"store\"")
        if self.target and self.target in groups:
            raise ValueError(f"group_by and target are both {self.target!r}: each group gets a model of the "
                             "target; group by another column")
        return self

    @property
    def groups(self) -> list[str]:
        """The columns of `group_by` as a list ([] when the rows are not grouped)."""
        return [self.group_by] if isinstance(self.group_by, str) and self.group_by else list(self.group_by or [])


class Evaluate(_Section):
    metric: str = ""
    folds: int = Field(5, ge=2, le=20)
    holdout: float = Field(0.2, ge=0.0, lt=0.9)
    tolerance: float = Field(0.005, ge=0.0)
    seed: int = Field(0, ge=0, le=2**31 - 1)  # numpy and scikit-learn take seeds below 2**32
    bootstrap: int = Field(500, ge=50, le=10000)
    refit: Literal["all", "train"] = "all"  # the saved models learn from every row, or the training part

    @field_validator("tolerance")
    @classmethod
    def _tolerance_is_a_margin(cls, tolerance: float) -> float:
        if not tolerance <= MAX_TOLERANCE:
            raise ValueError(f"got {tolerance!r}; give at most {MAX_TOLERANCE} (absolute for roc_auc, pr_auc, "
                             "accuracy, f1, r2; a share of the best for errors): a wider margin recommends "
                             "models far worse than the best, even the constant baseline")
        return tolerance


MAX_TOLERANCE = 0.1  # 0.1 ROC AUC, or 10 % of the best error: already a different model


class Budget(_Section):
    total: str | float = "5m"
    per_candidate: str | float = "60s"
    trials: int = Field(20, ge=1, le=1000)
    workers: int = Field(0, ge=0)
    memory: str = ""  # per candidate, e.g. "4GB"; a candidate that needs more fails, not the machine

    @field_validator("total", "per_candidate")
    @classmethod
    def _is_duration(cls, value):
        parse_duration(value)
        return value

    @field_validator("memory")
    @classmethod
    def _is_size(cls, value):
        if value and parse_size(value) < MIN_MEMORY:
            raise ValueError(f"got {value!r}; give at least \"1GB\" (a worker's libraries alone take "
                             "several hundred MB of address space)")
        return value

    @property
    def memory_bytes(self) -> int | None:
        return parse_size(self.memory) if self.memory else None

    @property
    def total_seconds(self) -> float:
        return parse_duration(self.total)

    @property
    def per_candidate_seconds(self) -> float:
        return min(parse_duration(self.per_candidate), self.total_seconds)


MIN_MEMORY = 2**30  # the address-space cap of a worker; below it even `constant` cannot import


MAX_AMOUNT = 1e15  # a [business] value, cost or count; their products stay far inside a float


class Business(_Section):
    value_true_positive: float = Field(0.0, ge=0)  # values and costs, all as positive amounts
    cost_false_positive: float = Field(0.0, ge=0)
    cost_false_negative: float = Field(0.0, ge=0)
    predictions_per_month: float = Field(0.0, ge=0)
    compute_cost_per_hour: float = Field(0.0, ge=0)

    @field_validator("*", mode="before")
    @classmethod
    def _finite(cls, value):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                not (math.isfinite(value) and abs(value) <= MAX_AMOUNT):
            raise ValueError(f"got {value!r}; give a finite amount of at most 1e15 (a thousand "
                             "trillion): larger figures overflow the money sums")
        return value

    @model_validator(mode="after")
    def _says_something(self) -> Business:
        if not (self.value_true_positive or self.cost_false_positive or self.cost_false_negative):
            raise ValueError("[business] gives no value or cost, so every decision is worth 0; set "
                             "value_true_positive and cost_false_positive, or leave [business] out")
        return self


class Ladder(_Section):
    only: list[str] = Field(default_factory=list)
    skip: list[str] = Field(default_factory=list)
    extra: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _only_or_skip(self) -> Ladder:
        both = sorted(set(self.only) & set(self.skip))
        if both:
            raise ValueError(f"[ladder] only and skip both name {both[0]!r}; keep it in one of them")
        return self


class Store(_Section):
    tracking_uri: str = ""
    url: str = ""


class Engine(_Section):
    kind: Literal["local", "spark"] = "local"  # spark: forecast cards, the series partitioned on Spark
    master: str = ""  # spark: "local[*]" (the default) or "spark://host:7077"
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict)  # any spark.* setting
    partitions: int | None = Field(None, ge=1)  # spark: groups of series, each one Spark task

    @field_validator("conf")
    @classmethod
    def _spark_settings(cls, conf: dict) -> dict:
        wrong = [key for key in conf if not key.startswith("spark.")]
        if wrong:
            raise ValueError(f"{wrong[0]!r} is not a Spark setting; [engine.conf] takes spark.* keys, "
                             "e.g. \"spark.executor.memory\" = \"4g\"")
        return conf


class Card(_Section):
    problem: Problem = Field(default_factory=Problem)
    data: Data
    evaluate: Evaluate = Field(default_factory=Evaluate)
    budget: Budget = Field(default_factory=Budget)
    business: Business | None = None
    forecast: ForecastSection | None = None  # task = "forecast" only
    customer: CustomerSection | None = None  # task = "customer" only
    ladder: Ladder = Field(default_factory=Ladder)
    store: Store = Field(default_factory=Store)
    engine: Engine = Field(default_factory=Engine)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def _target_is_no_feature_to_drop(self) -> Card:
        from bakeoff.tasks import task_for

        for key, example in task_for(self.problem.task).data_keys.items():
            if not getattr(self.data, key):
                raise ValueError(f"[data] is missing {key!r}; add it, e.g. {example}")
        if self.data.target and self.data.target in self.data.drop:
            raise ValueError(f"[data] drop names the target {self.data.target!r}; drop only feature columns")
        return self

    @model_validator(mode="after")
    def _sections_fit_task(self) -> Card:
        """A task's own section (its Task's `section`) is there for that task, and only then."""
        from bakeoff.tasks import task_for

        own = task_for(self.problem.task).section
        for name in TASK_SECTIONS:
            given = getattr(self, name) is not None
            if name == own and not given:
                raise ValueError(f"[{name}] is missing; a {self.problem.task} card needs it, e.g. "
                                 f"{TASK_SECTIONS[name]}")
            if name != own and given:
                raise ValueError(f"[{name}] is not for task = {self.problem.task!r}; remove it, or set [problem] "
                                 f"task to the task it describes")
        return self

    @model_validator(mode="after")
    def _engine_fits_task(self) -> Card:
        from bakeoff.tasks import task_for

        task = task_for(self.problem.task)
        if self.data.group_by and not task.grouped:
            raise ValueError(f"[data] group_by is for classification and regression cards; a {self.problem.task} "
                             "card names its series with [data] id")
        if self.data.group_by and self.data.time:
            raise ValueError("[data] group_by with [data] time is not built yet (each group would need its own "
                             "time split); leave time out, or run one card per group")
        if self.engine.kind == "spark" and not (task.on_spark or (task.grouped and self.data.group_by)):
            raise ValueError(f"[engine] kind = \"spark\" runs a {self.problem.task} card one bake-off per group; "
                             "set [data] group_by (e.g. \"store\"), or kind = \"local\" for one model of all rows")
        if isinstance(self.data.source, SparkTable) and self.engine.kind != "spark":
            raise ValueError("[data] source = { spark_table = … } is read by Spark; set [engine] kind = \"spark\", "
                             "or give a file or a SQL source")
        return self

    @model_validator(mode="after")
    def _metric_fits_task(self) -> Card:
        from bakeoff.tasks import task_for

        if not self.evaluate.metric:
            self.evaluate.metric = task_for(self.problem.task).default_metric(self.problem.task)
        try:
            task_for(self.problem.task).metric(self.evaluate.metric, self.problem.task)
        except ValueError as err:
            raise ValueError(f"[evaluate] metric: {err}") from None
        return self

    @property
    def base_dir(self) -> Path:
        """The card's folder: relative paths and the default store resolve against it."""
        return self._base_dir

    def with_base_dir(self, base_dir: Path) -> Card:
        self._base_dir = Path(base_dir).resolve()
        return self


TASK_SECTIONS = {"forecast": "[forecast] horizon = 28",  # sections of one task family, with an example
                 "customer": "[customer] calibration_end = \"1997-09-30\""}


def load_card(path: str | Path) -> Card:
    """Read and validate a bakeoff.toml; any problem is one ConfigError line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"problem card {path} not found; create one with `bakeoff init DATA.csv --target COLUMN`")
    return card_from_dict(read_toml(path)).with_base_dir(path.parent)


def read_toml(path: Path) -> dict:
    """A card file as written (no defaults filled in); bad TOML is one ConfigError line."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path} is not valid TOML ({err}); fix the syntax at that line") from err


def card_from_text(text: str) -> Card:
    """Validate a card given as TOML text."""
    return card_from_dict(tomllib.loads(text))


def card_from_dict(raw: dict) -> Card:
    """Validate a card given as a dict (as parsed from TOML)."""
    try:
        return Card.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err)) from err


def describe_validation_error(err: ValidationError) -> str:
    """One line for the first problem pydantic found, naming the key and the fix."""
    first = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = _key_path(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if not loc or message.startswith("["):  # a check that names its own keys
        return message
    section, key = (f"[{loc[0]}]", ".".join(loc[1:])) if len(loc) > 1 else ("the card", ".".join(loc))
    if first["type"] == "extra_forbidden":
        fields = _fields_of(loc[:-1])
        return f"unknown key {key!r} in {section}; valid keys are {', '.join(fields)}"
    if first["type"] == "missing":
        return f"{section} is missing {key!r}; add it, e.g. {key} = ..."
    bounds = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most",
              "less_than": "less than"}
    if first["type"] in bounds:
        limit = next(iter(first.get("ctx", {}).values()), "")
        return f"{section} {key}: got {first['input']!r}; it must be {bounds[first['type']]} {limit}"
    return f"{section} {key}: {message}"


def _key_path(loc: tuple) -> list[str]:
    """The card keys in a pydantic error location, without the tags it adds for the members of
    a union (`source` is a path or a query: "str", "SqlSource", "function-before[...]").

    >>> _key_path(("data", "source", "SqlSource", "url")), _key_path(("data", "source", "str"))
    (['data', 'source', 'url'], ['data', 'source'])
    >>> _key_path(("data", "colour"))
    ['data', 'colour']
    """
    path, model, tags = [], Card, set()
    for part in map(str, loc):
        if part in tags or "[" in part:
            continue
        path.append(part)
        field = model.model_fields.get(part) if model is not None else None
        members = getattr(field.annotation, "__args__", (field.annotation,)) if field else ()
        tags = {getattr(m, "__name__", str(m)) for m in members}
        model = next((m for m in members if isinstance(m, type) and issubclass(m, BaseModel)), None)
    return path


def _fields_of(loc: list[str]) -> list[str]:
    model: type[BaseModel] = Card
    for part in loc:
        annotation = model.model_fields[part].annotation
        model = next((a for a in getattr(annotation, "__args__", (annotation,))
                      if isinstance(a, type) and issubclass(a, BaseModel)), model)
    return list(model.model_fields)
