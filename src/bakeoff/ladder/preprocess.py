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
