"""The feature schema: which raw columns are numbers, categories or dates, learned once
from the training data and applied the same way to every new row.

>>> frame = pd.DataFrame({"charges": ["1.5", " ", "3"], "plan": ["a", "b", "a"]})
>>> schema = infer_schema(frame, notes := [])
>>> schema, notes
({'charges': 'number', 'plan': 'category'}, ['charges: numbers stored as text; 1 blank or non-numeric value(s) read as missing'])
>>> apply_schema(frame, schema)["charges"].tolist()
[1.5, nan, 3.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Collection

import numpy as np
import pandas as pd

from bakeoff.errors import BadValue, DataError

NUMBER, CATEGORY, DATE = "number", "category", "date"
_ID_SHARE = 0.5  # a text column with more distinct values than this share of rows is an id
MOSTLY_NUMBERS = 0.9  # a text column this much numbers, with many distinct ones, is a number column
MANY_NUMBERS = 20  # ... and "many" (fewer distinct numbers beside words may be codes: '1', '2', 'X')
LARGEST = float(np.finfo(np.float32).max)  # beyond this (or infinite) a number reads as missing
_DATE_PARTS = ("year", "month", "day", "weekday")
# tried in order; a format must read every value. Month-first before day-first for slashes,
# as pandas does; dots and dashes after a day are day-first (European).
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d", "%Y%m%d",
                 "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m/%d/%y", "%d/%m/%y", "%d.%m.%y")


def infer_schema(frame: pd.DataFrame, notes: list[str]) -> dict[str, str]:
    """Each usable column's kind; what was coerced or dropped is appended to notes."""
    kinds = {str(name): _usable_kind(frame[name], str(name), notes) for name in frame.columns}
    return {name: kind for name, kind in kinds.items() if kind}


def _usable_kind(column: pd.Series, name: str, notes: list[str]) -> str | None:
    """The column's kind, or None (with a note) when the models cannot learn from it."""
    if _nested(column):
        notes.append(f"{name}: dropped, it holds lists or records (nested values), which the models "
                     "cannot read; flatten them into plain columns to use them")
        return None
    kind = _kind_of(column, name, notes)
    if kind and column.nunique(dropna=False) <= 1:
        notes.append(f"{name}: dropped, it has a single value")
        return None
    if kind == NUMBER and _spread_lost(numbers := _to_number(column)):
        notes.append(_spread_lost_note(name, numbers))
        return None
    return kind


_NESTED = (list, tuple, dict, set, np.ndarray)


def _nested(column: pd.Series) -> bool:
    """Whether a column holds lists, arrays or records (Parquet's list and struct columns).

    >>> _nested(pd.Series([[1, 2], None])), _nested(pd.Series([{"a": 1}])), _nested(pd.Series(["a", "b"]))
    (True, True, False)
    """
    if not pd.api.types.is_object_dtype(column):
        return False
    try:
        pd.factorize(column)  # one pass in C; lists, arrays and dicts cannot be hashed
    except TypeError:
        return True
    return False


SPREAD_DIGITS = 9  # a number column whose values differ only beyond this many digits is no feature


def _spread_lost(numbers: pd.Series) -> bool:
    """Whether distinct numbers differ only beyond the digits the models compute with: as floats
    they are (nearly) one value, and scaling turns the rounding left over into huge inputs that
    flatten every other feature (31-digit identifiers, say).

    >>> _spread_lost(pd.Series([1e30 + i for i in range(5)])), _spread_lost(pd.Series([2020.0, 2021.0]))
    (True, False)
    """
    values = numbers.dropna().to_numpy(float)
    if len(values) < 2 or values.min() == values.max() == 0:
        return False
    return bool(values.std() <= 10.0 ** -SPREAD_DIGITS * np.abs(values).max())


def _spread_lost_note(name: str, numbers: pd.Series) -> str:
    largest = float(numbers.abs().max())
    return (f"{name}: dropped, its values reach {largest:.3g} but differ only beyond their first "
            f"{SPREAD_DIGITS} digits, too fine for the models to use (scaled, they would flatten every other "
            "feature); huge numbers like these are usually an identifier (set [data] id), else store them "
            "relative to a reference value")


