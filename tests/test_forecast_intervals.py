"""Prediction intervals for forecasting models that give none: conformal, from the candidate's
own rolling-origin errors, scaled per series and pooled per step."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import cli, write_card

pytest.importorskip("statsforecast")

HORIZON, SEASON, SIGMA = 48, 24, 5.0

NOISE = """
[problem]
task = "forecast"
[data]
source = "noise.parquet"
id = "series"
time = "hour"
target = "value"
[forecast]
horizon = 48
season_length = 24
windows = 2
level = [80, 95]
[evaluate]
bootstrap = 100
[budget]
total = "60s"
[ladder]
only = ["window_average"]
"""


def noise(count: int, length: int, seed: int = 0) -> list[np.ndarray]:
    """White noise around a level of 100 (standard deviation SIGMA)."""
    rng = np.random.default_rng(seed)
    return [100 + rng.normal(0, SIGMA, length) for _ in range(count)]


def test_window_average_gets_intervals_as_wide_as_theory_says_and_they_hold_their_share(tmp_path):
    """On white noise the average of the last 24 values misses by a normal error of variance
    sigma^2 (1 + 1/24): its 80 % and 95 % intervals are +- 1.2816 and 1.9600 of that."""
    values = noise(300, 400)
    rows = pd.DataFrame({"series": np.repeat([f"s{k}" for k in range(300)], 400),
                         "hour": np.tile(np.arange(400), 300), "value": np.concatenate(values)})
    rows.to_parquet(tmp_path / "noise.parquet", index=False)
    write_card(tmp_path, NOISE)
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = next((tmp_path / "runs").iterdir())
    holdout = pickle.loads((run_dir / "models" / "window_average.train.pkl").read_bytes())
    coverage = json.loads((run_dir / "facts.json").read_text())["coverage"]["window_average"]
    spread = SIGMA * np.sqrt(1 + 1 / SEASON)
    for level, z, share in ((80.0, 1.2816, (0.76, 0.84)), (95.0, 1.9600, (0.93, 0.97))):
        low, high = holdout.bounds[level]
        assert np.mean(high - low) / 2 == pytest.approx(z * spread, rel=0.07)
        assert share[0] <= coverage[str(level)] <= share[1]
    done = cli("predict", run_dir.name, "window_average", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert (out["lo_95"] < out["lo_80"]).all() and (out["lo_80"] < out["prediction"]).all()
    assert (out["prediction"] < out["hi_80"]).all() and (out["hi_80"] < out["hi_95"]).all()


def series_of(values: list[np.ndarray]):
    from bakeoff.tasks.forecast.data import STEP, Series

    return Series([f"s{k}" for k in range(len(values))], values, [len(v) - 1 for v in values], STEP, [SEASON],
                  HORIZON, 2, [80.0, 95.0], "", sum(map(len, values)))


def test_the_holdouts_intervals_never_see_the_holdout_and_the_final_ones_learn_from_it():
    from bakeoff.tasks.forecast.evaluate import interval_bounds
    from bakeoff.tasks.forecast.ladder import WindowAverage

    candidate = WindowAverage(seasons=(SEASON,))
    widths = []
    for wild in (False, True):  # the same series, their holdouts calm or wild
        values = noise(40, 300)
        if wild:
            values = [np.concatenate([v[:-HORIZON], 100 + 50 * (v[-HORIZON:] - 100)]) for v in values]
        data = series_of(values)
        windows = candidate.cross_validate(values, HORIZON, 3)
        holdout, final = interval_bounds(candidate, data, values, windows, candidate.forecast(values, HORIZON))
        widths.append([np.mean(b[95.0][1] - b[95.0][0]) for b in (holdout, final)])
    (calm_holdout, calm_final), (wild_holdout, wild_final) = widths
    assert wild_holdout == pytest.approx(calm_holdout)
    assert wild_final > 5 * calm_final  # the wild holdout's errors are a third of what the final ones learn from


def test_a_model_with_intervals_of_its_own_keeps_them():
    from bakeoff.tasks.forecast.evaluate import interval_bounds
    from bakeoff.tasks.forecast.ladder import SeasonalNaive

    values = noise(10, 300)
    candidate = SeasonalNaive(seasons=(SEASON,))
    windows = candidate.cross_validate(values, HORIZON, 3, (80.0, 95.0))
    final = candidate.forecast(values, HORIZON, (80.0, 95.0))
    holdout, ends = interval_bounds(candidate, series_of(values), values, windows, final)
    assert np.array_equal(holdout[80.0][1], windows.bounds[80.0][1][:, -1])
    assert all(np.array_equal(ends[k][side], final.bounds[k][side]) for k in (80.0, 95.0) for side in (0, 1))
