"""In-database scoring for a finished run: the SQL of a candidate, its parity check against the
Python model on the holdout rows, and scoring a table into another table."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bakeoff.adapters.sqldb import Database, check_columns
from bakeoff.core.runstore import read_card, read_result
from bakeoff.errors import ConfigError, DataError
from bakeoff.tasks.tabular.bundle import ModelBundle
from bakeoff.tasks.tabular.predict import load_model
from bakeoff.tasks.tabular.schema import NUMBER, apply_schema
from bakeoff.tasks.tabular.sql import columns_read, create_table_sql, key_columns, table_sql, to_sql

ROW = "_bakeoff_row"
RTOL = 1e-9
TINY = 1e-300


@dataclass
class Parity:
    rows: int
    max_relative: float
    labels_equal: bool | None  # None for regression

    @property
    def ok(self) -> bool:
        return self.max_relative <= RTOL and self.labels_equal is not False

    def worst(self, other: Parity) -> Parity:
        """Both checks in one: the larger difference, labels equal only if equal in both."""
        labels = None if self.labels_equal is None else bool(self.labels_equal and other.labels_equal)
        return Parity(max(self.rows, other.rows), max(self.max_relative, other.max_relative), labels)

    def __str__(self) -> str:
        labels = "" if self.labels_equal is None else (", labels identical" if self.labels_equal else ", LABELS DIFFER")
        return f"{self.rows:,} holdout rows, largest relative difference {self.max_relative:.1e}{labels}"


def default_id(run_dir: Path) -> str:
    return read_card(run_dir).data.id or ""


def sql_for_run(run_dir: Path, candidate: str, table: str, dialect: str, id_column: str | None = None) -> str:
    bundle = load_model(run_dir, candidate)
    return to_sql(bundle, table, dialect, default_id(run_dir) if id_column is None else id_column)


def holdout_rows(run_dir: Path) -> pd.DataFrame:
    """The run's holdout rows as read from its data (the card's source, same split)."""
    from bakeoff.tasks.tabular.data import prepare
    from bakeoff.tasks.tabular.task import EXCLUDED_ROWS, TABULAR

    result, card = read_result(run_dir), read_card(run_dir)
    if (run_dir / EXCLUDED_ROWS).is_file():  # the rows the run itself kept out, whatever experts said since
        excluded = json.loads((run_dir / EXCLUDED_ROWS).read_text())
    else:
        excluded = [e.key for e in TABULAR.expectations(card)]
    dataset = prepare(card, exclude=frozenset(excluded))
    if dataset.sha256 != result["provenance"]["data_sha256"]:
        raise DataError("the card's data changed since the run (its sha256 differs), so its holdout rows are gone; "
                        "check against a run of the current data")
    if not len(dataset.holdout_index):
        raise ConfigError(f"run {run_dir.name} kept no holdout rows ([evaluate] holdout = 0), and --check "
                          "compares SQL with Python on them; run the card with holdout = 0.2")
    return dataset.raw.iloc[dataset.holdout_index].reset_index(drop=True)


def typed_for_database(rows: pd.DataFrame, bundle: ModelBundle) -> pd.DataFrame:
    """Rows as a warehouse would hold them: numbers as numbers (blanks NULL), the rest as text."""
    out = rows.copy()
    for column, kind in bundle.schema.items():
        if kind == NUMBER:
            out[column] = apply_schema(rows[[column]], {column: kind})[column]
        else:
            out[column] = rows[column].astype("object").where(rows[column].notna(), None)
    return out


def as_read(rows: pd.DataFrame, bundle: ModelBundle) -> pd.DataFrame:
    """The model's columns as the data source held them, missing values as NULL."""
    out = rows.copy()
    for column in bundle.schema:
        if not pd.api.types.is_numeric_dtype(rows[column]):
            out[column] = rows[column].astype("object").where(rows[column].notna(), None)
    return out