def _kind_of(column: pd.Series, name: str, notes: list[str]) -> str | None:
    if pd.api.types.is_datetime64_any_dtype(column):
        notes.append(f"{name}: date expanded into year, month, day of month and day of week")
        return DATE
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        huge = int((column.notna() & _to_number(column).isna()).sum())
        if huge:
            notes.append(f"{name}: {huge} infinite or out-of-range value(s) (beyond ±3.4e38) read as missing")
        return NUMBER
    text = _strip(column)
    numbers = _to_number(text)
    filled = text.notna().sum()
    unparsed = text[text.notna() & numbers.isna()]
    if filled and (len(unparsed) <= 0.01 * filled or (len(unparsed) <= (1 - MOSTLY_NUMBERS) * filled
                                                      and numbers.nunique() > MANY_NUMBERS)):
        missing = int(numbers.isna().sum() - column.isna().sum())
        if missing:
            example = f" (e.g. {str(unparsed.iloc[0])!r})" if len(unparsed) else ""
            notes.append(f"{name}: numbers stored as text; {missing} blank or non-numeric value(s){example} "
                         "read as missing")
        return NUMBER
    if _looks_like_dates(text):
        fmt = date_format(text)
        unread = int(text.notna().sum() - parse_dates(text, fmt).notna().sum())
        notes.append(f"{name}: date ({fmt or 'mixed formats'}) expanded into year, month, day of month "
                     "and day of week" + (f"; {unread} value(s) that are no such date read as missing"
                                          if unread else ""))
        return f"{DATE}:{fmt}" if fmt else DATE
    if text.nunique() > max(50, _ID_SHARE * len(text)):
        notes.append(f"{name}: dropped, {text.nunique()} distinct text values look like an identifier"
                     + _written_numbers_hint(text))
        return None
    hint = _written_numbers_hint(text)
    if hint:
        notes.append(f"{name}: read as {text.nunique()} categories{hint}")
    return CATEGORY


def _written_numbers_hint(text: pd.Series) -> str:
    """When the values are numbers written with currency signs, thousands separators or %, say so.

    >>> _written_numbers_hint(pd.Series(["$46,396", "$1,200.50", "12%"]))
    "; they look like numbers written with symbols (e.g. '$46,396'): store them as plain numbers to use them"
    """
    values = pd.Series(text.dropna().astype(str).unique())  # each distinct value once, not every row
    bare = values.str.replace(r"[$€£¥%,\s]", "", regex=True)
    if len(values) and pd.to_numeric(bare, errors="coerce").notna().mean() >= MOSTLY_NUMBERS:
        return (f"; they look like numbers written with symbols (e.g. {values.iloc[0]!r}): store them as plain "
                "numbers to use them")
    return ""


def apply_schema(frame: pd.DataFrame, schema: dict[str, str],
                 levels: dict[str, list[str]] | None = None,
                 booleans: Collection[str] | None = None) -> pd.DataFrame:
    """The model's input columns from raw rows; a missing column is a DataError naming it.
    With the training `levels`, a category given as a number reads as the level it equals.
    With `booleans` (the number columns learned from True/False, for new rows), True/False read
    as 1/0 in those and as missing in every other number column, whatever the rest of the batch."""
    absent = [name for name in schema if name not in frame.columns]
    if absent:
        raise DataError(f"the data lacks column(s) {', '.join(map(repr, absent))} that the model was "
                        "trained on; add them (blank values are allowed)")
    out = {}
    for name, kind in schema.items():
        if kind == NUMBER:
            out[name] = _to_number(frame[name], _reads_booleans(name, booleans))
        elif kind == CATEGORY:
            out[name] = _category_text(frame[name], (levels or {}).get(name, ()))
        else:
            out.update(_date_parts(name, frame[name], kind.partition(":")[2] or None))
    return pd.DataFrame(out, index=frame.index)


def _strip(column: pd.Series) -> pd.Series:
    """Text with surrounding spaces removed and blanks as missing.

    Each distinct value is cleaned once (text columns repeat few values), so a million
    rows cost one factorize, not a million Python calls.
    """
    if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
        text = column.astype("object").where(column.notna(), None)
        return text.where(text.map(lambda v: v is not None and v != ""), None)
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # new rows may hold lists where training had plain values: read as missing
        column = column.where(~column.map(lambda v: isinstance(v, _NESTED)), None)
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    cleaned = [v.strip() if isinstance(v, str) else v for v in uniques]
    table = np.array([np.nan if v == "" else v for v in cleaned] + [np.nan], dtype=object)
    return pd.Series(table[codes], index=column.index, name=column.name)


