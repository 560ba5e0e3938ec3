"""The preprocessing every sklearn candidate learns inside its own pipeline."""

from __future__ import annotations

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


class FastTransform:
    """The fitted preprocessor's transform in plain numpy: the same numbers, about 4x faster on
    a 1,000-row batch (scikit-learn's per-column validation costs more than the arithmetic).

    Built from the fitted ColumnTransformer of `make_preprocessor`; `compile_transform` returns
    None for any other layout, and the pipeline is used as is. Numbers: median for missing, then
    (x - mean) / scale. Categories: each distinct value looked up once (pd.factorize), a missing
    value as the imputer's fill level, an unseen one as all zeros (handle_unknown="ignore").
    """

    def __init__(self, numeric: tuple | None, categories: list[tuple[str, dict[str, int], int]]):
        self.numeric, self.categories = numeric, categories

    def __call__(self, X) -> np.ndarray:
        import pandas as pd

        parts = []
        if self.numeric is not None:
            columns, medians, mean, scale = self.numeric
            values = X[columns].to_numpy(dtype=float)
            values = np.where(np.isnan(values), medians, values)
            parts.append(values if mean is None else (values - mean) / scale)
        for column, index, fill_code in self.categories:
            codes, uniques = pd.factorize(X[column].to_numpy(dtype=object), use_na_sentinel=True)
            lookup = np.array([index.get(u, -1) for u in uniques] + [fill_code], dtype=np.int64)
            level = lookup[codes]  # the sentinel -1 picks the last entry: the fill level
            onehot = np.zeros((len(level), len(index)))
            known = np.flatnonzero(level >= 0)
            onehot[known, level[known]] = 1.0
            parts.append(onehot)
        return np.hstack(parts) if parts else np.empty((len(X), 0))


def compile_transform(prep) -> FastTransform | None:
    """A FastTransform equal to `prep.transform`, or None when prep is not make_preprocessor's."""
    numeric, categories, order = None, [], []
    for name, transformer, columns in prep.transformers_:
        if name == "remainder" and transformer == "drop" or len(columns) == 0:
            continue
        order.append(name)
        steps = dict(getattr(transformer, "steps", []))
        if name == "num" and set(steps) <= {"simpleimputer", "standardscaler"} and "simpleimputer" in steps:
            if np.isnan(steps["simpleimputer"].statistics_).any():
                return None  # an all-missing column, which the imputer drops from its output
            scaler = steps.get("standardscaler")
            numeric = (list(columns), steps["simpleimputer"].statistics_,
                       None if scaler is None else scaler.mean_, None if scaler is None else scaler.scale_)
        elif name == "cat" and set(steps) == {"simpleimputer", "onehotencoder"} and \
                _plain_encoder(steps["onehotencoder"]):
            fill = steps["simpleimputer"].fill_value
            for column, levels in zip(columns, steps["onehotencoder"].categories_):
                index = {level: i for i, level in enumerate(levels)}
                categories.append((column, index, index.get(fill, -1)))
        else:
            return None
    if order not in (["num"], ["cat"], ["num", "cat"]):
        return None  # the outputs would come in another order
    return FastTransform(numeric, categories)


def _plain_encoder(encoder) -> bool:
    return encoder.drop is None and encoder.handle_unknown == "ignore" and \
        getattr(encoder, "_infrequent_enabled", False) is False
