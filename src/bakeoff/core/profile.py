"""Reference profiles of the data a model learned from, for monitoring drift later: plain
summaries of a column of numbers (pure functions).

>>> number_profile(np.array([1.0, 2.0, np.nan, 3.0]))["mean"]
2.0
"""

from __future__ import annotations

import numpy as np

from bakeoff.errors import DataError

QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)


def number_profile(values: np.ndarray) -> dict:
    """Missing share, mean, standard deviation and quantiles of a column of numbers."""
    values = np.asarray(values, dtype=float)
    seen = values[~np.isnan(values)]
    return {"kind": "number", "missing": float(np.isnan(values).mean()) if len(values) else 0.0,
            "mean": float(seen.mean()) if len(seen) else None, "std": float(seen.std()) if len(seen) else None,
            "quantiles": dict(zip(map(str, QUANTILES), map(float, np.quantile(seen, QUANTILES)))) if len(seen) else {}}


def check_fingerprint(found: str, recorded: str) -> None:
    """A DataError when the data read now is not what the run learned from."""
    if found != recorded:
        raise DataError(f"the run's data changed since the run (sha256 {found[:12]}… is not {recorded[:12]}…), "
                        "so the reference profile would describe other rows; restore the data, or run the card "
                        "again and promote from the new run")
