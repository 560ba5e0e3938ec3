"""The preprocessing every sklearn candidate learns inside its own pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def make_preprocessor(scale: bool):
    """Impute and (optionally) scale numbers; impute and one-hot encode categories.

    Unseen categories at predict time become all-zero indicator columns.
    """
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric_steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64),
    )
    return ColumnTransformer(
        [("num", make_pipeline(*numeric_steps), make_column_selector(dtype_include=np.number)),
         ("cat", categorical, make_column_selector(dtype_exclude=np.number))],
        verbose_feature_names_out=False,
    )


@dataclass(frozen=True)
class NumberInput:
    """A number column: missing values become `median`, then (x - mean) / scale when scaled."""

    column: str
    median: float
    mean: float | None = None
    scale: float | None = None


@dataclass(frozen=True)
class CategoryInput:
    """A category column: one indicator per level; a missing value is the level `fill`, an
    unseen one no level at all."""

    column: str
    levels: tuple
    fill: str


class Preprocessing:
    """What the fitted preprocessing of `make_preprocessor` learned, captured once at fit time:
    every reader of it (fast prediction, SQL export, the tree's rules, the report's weights)
    asks this, never the ColumnTransformer.

    Called on rows it is the preprocessor's transform in plain numpy: the same numbers, about
    4x faster on a 1,000-row batch (scikit-learn's per-column validation costs more than the
    arithmetic). Each distinct category value is looked up once (pd.factorize).
    """

    def __init__(self, numbers: list[NumberInput], categories: list[CategoryInput]):
        self.numbers, self.categories = list(numbers), list(categories)
        self._arrays()

    def _arrays(self) -> None:
        n = self.numbers
        self._columns = [i.column for i in n]
        self._medians = np.array([i.median for i in n], dtype=float)
        scaled = bool(n) and n[0].mean is not None
        self._mean = np.array([i.mean for i in n], dtype=float) if scaled else None
        self._scale = np.array([i.scale for i in n], dtype=float) if scaled else None
        self._index = [{level: k for k, level in enumerate(c.levels)} for c in self.categories]

    def __setstate__(self, state: dict) -> None:
        if "numeric" in state:  # saved by an earlier bakeoff as (columns, medians, mean, scale)
            state = _from_earlier(state)
        self.__dict__.update(state)
        self._arrays()

    def __getstate__(self) -> dict:
        return {"numbers": self.numbers, "categories": self.categories}

    @property
    def feature_names(self) -> list[str]:
        """The model's inputs in order: the numbers, then each category's levels."""
        return [*self._columns, *(f"{c.column}_{level}" for c in self.categories for level in c.levels)]

    def __call__(self, X) -> np.ndarray:
        import pandas as pd

        parts = []
        if self.numbers:
            values = X[self._columns].to_numpy(dtype=float)
            values = np.where(np.isnan(values), self._medians, values)
            parts.append(values if self._mean is None else (values - self._mean) / self._scale)
        for category, index in zip(self.categories, self._index):
            codes, uniques = pd.factorize(X[category.column].to_numpy(dtype=object), use_na_sentinel=True)
            lookup = np.array([index.get(u, -1) for u in uniques] + [index.get(category.fill, -1)],
                              dtype=np.int64)
            level = lookup[codes]  # the sentinel -1 picks the last entry: the fill level
            onehot = np.zeros((len(level), len(index)))
            known = np.flatnonzero(level >= 0)
            onehot[known, level[known]] = 1.0
            parts.append(onehot)
        return np.hstack(parts) if parts else np.empty((len(X), 0))


    def row(self, values: dict) -> np.ndarray:
        """One row's inputs from its cleaned values (a dict: NaN for missing), as `__call__`
        gives them for a one-row frame."""
        out = np.zeros(len(self._columns) + sum(len(index) for index in self._index))
        if self.numbers:
            numbers = np.array([values[c] for c in self._columns], dtype=float)
            numbers = np.where(np.isnan(numbers), self._medians, numbers)
            out[:len(numbers)] = numbers if self._mean is None else (numbers - self._mean) / self._scale
        start = len(self._columns)
        for category, index in zip(self.categories, self._index):
            value = values[category.column]
            level = index.get(category.fill if value is None or value != value else value, -1)  # NaN != NaN
            if level >= 0:
                out[start + level] = 1.0
            start += len(index)
        return out


FastTransform = Preprocessing  # the name models saved by earlier versions refer to


def _from_earlier(state: dict) -> dict:
    numbers = []
    if state["numeric"] is not None:
        columns, medians, mean, scale = state["numeric"]
        numbers = [NumberInput(c, float(medians[i]), None if mean is None else float(mean[i]),
                               None if scale is None else float(scale[i])) for i, c in enumerate(columns)]
    categories = []
    for column, index, fill_code in state["categories"]:
        levels = tuple(sorted(index, key=index.get))
        categories.append(CategoryInput(column, levels, levels[fill_code] if fill_code >= 0 else "missing"))
    return {"numbers": numbers, "categories": categories}


def compile_transform(prep) -> Preprocessing | None:
    """The Preprocessing that `prep` (make_preprocessor's, fitted) learned, or None for any
    other layout (then the pipeline is used as is, and the model has no SQL form)."""
    numbers, categories, order = [], [], []
    for name, transformer, columns in prep.transformers_:
        if name == "remainder" and transformer == "drop" or len(columns) == 0:
            continue
        order.append(name)
        steps = dict(getattr(transformer, "steps", []))
        if name == "num" and set(steps) <= {"simpleimputer", "standardscaler"} and "simpleimputer" in steps:
            numbers = _numbers(list(columns), steps)
            if numbers is None:
                return None
        elif name == "cat" and set(steps) == {"simpleimputer", "onehotencoder"} and \
                _plain_encoder(steps["onehotencoder"]):
            fill = steps["simpleimputer"].fill_value
            categories = [CategoryInput(column, tuple(levels), fill)
                          for column, levels in zip(columns, steps["onehotencoder"].categories_)]
        else:
            return None
    if order not in (["num"], ["cat"], ["num", "cat"]):
        return None  # the outputs would come in another order
    return Preprocessing(numbers, categories)


def _numbers(columns: list[str], steps: dict) -> list[NumberInput] | None:
    medians = steps["simpleimputer"].statistics_
    if np.isnan(medians).any():
        return None  # an all-missing column, which the imputer drops from its output
    scaler = steps.get("standardscaler")
    return [NumberInput(c, float(medians[i]), None if scaler is None else float(scaler.mean_[i]),
                        None if scaler is None else float(scaler.scale_[i])) for i, c in enumerate(columns)]


def _plain_encoder(encoder) -> bool:
    return encoder.drop is None and encoder.handle_unknown == "ignore" and \
        getattr(encoder, "_infrequent_enabled", False) is False