def compare(bundle: ModelBundle, rows: pd.DataFrame, from_sql: pd.DataFrame) -> Parity:
    """Python's predictions of `rows` against the SQL's, matched on the row number."""
    python = bundle.score(rows)
    sql = from_sql.set_index(ROW).loc[np.arange(len(rows))]
    if bundle.task == "regression":
        a, b = python["prediction"].to_numpy(float), sql["prediction"].to_numpy(float)
        return Parity(len(rows), _relative(a, b), None)
    columns = ["probability"] if len(bundle.classes) == 2 else [f"probability_{c}" for c in bundle.classes]
    a, b = python[columns].to_numpy(float), sql[columns].to_numpy(float)
    labels = python["prediction"].astype(str).to_numpy() == sql["prediction"].astype(str).to_numpy()
    return Parity(len(rows), _relative(a, b), bool(labels.all()))


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    """The largest relative difference; values both below 1e-300 (where the engines' EXP
    gives 0 or a subnormal) count as equal."""
    a, b = np.where(np.abs(a) < TINY, 0.0, a), np.where(np.abs(b) < TINY, 0.0, b)
    scale = np.maximum(np.abs(a), np.abs(b))
    diff = np.abs(a - b)
    return float(np.max(np.where(scale > 0, diff / np.where(scale > 0, scale, 1), diff), initial=0.0))


def check_in_database(run_dir: Path, candidate: str, url: str, table: str | None = None) -> Parity:
    """The run's holdout rows through the exported SQL in the database at `url`, against Python:
    once as the data source holds them (numbers may be text with blanks) and once with numbers
    stored as numbers. With `table`, that table's columns are checked first when it exists."""
    bundle, rows = load_model(run_dir, candidate), holdout_rows(run_dir)
    if table:
        with Database(url) as db:
            try:
                found = db.columns(table)
            except DataError:  # no such table there: nothing to check
                found = None
        if found is not None:
            check_columns(found, columns_read(bundle), table)
    return parity_in(url, bundle, rows, typed=False).worst(parity_in(url, bundle, rows, typed=True))


def parity_in(url: str, bundle: ModelBundle, rows: pd.DataFrame, typed: bool = True) -> Parity:
    """Load `rows` into a scratch table, run the bundle's SQL there, compare with Python, drop it.

    `typed` stores numbers as numbers (blanks NULL) as a warehouse would; otherwise the rows go
    in as read, so a number column read from text stays text."""
    scratch = f"bakeoff_check_{secrets.token_hex(4)}"
    with Database(url) as db:
        table = typed_for_database(rows, bundle) if typed else as_read(rows, bundle)
        table.insert(0, ROW, np.arange(len(table)))
        try:
            db.load(scratch, table[[ROW, *bundle.schema]])
            query = to_sql(bundle, scratch, db.dialect, ROW, pretty=False)
            from_sql = db.query(query)
        except ConfigError:
            raise
        except Exception as err:  # engines raise many types; all mean "could not check there"
            raise DataError(f"the check failed in {db.label} ({db.failure(err)}); "
                            "check the URL and that you may create tables") from err
        finally:
            db.drop(scratch)
    return compare(bundle, rows, from_sql)


def score_in_database(run_dir: Path, candidate: str, url: str, table: str, into: str,
                      id_column: str | None = None) -> int:
    """Write the candidate's predictions for every row of `table` into `into` (replaced atomically)."""
    bundle = load_model(run_dir, candidate)
    id_column = default_id(run_dir) if id_column is None else id_column
    table_sql(into, "duckdb")  # a malformed name is refused before anything runs
    if table.lower() == into.lower():
        raise ConfigError(f"--into {into} would replace the table being scored; name another table")
    with Database(url) as db:
        check_columns_of(db, table, bundle, id_column)
        return db.replace_table(into, create_table_sql(bundle, table, into, db.dialect, id_column))


def check_columns_of(db: Database, table: str, bundle: ModelBundle, id_column: str) -> None:
    """The table has the id and every column the model reads, numbers stored as numbers."""
    found = db.columns(table)
    for name in key_columns(id_column):
        if name not in found:
            raise DataError(f"table {table!r} has no id column {name!r}; pass --id with the column(s) that "
                            "name each row (or --id '' for none)")
    check_columns(found, columns_read(bundle), table)
