"""Reading a card's [data] source (CSV, Parquet, a SQL query) into a DataFrame, for every task.

A problem the user can fix raises DataError naming it and the fix.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bakeoff.core.card import SqlSource
from bakeoff.core.urls import failure, file_url, redact, sqlalchemy_url
from bakeoff.errors import DataError


@dataclass
class Loaded:
    frame: pd.DataFrame
    sha256: str
    notes: list[str] = field(default_factory=list)  # what reading changed, e.g. renamed headers


def load_frame(source: str | SqlSource, base_dir: Path, min_columns: int = 2, text: tuple[str, ...] = ()) -> Loaded:
    """Read the card's [data] source (or rows to score) into a DataFrame with its sha256; the
    CSV columns named in `text` are read as written ("007" stays "007": a key, not a number)."""
    if isinstance(source, SqlSource):
        return _load_sql(SqlSource(url=file_url(source.url, base_dir), query=source.query))
    path = data_path(base_dir / source)
    if path.is_dir():
        return _load_parquet_folder(path, min_columns)
    if not path.is_file():
        raise DataError(f"data file {path} not found; check the path (a card's [data] source is relative "
                        "to the card's folder)")
    try:
        frame = _read_file(path, text)
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError, OSError) as err:
        raise DataError(f"cannot read {path.name} ({failure(err)}); "
                        "give a UTF-8 CSV with a header row, or a Parquet file") from err
    if frame.empty or frame.shape[1] < min_columns:
        raise DataError(f"{path.name} has no data rows or fewer than {min_columns} columns; give a table with "
                        "a header row (comma-separated)" + (", a target and at least one feature" if min_columns > 1 else ""))
    return Loaded(frame, hashlib.sha256(path.read_bytes()).hexdigest(), _renamed_headers(path, frame))


def _load_parquet_folder(path: Path, min_columns: int) -> Loaded:
    """A folder of Parquet files (as Spark writes a table, partition folders included) read as one."""
    files = sorted(path.rglob("*.parquet"))
    if not files:
        raise DataError(f"{path} is a folder with no Parquet files; give a CSV or Parquet file, or a folder of "
                        "Parquet files")
    try:
        frame = pd.read_parquet(path)
    except (ValueError, OSError) as err:
        raise DataError(f"cannot read the Parquet files in {path} ({failure(err)}); give files of one table") from err
    if frame.empty or frame.shape[1] < min_columns:
        raise DataError(f"the Parquet files in {path} hold no rows or fewer than {min_columns} columns")
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() + hashlib.sha256(file.read_bytes()).digest())
    return Loaded(frame, digest.hexdigest(), [])


def data_path(path: Path) -> Path:
    """A data file's absolute path, symlinks followed; a symlink loop is a DataError."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError) as err:  # "Symlink loop" (RuntimeError before Python 3.13)
        raise DataError(f"data file {path} is a symlink loop (it leads back to itself); point it at a "
                        "CSV or Parquet file") from err


def _read_file(path: Path, text: tuple[str, ...] = ()) -> pd.DataFrame:
    if _is_parquet(path):
        return pd.read_parquet(path)
    try:
        return pd.read_csv(path, dtype={name: str for name in text} or None, **_csv_options(path))
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


def _csv_options(path: Path) -> dict:
    """How a CSV is read: numbers parsed exactly, as pandas 3 does by default (pandas 2's fast
    parser reads 0.505972421603 a bit off; its exact one is slower), so a run's numbers do not
    depend on the pandas version."""
    sniff = path.suffix.lower() in (".tsv", ".txt")
    if sniff:
        return {"sep": None, "engine": "python"}
    return {"sep": ",", "engine": "c", **EXACT_FLOATS}


def _renamed_headers(path: Path, frame: pd.DataFrame) -> list[str]:
    """A note naming the header names the CSV reader changed: a repeated name gets '.1', an
    empty one 'Unnamed: 2'; those new names are what [data], the notes and the SQL export use."""
    if _is_parquet(path):
        return []
    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, **_csv_options(path))
    except (ValueError, OSError, pd.errors.ParserError):
        return []
    given = [str(v) for v in header.iloc[0]] if len(header) else []
    renamed = [f"{_header_words(old)} is now {new!r}" for old, new in zip(given, map(str, frame.columns))
               if old != new]
    if not renamed or len(given) != frame.shape[1]:
        return []
    return [f"columns renamed as read (names must be distinct and not empty): {'; '.join(renamed[:5])}"
            f"{' …' if len(renamed) > 5 else ''}; give every column its own name in the file to choose the names"]


def _header_words(name: str) -> str:
    return "the column with no name" if not name.strip() else f"the repeated {name!r}"


def _load_sql(source: SqlSource) -> Loaded:
    url = source.url
    try:
        if url.startswith("duckdb://"):
            frame = _query_duckdb(url.removeprefix("duckdb://").removeprefix("/"), source.query)
        else:
            frame = _query_sqlalchemy(url, source.query)
    except DataError:
        raise
    except Exception as err:  # drivers raise their own types; all mean the same to the user
        raise DataError(f"the query on {redact(url)} failed ({failure(err, url)}); "
                        "check [data] source url and query") from err
    if frame.empty:
        raise DataError(f"the query on {redact(url)} returned no rows; check [data] source query")
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values.tobytes()).hexdigest()
    return Loaded(frame, digest)


def _query_duckdb(path: str, query: str) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(path or ":memory:", read_only=bool(path) and path != ":memory:") as con:
        return con.execute(query).df()


def _query_sqlalchemy(url: str, query: str) -> pd.DataFrame:
    import sqlalchemy

    engine = sqlalchemy.create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as con:
            return pd.read_sql_query(sqlalchemy.text(query), con)
    finally:
        engine.dispose()


def suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f"did you mean {close[0]!r}?" if close else f"columns are {', '.join(options[:30])}"
