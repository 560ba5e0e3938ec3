"""Values as JSON holds them, for result.json, facts.json and the keys of reviewed rows."""

from __future__ import annotations

import math

import numpy as np


def plain(value: object) -> object:
    """numpy scalars as Python ones, NaN as None, tuples as lists, anything else JSON has no
    word for as its text.

    >>> plain(np.int64(3)), plain(float("nan")), plain((1, np.float32(0.5))), plain(np.datetime64("2024-01-02"))
    (3, None, [1, 0.5], '2024-01-02')
    """
    if isinstance(value, (np.integer, np.floating)):  # np.bool_ stays text: reviewed rows' keys depend on it
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)
