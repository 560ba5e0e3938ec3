"""Data: loading (CSV, Parquet, SQL), cleaning, fingerprint, target checks, splits.

Everything here is plain pandas/numpy; a problem the user can fix raises DataError.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bakeoff.core.card import Card
from bakeoff.core.source import Loaded, data_path, load_frame, suggest  # noqa: F401 - read here too
from bakeoff.errors import DataError, LeakageError
from bakeoff.tasks.tabular.schema import apply_schema, infer_schema, parse_dates, source_column


@dataclass
class Dataset:
    """Features and target ready for the ladder, with the split already made."""

    task: str
    X: pd.DataFrame
    y: np.ndarray  # class codes 0..k-1 for classification, floats for regression
    classes: list[str]  # class labels, positive class last for binary; [] for regression
    schema: dict[str, str]  # raw column -> number | category | date, see schema.py
    train_index: np.ndarray
    holdout_index: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]  # positions within the training part
    sha256: str
    rows: int
    columns: int
    notes: list[str] = field(default_factory=list)
    time_ordered: bool = False  # folds and holdout follow [data] time
    raw: pd.DataFrame | None = None  # the rows as read (all columns), aligned with X and y
    id_column: str = ""

    @property
    def X_train(self) -> pd.DataFrame:
        return self.X.iloc[self.train_index]

    @property
    def y_train(self) -> np.ndarray:
        return self.y[self.train_index]


MAX_UNREADABLE_TARGETS = 0.05  # a regression target may have this share of non-numbers ('?'), dropped


def infer_task(target: pd.Series) -> str:
    """'regression' for a numeric target with many distinct values (a few non-numbers such as
    '?' allowed: those rows are dropped), else 'classification'."""
    values = target.dropna()
    numeric = pd.to_numeric(values, errors="coerce")
    if values.dtype == bool or numeric.isna().mean() > MAX_UNREADABLE_TARGETS:
        return "classification"
    numeric = numeric.dropna()
    if numeric.nunique() <= 10 and np.allclose(numeric, numeric.round()):
        return "classification"
    return "regression"


def prepare(card: Card, loaded: Loaded | None = None, exclude: frozenset[str] = frozenset(),
            holdout=None) -> Dataset:
    """Load the card's data and turn it into a split Dataset, or raise DataError.

    Rows whose key (see `expect.row_keys`) is in `exclude` are left out of training and holdout
    after the split, so that the split of every other row stays as it was. `holdout(frame)`,
    when given, says which of the usable rows are held out (True) instead of the card's split.
    """
    loaded = loaded or load_frame(card.data.source, card.base_dir)
    notes: list[str] = list(loaded.notes)
    frame = _usable_rows(loaded.frame, card, notes)
    y, classes = encode_target(frame[card.data.target], card)
    if card.evaluate.metric == "mape" and (y == 0).any():
        raise DataError(f"[evaluate] metric mape divides by the target, which is 0 in {(y == 0).sum()} "
                        "row(s); use mae or rmse")
    X, schema = _features(frame, card, notes)
    check_leakage(X, y, card, schema)
    train_index, holdout_index = holdout_split(y, card) if holdout is None else _split_by(holdout(frame))
    _check_enough_rows(len(train_index), card)
    _check_class_sizes(y[train_index], classes, card)
    folds = cv_folds(y[train_index], card)
    if exclude:
        reviewed = _reviewed(frame, exclude, card, notes)
        before = [set(y[train_index][check]) for _, check in folds]
        train_index, holdout_index, folds = _leave_out(reviewed, train_index, holdout_index, folds)
        _check_no_class_lost(before, folds, y[train_index], classes)
    _check_time_folds(folds, y[train_index], y[holdout_index], classes, card, notes)
    return Dataset(card.problem.task, X, y, classes, schema, train_index, holdout_index, folds,
                   loaded.sha256, int(loaded.frame.shape[0]), int(loaded.frame.shape[1]), notes,
                   bool(card.data.time), frame, card.data.id)


def _usable_rows(frame: pd.DataFrame, card: Card, notes: list[str]) -> pd.DataFrame:
    """Rows with a target, in time order when [data] time is set, numbered from 0."""
    _check_columns_exist(card, list(frame.columns))
    target = frame[card.data.target]
    blank = target.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)  # ' ' is no answer either
    usable = frame[target.notna() & ~blank]
    if usable.empty:
        raise DataError(f"target {card.data.target!r} is empty in every row; choose another [data] target")
    if len(usable) < len(frame):
        notes.append(f"dropped {len(frame) - len(usable)} row(s) with no target (empty or blank)")
    if card.problem.task == "regression":
        usable = _drop_unreadable_targets(usable, card.data.target, notes)
    if card.data.time:
        usable = usable.iloc[np.argsort(time_order(usable[card.data.time]), kind="stable")]
    return usable.reset_index(drop=True)


def _features(frame: pd.DataFrame, card: Card, notes: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The model inputs of every row, and the schema that made them."""
    raw = frame[feature_columns(frame.columns, card)]
    schema = infer_schema(raw, notes)
    dates = [name for name, kind in schema.items() if kind.startswith("date")]
    if dates and not card.data.time:
        notes.append(f"{dates[0]} is a date: if later rows are to be predicted from earlier ones, set [data] time = "
                     f"{dates[0]!r} so that folds and holdout keep time order (rows are shuffled now)")
    X = apply_schema(raw, schema)
    if X.shape[1] == 0:
        raise DataError("no usable feature columns are left; give the data at least one feature besides target and id")
    return X, schema