def _category_text(column: pd.Series, levels=()) -> pd.Series:
    """A category as text, whatever the reader made of it: a new file whose column holds only
    numbers gives 2 (or 2.0 beside blanks) where the training file's text said '2' (or '2.0':
    a number reads as the training level it equals).

    >>> list(_category_text(pd.Series([2, 2.0, None, " XL "], dtype=object)))
    ['2', '2', nan, 'XL']
    >>> list(_category_text(pd.Series([2.0, 3.5]), levels=["2.0", "3.50", "XL"]))
    ['2.0', '3.50']
    """
    codes, uniques = pd.factorize(_strip(column), use_na_sentinel=True)
    by_number = {}
    if len(levels) and not all(isinstance(v, str) for v in uniques):  # numbers to match: the rare case
        numbers = pd.to_numeric(pd.Series(list(levels), dtype=object), errors="coerce")
        for level, number in zip(levels, numbers, strict=True):
            if pd.notna(number):
                by_number.setdefault(float(number), level)
    table = np.array([_as_text(v, by_number) for v in uniques] + [np.nan], dtype=object)
    return pd.Series(table[codes], index=column.index, name=column.name)


def _as_text(value, by_number: dict[float, str]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if float(value) in by_number:
            return by_number[float(value)]
        if float(value).is_integer():
            return str(int(value))
    return str(value)


def _to_number(column: pd.Series, booleans: bool | None = None) -> pd.Series:
    """Numbers as floats; text that is no number, infinities and numbers beyond float32's range
    (which the models' float32 inputs cannot hold) as missing. True/False (or their text, in any
    case) read as 1/0 with `booleans`, as missing with `booleans=False`; with None (training
    data) a column of booleans reads as 1/0 and the text 'True' among numbers as missing.

    >>> _to_number(pd.Series([True, False]), booleans=False).tolist(), _to_number(pd.Series(["true", "2"]), True).tolist()
    ([nan, nan], [1.0, 2.0])
    """
    if booleans is not None and (pd.api.types.is_bool_dtype(column) or pd.api.types.is_object_dtype(column)
                                 or pd.api.types.is_string_dtype(column)):
        codes, uniques = pd.factorize(_strip(column), use_na_sentinel=True)  # each distinct value once
        table = np.array([_boolean_value(v) for v in uniques] + [np.nan], dtype=float)
        flags = pd.Series(table[codes], index=column.index)
        flagged = flags.notna()
        if flagged.any():
            column = column.where(~flagged, None).astype(object)
            numbers = _to_number(column)
            return numbers.where(~flagged, flags.astype(float) if booleans else np.nan)
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        numbers = column.astype(float)
    else:
        numbers = pd.to_numeric(_strip(column), errors="coerce").astype(float)
    return numbers.where(numbers.abs() <= LARGEST)


_BOOLEAN_TEXT = {"true": 1.0, "false": 0.0}


def _boolean_value(value) -> float:
    """1/0 for True/False (or their text in any case), NaN for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    return _BOOLEAN_TEXT.get(value.lower(), np.nan) if isinstance(value, str) else np.nan


def _reads_booleans(name: str, booleans: Collection[str] | None) -> bool | None:
    return None if booleans is None else name in booleans


def boolean_columns(frame: pd.DataFrame, schema: dict[str, str]) -> list[str]:
    """The number columns of `schema` that hold only True/False (and blanks) in `frame`.

    >>> boolean_columns(pd.DataFrame({"a": [True, None], "b": [1.5, 2.0]}), {"a": NUMBER, "b": NUMBER})
    ['a']
    """
    found = []
    for name, kind in schema.items():
        values = frame[name].dropna() if name in frame.columns else pd.Series([], dtype=float)
        if kind == NUMBER and len(values) and (pd.api.types.is_bool_dtype(values) or
                                              values.map(lambda v: isinstance(v, (bool, np.bool_))).all()):
            found.append(name)
    return found


def _looks_like_dates(text: pd.Series) -> bool:
    sample = text.dropna().astype(str).head(200)
    if sample.empty or not sample.str.match(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}").all():
        return False
    return parse_dates(text).notna().sum() >= 0.95 * text.notna().sum()


def date_format(values: pd.Series) -> str | None:
    """The format in _DATE_FORMATS that reads every value, or else the one that reads the most
    if that is at least 99 % (the rest are typos, read as missing); None when none does.

    >>> date_format(pd.Series(["25.07.2020", "12.04.2021"]))
    '%d.%m.%Y'
    >>> date_format(pd.Series(["31/02/2021"] + ["25/07/2020"] * 99))  # one impossible day
    '%d/%m/%Y'
    """
    text = _strip(values).dropna().astype(str)
    if not len(text):
        return None
    best, best_share = None, 0.0
    for fmt in _DATE_FORMATS:
        share = pd.to_datetime(text, format=fmt, errors="coerce").notna().mean()
        if share == 1.0:
            return fmt
        if share > best_share:
            best, best_share = fmt, share
    return best if best_share >= 0.99 else None


def parse_dates(values: pd.Series, fmt: str | None = None) -> pd.Series:
    """Dates in one consistent format (given, or found), else read value by value."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    fmt = fmt or date_format(values)
    if fmt:
        return pd.to_datetime(_strip(values), errors="coerce", format=fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(_strip(values), errors="coerce", format="mixed")


def _date_parts(name: str, column: pd.Series, fmt: str | None) -> dict[str, pd.Series]:
    dates = parse_dates(column, fmt)
    parts = [dates.dt.year, dates.dt.month, dates.dt.day, dates.dt.day_of_week]
    return {f"{name}_{part}": values.astype(float) for part, values in zip(_DATE_PARTS, parts, strict=True)}


def source_column(feature: str, schema: dict[str, str]) -> str:
    """The raw column a model input comes from: itself, or the date column of a date part.

    >>> source_column("signup_month", {"signup": "date", "plan": "category"})
    'signup'
    """
    if feature in schema:
        return feature
    for name, kind in schema.items():
        if kind.startswith(DATE) and feature in (f"{name}_{part}" for part in _DATE_PARTS):
            return name
    return feature


def category_levels(X: pd.DataFrame, schema: dict[str, str]) -> dict[str, list[str]]:
    """The values each category column took in training."""
    return {name: sorted(map(str, X[name].dropna().unique())) for name, kind in schema.items()
            if kind == CATEGORY}


def surprises(frame: pd.DataFrame, schema: dict[str, str], levels: dict[str, list[str]],
              booleans: Collection[str] | None = None) -> list[str]:
    """What in new rows the model reads differently from the data it learned from."""
    notes = []
    for name, kind in schema.items():
        if name not in frame.columns:
            continue
        given = _category_text(frame[name], levels.get(name, ())) if kind == CATEGORY else _strip(frame[name])
        if kind == NUMBER:
            odd = given[given.notna() & _to_number(frame[name], _reads_booleans(name, booleans)).isna()]
            what = "not a number (or out of range), read as missing"
        elif kind == CATEGORY and name in levels:
            odd = given[given.notna() & ~given.astype(str).isin(levels[name])]
            what = "not seen in training, counted as none of the known values"
        else:
            continue
        if len(odd):
            notes.append(f"{name}: {len(odd)} value(s) {what} (e.g. {str(odd.iloc[0])!r})")
    return notes


# -- one value at a time: the twins of the column rules above, for scoring one row without pandas
def number_value(value, booleans: bool | None = None) -> float:
    """`_to_number` for one JSON value; text that is no number, or true/false in a column that
    learned numbers, is a BadValue (a served row is refused where a file's cell reads as missing).

    >>> number_value(" 2.5"), number_value(True, booleans=True), number_value(None)
    (2.5, 1.0, nan)
    """
    if value is None:
        return np.nan
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, str) and value.strip().lower() in _BOOLEAN_TEXT):
        if booleans is False or (booleans is None and isinstance(value, str)):  # a file's cell: read as missing
            raise BadValue(f"{value!r} is not a number (the model learned numbers here, not true/false)")
        return _boolean_value(value.strip() if isinstance(value, str) else value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return np.nan
        try:
            number = float(text) if "_" not in text else float("x")
        except ValueError:
            raise BadValue(f"{value!r} is not a number") from None
    elif isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        raise BadValue(f"a {type(value).__name__} is not a number")
    return number if abs(number) <= LARGEST else np.nan


def category_value(value, by_number: dict[float, str]):
    """`_category_text` for one JSON value: text stripped, a blank or null missing (NaN), a
    number the training level it equals (`by_number`, from `level_numbers`)."""
    if value is None:
        return np.nan
    if isinstance(value, str):
        return value.strip() or np.nan
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return np.nan
    if isinstance(value, _NESTED):
        raise BadValue(f"a {type(value).__name__} is not a category")
    return _as_text(value, by_number)


def level_numbers(levels) -> dict[float, str]:
    """The training levels that read as numbers, by their number (the first level of each)."""
    numbers = pd.to_numeric(pd.Series(list(levels), dtype=object), errors="coerce")
    found: dict[float, str] = {}
    for level, number in zip(levels, numbers, strict=True):
        if pd.notna(number):
            found.setdefault(float(number), level)
    return found