def _leave_out(reviewed: np.ndarray, train_index: np.ndarray, holdout_index: np.ndarray,
               folds: list[tuple[np.ndarray, np.ndarray]]):
    """The split without the `reviewed` rows; folds renumbered to the training rows that stay.

    >>> folds = [(np.array([0, 1]), np.array([2])), (np.array([1, 2]), np.array([0]))]
    >>> train, hold, kept = _leave_out(np.array([False, True, False, False]), np.arange(3), np.array([3]), folds)
    >>> train.tolist(), hold.tolist(), [(a.tolist(), b.tolist()) for a, b in kept]
    ([0, 2], [3], [([0], [1]), ([1], [0])])
    """
    stays = ~reviewed[train_index]
    position = np.full(len(train_index), -1)
    position[stays] = np.arange(int(stays.sum()))

    def renumber(rows: np.ndarray) -> np.ndarray:
        return position[rows][position[rows] >= 0]

    folds = [(renumber(fit), renumber(check)) for fit, check in folds]
    return train_index[stays], holdout_index[~reviewed[holdout_index]], folds


def _check_no_class_lost(before: list[set], folds, y_train: np.ndarray, classes: list[str]) -> None:
    """Leaving out the judged rows must not empty a validation part of a class it had."""
    for number, (had, (_, check)) in enumerate(zip(before, folds, strict=True), start=1):
        lost = sorted(had - set(y_train[check]))
        if classes and lost:
            raise DataError(f"without the rows experts judged, fold {number} has no {classes[lost[0]]!r} left; "
                            "set [evaluate] folds lower")


def _drop_unreadable_targets(frame: pd.DataFrame, target: str, notes: list[str]) -> pd.DataFrame:
    """A few regression targets that are no number ('?', 'n/a', infinite) are left out with a
    note; more stay, for encode_target to refuse."""
    numbers = pd.to_numeric(frame[target].astype(str).str.strip(), errors="coerce")
    unreadable = ~np.isfinite(numbers.to_numpy(float))
    if 0 < unreadable.sum() <= MAX_UNREADABLE_TARGETS * len(frame):
        example = str(frame[target][unreadable].iloc[0])
        notes.append(f"dropped {int(unreadable.sum())} row(s) whose target is not a number (e.g. {example!r})")
        return frame[~unreadable]
    return frame


def feature_columns(columns: Iterable, card: Card) -> list[str]:
    """The raw columns a model reads: all but target, id, time and [data] drop."""
    unused = {card.data.target, card.data.id, card.data.time, *card.data.drop}
    return [c for c in columns if c not in unused]


def _reviewed(frame: pd.DataFrame, exclude: frozenset[str], card: Card, notes: list[str]) -> np.ndarray:
    """Which rows subject-matter experts answered (their keys are in `exclude`), with notes."""
    from bakeoff.tasks.tabular.expect import row_keys

    keys = row_keys(frame, feature_columns(frame.columns, card), card.data.id)
    reviewed = keys.isin(exclude)
    if reviewed.any():
        notes.append(f"{int(reviewed.sum())} row(s) that subject-matter experts answered are kept out of "
                     "training and holdout; every candidate is checked against their answers instead")
    unmatched = len(exclude - set(keys[reviewed]))
    if unmatched:
        notes.append(f"{unmatched} expert case(s) match no row of the data (changed data, [data] id or drop?); "
                     "they are still checked, but any copies of them in the data were not kept out of training")
    return reviewed.to_numpy()


def time_order(column: pd.Series) -> np.ndarray:
    """Sortable values of the [data] time column: numbers as they are, text parsed as dates."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        values = pd.Series(column)
    else:
        values = parse_dates(column)
        unparsed = values.isna() & column.notna()
        if unparsed.any():
            raise DataError(f"[data] time column {column.name!r} is not a date or a number "
                            f"(e.g. {str(column[unparsed].iloc[0])!r}); name a date column or leave time empty")
    return values.rank(method="first", na_option="top").to_numpy()


def _check_columns_exist(card: Card, columns: list[str]) -> None:
    if isinstance(card.data.id, list):
        raise DataError(f"[data] id is a list ({', '.join(card.data.id)}); a tabular card takes one row key "
                        "column: name one, or combine them into one column first")
    named = {"target": card.data.target, "id": card.data.id, "time": card.data.time}
    for key, name in [*named.items(), *(("drop", c) for c in card.data.drop)]:
        if name and name not in columns:
            raise DataError(f"[data] {key} column {name!r} is not in the data; {suggest(name, columns)}")


def encode_target(target: pd.Series, card: Card) -> tuple[np.ndarray, list[str]]:
    """Class codes (positive class last for binary) or floats, with the class labels."""
    name = card.data.target
    labels = target.astype(str).str.strip()
    if labels.nunique() < 2:
        stripped = " once spaces are stripped" if target.nunique() > 1 else ""
        raise DataError(f"target {name!r} has a single value ({labels.iloc[0]!r}){stripped}; nothing to "
                        "predict, choose another [data] target")
    if card.problem.task == "regression":
        values = pd.to_numeric(target.astype(str).str.strip(), errors="coerce")
        unreadable = ~np.isfinite(values.to_numpy(float))
        if unreadable.any():
            raise DataError(f"target {name!r} is not a number in {int(unreadable.sum())} of {len(values)} rows "
                            f"(e.g. {target[unreadable].iloc[0]!r}), too many to leave out; set [problem] "
                            'task = "classification" or pick a numeric target')
        return values.to_numpy(float), []
    classes = sorted(labels.unique())
    _check_case_variants(classes, name)
    if len(classes) == 2:
        positive = _positive_label(classes, card.data.positive, name)
        classes = [c for c in classes if c != positive] + [positive]
    if len(classes) > 50:
        raise DataError(f"target {name!r} has {len(classes)} classes; for a numeric target set "
                        '[problem] task = "regression"')
    codes = pd.Categorical(labels, categories=classes).codes
    return codes.astype(int), classes


def _check_case_variants(classes: list[str], name: str) -> None:
    """Refuse target labels that differ only in case ('yes' and 'Yes'): as written they would be
    different classes, which is seldom what the data means.

    >>> _check_case_variants(["No", "Yes", "yes"], "Churn")
    Traceback (most recent call last):
    bakeoff.errors.DataError: target 'Churn' has labels that differ only in case: 'Yes' and 'yes' would be different classes; write each class one way in the data (e.g. SELECT lower(Churn) ... in a query)
    """
    seen: dict[str, str] = {}
    for label in classes:
        first = seen.setdefault(label.casefold(), label)
        if first != label:
            raise DataError(f"target {name!r} has labels that differ only in case: {first!r} and {label!r} would "
                            f"be different classes; write each class one way in the data (e.g. SELECT "
                            f"lower({name}) ... in a query)")


def _positive_label(classes: list[str], positive, name: str) -> str:
    if positive is not None:
        wanted = str(positive).strip()
        if str(positive) == "True" or str(positive) == "False":
            wanted = str(positive)
        if wanted not in classes:
            raise DataError(f"[data] positive = {positive!r} is not a value of {name!r}; "
                            f"use one of {', '.join(map(repr, classes))}")
        return wanted
    return guess_positive(classes)


def guess_positive(classes: list[str]) -> str:
    """The class a business usually acts on: 1, Yes, True, else the last in sort order."""
    for guess in ("1", "1.0", "Yes", "yes", "True", "true", "Y", "y"):
        if guess in classes:
            return guess
    return classes[-1]


def check_leakage(X: pd.DataFrame, y: np.ndarray, card: Card, schema: dict[str, str]) -> None:
    """Refuse a feature that is a copy (or a relabelling) of the target, naming the raw column
    to drop (a date's, for a copy among its parts)."""
    for name in X.columns:
        filled = X[name].notna().to_numpy()  # a copy with a few blanks is still a copy
        column, target = X[name][filled], np.asarray(y)[filled]
        if filled.sum() < 0.9 * len(filled) or len(column) < 2:
            continue
        if card.problem.task == "regression":
            leaks = pd.api.types.is_numeric_dtype(column) and _linear_copy(column.to_numpy(float), target)
        else:
            leaks = column.nunique() < 0.5 * len(column) and \
                pd.Series(target).groupby(column.astype(str).to_numpy()).nunique().max() == 1
        if leaks:
            raw = source_column(name, schema)
            what = f"feature {name!r}" + (f" (from column {raw!r})" if raw != name else "")
            raise LeakageError(f"{what} is a copy of the target {card.data.target!r} (it predicts it "
                               f"perfectly); remove it with [data] drop = [{raw!r}] (or --drop {raw})", raw)


def _linear_copy(x: np.ndarray, y: np.ndarray) -> bool:
    """y is a*x + b on 99 % of the rows, to 6 significant digits: a copy in other units, not a
    strong predictor (consecutive hours of a series correlate at 0.9999 and are no copy).

    >>> x = np.arange(50.0); _linear_copy(x, 3 * x + 2), _linear_copy(x, x + np.sin(x))
    (True, False)
    """
    if np.std(x) == 0 or np.std(y) == 0:
        return False
    slope, intercept = np.polyfit(x, y, 1)
    fitted = slope * x + intercept
    close = np.abs(fitted - y) <= 1e-6 * np.maximum(np.abs(y), np.std(y))
    return bool(close.mean() >= 0.99)


def holdout_split(y: np.ndarray, card: Card) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the training part and of the untouched holdout (the last rows when time-ordered)."""
    rows = np.arange(len(y))
    n_holdout = int(round(card.evaluate.holdout * len(y)))
    if n_holdout == 0:
        return rows, rows[:0]
    if card.data.time:
        return rows[:-n_holdout], rows[-n_holdout:]
    from sklearn.model_selection import train_test_split

    stratify = y if card.problem.task == "classification" and _can_stratify(y, n_holdout) else None
    train, holdout = train_test_split(rows, test_size=n_holdout, random_state=card.evaluate.seed,
                                      stratify=stratify)
    return np.sort(train), np.sort(holdout)


def _split_by(held_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def _can_stratify(y: np.ndarray, n_holdout: int) -> bool:
    """Every class twice or more, and room for each class on both sides of the cut."""
    counts = np.bincount(y)
    return counts.min() >= 2 and min(n_holdout, len(y) - n_holdout) >= len(counts)


def _check_enough_rows(n_train: int, card: Card) -> None:
    """Every validation part needs at least two rows to be scored."""
    if n_train < 2 * card.evaluate.folds:
        raise DataError(f"only {n_train} training row(s) for {card.evaluate.folds} folds (at least two rows "
                        "each); set [evaluate] folds lower, or collect more rows")


def _check_class_sizes(y_train: np.ndarray, classes: list[str], card: Card) -> None:
    if not classes:
        return
    counts = np.bincount(y_train, minlength=len(classes))
    smallest = int(counts.argmin())
    if counts[smallest] < card.evaluate.folds:
        raise DataError(f"class {classes[smallest]!r} has only {counts[smallest]} training row(s), fewer than "
                        f"the {card.evaluate.folds} folds; set [evaluate] folds lower or collect more rows")


RANKING_METRICS = ("roc_auc", "pr_auc")  # undefined on rows of one class


def _check_time_folds(folds, y_train: np.ndarray, y_holdout: np.ndarray, classes: list[str], card: Card,
                      notes: list[str]) -> None:
    """Forward-chained folds start small: each must still see every class to learn from, and a
    ranking metric needs every class in each validation part too (the holdout gets a note)."""
    if not (card.data.time and classes):
        return
    every = set(range(len(classes)))
    for number, (train, validate) in enumerate(folds, start=1):
        missing = sorted(every - set(np.unique(y_train[train])))
        if missing:
            raise DataError(f"with [data] time set, fold {number} trains on the earliest {len(train)} rows, which "
                            f"have no {classes[missing[0]]!r}; set [evaluate] folds lower or leave time empty")
        missing = sorted(every - set(np.unique(y_train[validate])))
        if missing and card.evaluate.metric in RANKING_METRICS:
            raise DataError(f"with [data] time set, fold {number} checks on {len(validate)} rows with no "
                            f"{classes[missing[0]]!r}, where {card.evaluate.metric} is undefined; set [evaluate] "
                            "metric to log_loss or accuracy, folds lower, or leave time empty")
    missing = sorted(every - set(np.unique(y_holdout)))
    if len(y_holdout) and missing and card.evaluate.metric in RANKING_METRICS:
        notes.append(f"the holdout (the latest {len(y_holdout)} rows) has no {classes[missing[0]]!r}: "
                     f"its {card.evaluate.metric} is undefined, so only cross-validated scores are shown")


def cv_folds(y_train: np.ndarray, card: Card) -> list[tuple[np.ndarray, np.ndarray]]:
    """K folds over the training part: stratified, plain, or forward-chained when time-ordered."""
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    k, seed = card.evaluate.folds, card.evaluate.seed
    if card.data.time:
        splitter = TimeSeriesSplit(n_splits=k)
    elif card.problem.task == "classification":
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=k, shuffle=True, random_state=seed)
    return [(train, val) for train, val in splitter.split(np.zeros(len(y_train)), y_train)]
