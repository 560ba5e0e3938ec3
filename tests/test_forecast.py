"""Forecasting: the M4 figures, a run from card to forecasts, per-series choice, bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, cli, write_card

pytest.importorskip("statsforecast")

M4 = REPO / "examples" / "m4_hourly"
HORIZON, SEASON = 48, 24


@pytest.fixture(scope="module")
def m4() -> pd.DataFrame:
    return pd.read_parquet(M4 / "m4_hourly.parquet")


def official_errors(values: np.ndarray, forecast: np.ndarray) -> tuple[float, float]:
    """sMAPE and MASE of one series' last 48 values, as the M4 organisers' R code computes them."""
    train, test = values[:-HORIZON], values[-HORIZON:]
    smape = np.mean(200 * np.abs(test - forecast) / (np.abs(test) + np.abs(forecast)))
    scale = np.mean(np.abs(train[SEASON:] - train[:-SEASON]))
    return smape, np.mean(np.abs(test - forecast)) / scale


def test_seasonal_naive_and_naive_reproduce_the_published_m4_hourly_scores():
    from bakeoff.core.card import load_card
    from bakeoff.tasks.forecast.data import prepare
    from bakeoff.tasks.forecast.ladder import Naive, SeasonalNaive
    from bakeoff.tasks.forecast.metrics import series_scores

    series = prepare(load_card(M4 / "bakeoff.toml"))
    assert series.count == 414 and series.horizon == HORIZON and series.season == SEASON
    published = {SeasonalNaive: (13.912, 1.193), Naive: (43.003, 11.608)}  # M4 paper, Hourly
    for cls, (smape, mase) in published.items():
        forecasts = cls(seasons=(SEASON,)).fit(series.training(), horizon=HORIZON).mean
        scores = [series_scores(name, series.holdout(), forecasts, series.training(), SEASON).mean()
                  for name in ("smape", "mase")]
        assert [round(s, 3) for s in scores] == [smape, mase], cls.name


def write_series(folder: Path, m4: pd.DataFrame, count: int = 16, keep: int = 600) -> Path:
    """The first `count` M4 series, each cut to its last `keep` hours, as folder/series.parquet."""
    ids = sorted(m4["series"].unique())[:count]
    rows = m4[m4["series"].isin(ids)].groupby("series").tail(keep)
    path = folder / "series.parquet"
    rows.to_parquet(path, index=False)
    return path


CARD = """
[problem]
name = "hourly test"
task = "forecast"
[data]
source = "series.parquet"
id = "series"
time = "hour"
target = "value"
[forecast]
horizon = 48
season_length = [24, 168]
windows = 2
[evaluate]
bootstrap = 200
[budget]
total = "90s"
per_candidate = "40s"
[ladder]
only = ["naive", "seasonal_naive", "ses", "theta", "global_lightgbm"]
"""


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory, m4):
    """16 M4 series, five candidates, tracked in MLflow (the tests below read its outputs)."""
    folder = tmp_path_factory.mktemp("forecast")
    write_series(folder, m4)
    write_card(folder, CARD)
    done = cli("run", "bakeoff.toml", cwd=folder)
    assert done.returncode == 0, done.stderr
    run_dir = next((folder / "runs").iterdir())
    return folder, run_dir, json.loads((run_dir / "result.json").read_text())


def test_a_forecast_run_scores_every_candidate_on_the_holdout_it_never_saw(forecast_run, m4):
    folder, run_dir, result = forecast_run
    rows = {r["name"]: r for r in result["candidates"]}
    assert result["task"] == "forecast" and result["metric"] == "mase"
    assert all(r["status"] == "ok" for r in rows.values()), {n: (r["status"], r.get("error")) for n, r in rows.items()}
    frame = pd.read_parquet(folder / "series.parquet")
    last_day = {key: g["value"].to_numpy(float)[-HORIZON - SEASON:-HORIZON] for key, g in frame.groupby("series")}
    holdout = [official_errors(g["value"].to_numpy(float), np.tile(last_day[key], 2))[1]
               for key, g in frame.groupby("series")]
    assert rows["seasonal_naive"]["holdout_score"] == pytest.approx(np.mean(holdout), rel=1e-9)
    low, high = rows["seasonal_naive"]["score_ci"]
    assert low <= rows["seasonal_naive"]["score"] <= high


def test_each_series_gets_the_simplest_candidate_within_the_tolerance_of_its_best(forecast_run):
    _, run_dir, result = forecast_run
    rungs = {r["name"]: r["rung"] for r in result["candidates"]}
    choice = pd.read_csv(run_dir / "selection.csv")
    assert len(choice) == 16
    assert (choice["chosen_score"] <= choice["best_score"] * (1 + result["tolerance"]) + 1e-12).all()
    assert all(rungs[c] <= rungs[b] for c, b in zip(choice["chosen"], choice["best"]))
    page = (run_dir / "report.html").read_text()
    assert "One model per series" in page and "of your series" in page
    fit = {r["name"]: r["fit_seconds"] for r in result["candidates"]}
    wins = choice["chosen"].value_counts()  # a model per series fits its own; the global one learns from all
    mix = sum(fit[name] if name == "global_lightgbm" else fit[name] * n / 16 for name, n in wins.items())
    facts = json.loads((run_dir / "facts.json").read_text())
    assert facts["selection"]["fit_seconds"] == pytest.approx(mix, rel=1e-3)
    assert facts["singles"]["best"]["fit_seconds"] == pytest.approx(fit[result["best"]], rel=1e-3)


def test_forecasts_come_per_series_from_the_chosen_candidate_or_from_one_named(forecast_run):
    folder, run_dir, _ = forecast_run
    done = cli("predict", run_dir.name, "seasonal_naive", "-o", "naive.csv", cwd=folder)
    assert done.returncode == 0, done.stderr
    forecasts = pd.read_csv(folder / "naive.csv", dtype={"id": str})
    frame = pd.read_parquet(folder / "series.parquet")
    for key, group in frame.groupby("series"):
        values, hours = group["value"].to_numpy(float), group["hour"].to_numpy()
        mine = forecasts[forecasts["id"] == key]
        assert mine["time"].tolist() == list(range(hours[-1] + 1, hours[-1] + 1 + HORIZON))
        assert np.allclose(mine["prediction"], np.tile(values[-SEASON:], 2))  # the last day, twice
        assert (mine["lo_80"] <= mine["prediction"]).all() and (mine["prediction"] <= mine["hi_95"]).all()
    done = cli("predict", run_dir.name, "recommended", "-o", "chosen.csv", cwd=folder)
    assert done.returncode == 0, done.stderr
    chosen = pd.read_csv(folder / "chosen.csv", dtype={"id": str}).groupby("id")["candidate"].first()
    selection = pd.read_csv(run_dir / "selection.csv", dtype={"id": str}).set_index("id")["chosen"]
    assert chosen.sort_index().tolist() == selection.sort_index().tolist()


def test_a_candidate_that_hangs_is_stopped_and_the_others_finish(tmp_path, m4):
    write_series(tmp_path, m4, count=6)
    (tmp_path / "hang.py").write_text(textwrap.dedent("""
        import time
        from bakeoff.tasks.forecast.ladder import ForecastCandidate

        class Hang(ForecastCandidate):
            name, rung, family = "hang", 1, "test"

            def model(self):
                time.sleep(600)
    """))
    card = CARD.replace('only = ["naive", "seasonal_naive", "ses", "theta", "global_lightgbm"]',
                        'only = ["naive", "seasonal_naive"]\nextra = ["hang:Hang"]')
    write_card(tmp_path, card.replace('total = "90s"', 'total = "20s"').replace('"40s"', '"6s"'))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(next((tmp_path / "runs").iterdir()).joinpath("result.json").read_text())
    status = {r["name"]: r["status"] for r in result["candidates"]}
    assert status == {"naive": "ok", "seasonal_naive": "ok", "hang": "timeout"}
    assert "hang" in result["reason"]


def test_a_candidate_that_fails_on_some_series_forecasts_them_as_seasonal_naive_and_says_how_many(tmp_path, m4):
    path = write_series(tmp_path, m4, count=6, keep=400)
    frame = pd.read_parquet(path)
    frame.loc[frame["series"].isin(["H10", "H100"]), "value"] += 1e7  # the model below refuses these two
    frame.to_parquet(path, index=False)
    (tmp_path / "picky.py").write_text(textwrap.dedent("""
        from statsforecast.models import Naive
        from bakeoff.tasks.forecast.ladder import ForecastCandidate

        class Refuses(Naive):
            def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
                if y.max() > 1e6:
                    raise ValueError("too large")
                return super().forecast(y, h, X, X_future, level, fitted)

        class Picky(ForecastCandidate):
            name, rung, family = "picky", 1, "test"

            def model(self):
                return Refuses()
    """))
    write_card(tmp_path, CARD.replace('only = ["naive", "seasonal_naive", "ses", "theta", "global_lightgbm"]',
                                      'only = ["naive", "seasonal_naive"]\nextra = ["picky:Picky"]'))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = next((tmp_path / "runs").iterdir())
    result = json.loads((run_dir / "result.json").read_text())
    assert any(note.startswith("picky failed on 2 of 6 series") for note in result["notes"]), result["notes"]
    rows = {r["name"]: r for r in result["candidates"]}
    assert rows["picky"]["status"] == "ok"
    done = cli("predict", run_dir.name, "picky", "-o", "picky.csv", cwd=tmp_path)
    forecasts = pd.read_csv(tmp_path / "picky.csv", dtype={"id": str})
    for key, group in frame.groupby("series"):
        mine, values = forecasts[forecasts["id"] == key], group["value"].to_numpy(float)
        if key in ("H10", "H100"):  # seasonal naive: the last day, twice, and labelled so
            assert np.allclose(mine["prediction"], np.tile(values[-SEASON:], 2))
            assert set(mine["candidate"]) == {"seasonal_naive (picky failed)"}
        else:  # naive: the last value
            assert np.allclose(mine["prediction"], values[-1]) and set(mine["candidate"]) == {"picky"}


def long_rows(days: int = 60, series: int = 3, gap: bool = False) -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    rng = np.random.default_rng(0)
    frames = [pd.DataFrame({"store": f"s{k}", "date": dates.strftime("%Y-%m-%d"),
                            "units": 20 + 5 * np.sin(np.arange(days) * 2 * np.pi / 7) + rng.normal(0, 1, days)})
              for k in range(series)]
    rows = pd.concat(frames, ignore_index=True)
    return rows.drop(index=[10, 11]) if gap else rows


DAILY = """
[problem]
task = "forecast"
[data]
source = "daily.csv"
id = "store"
time = "date"
target = "units"
[forecast]
horizon = 7
{extra}
[budget]
total = "30s"
[ladder]
only = ["naive", "seasonal_naive"]
"""


def test_daily_dates_give_a_weekly_season_and_filled_gaps_are_noted(tmp_path):
    long_rows(gap=True).to_csv(tmp_path / "daily.csv", index=False)
    write_card(tmp_path, DAILY.format(extra='fill = "zero"'))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = next((tmp_path / "runs").iterdir())
    result = json.loads((run_dir / "result.json").read_text())
    assert any("gaps filled with zeros" in note for note in result["notes"])
    done = cli("predict", run_dir.name, "seasonal_naive", cwd=tmp_path)
    forecasts = pd.read_csv(pd.io.common.StringIO(done.stdout))
    assert forecasts["time"].iloc[0] == "2024-03-01"  # the day after the last of 60, as the file writes its dates
    daily = long_rows()
    last_week = daily[daily["store"] == "s1"]["units"].to_numpy()[-7:]
    assert np.allclose(forecasts[forecasts["id"] == "s1"]["prediction"], last_week)  # season 7, inferred


@pytest.mark.parametrize("change, words", [
    (lambda rows: pd.concat([rows, rows.head(1)]), ["repeat", "(store, date)", "(s0, 2024-01-01)"]),
    (lambda rows: rows.assign(date="soon"), ["not dates", "'date'"]),
    (lambda rows: rows.drop(index=[5]), ["missing time steps (e.g. 2024-01-06)", "fill"]),
    (lambda rows: rows.assign(units="many"), ["not numeric", "'units'"]),
    (lambda rows: rows.groupby("store").head(12), ["shorter than", "horizon to 3 or less (5 with windows = 1)"]),
])
def test_bad_series_are_refused_in_one_line_before_anything_is_written(tmp_path, change, words):
    change(long_rows()).to_csv(tmp_path / "daily.csv", index=False)
    write_card(tmp_path, DAILY.format(extra=""))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    line = done.stderr.strip()
    assert done.returncode == 2 and "\n" not in line and "Traceback" not in line, done.stderr
    assert all(word in line for word in words), line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("card, words", [
    (DAILY.replace("[forecast]\nhorizon = 7", ""), ["[forecast] is missing", "horizon"]),
    (DAILY.replace('task = "forecast"', 'task = "regression"'), ["[forecast] is not for task"]),
    (DAILY.replace("horizon = 7", "horizon = 0"), ["[forecast] horizon", "at least 1"]),
    (DAILY.replace("horizon = 7", "horizon = 7\nseason_length = [0]"), ["season_length", "whole number"]),
])
def test_card_mistakes_in_forecast_sections_are_one_line(tmp_path, card, words):
    long_rows().to_csv(tmp_path / "daily.csv", index=False)
    write_card(tmp_path, card.format(extra=""))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    line = done.stderr.strip()
    assert done.returncode == 2 and "\n" not in line, done.stderr
    assert all(word in line for word in words), line


def test_the_mlflow_models_forecast_the_series_asked_for_as_bakeoff_predict_does(forecast_run, tmp_path):
    import mlflow.pyfunc

    folder, run_dir, result = forecast_run
    mlflow.set_tracking_uri(f"sqlite:///{folder / '.bakeoff' / 'mlflow.db'}")
    selection = pd.read_csv(run_dir / "selection.csv", dtype={"id": str})
    assert selection["chosen"].nunique() >= 2  # a real mix: series forecast by different candidates
    wanted = selection.groupby("chosen")["id"].first().tolist()
    models = {"seasonal_naive": next(r["model_uri"] for r in result["candidates"] if r["name"] == "seasonal_naive"),
              "recommended": result["recommended_model_uri"]}
    for candidate, uri in models.items():
        served = mlflow.pyfunc.load_model(uri).predict(pd.DataFrame({"id": wanted}))
        cli("predict", run_dir.name, candidate, "-o", str(tmp_path / "all.csv"), cwd=folder)
        offline = pd.read_csv(tmp_path / "all.csv", dtype={"id": str, "time": str})
        offline = offline[offline["id"].isin(wanted)].reset_index(drop=True)
        assert sorted(served["id"].unique()) == sorted(wanted)
        assert served["candidate"].tolist() == offline["candidate"].tolist()
        assert np.allclose(served["prediction"], offline["prediction"])
        assert np.allclose(served["hi_95"], offline["hi_95"])


def test_the_python_api_gives_the_same_forecasts_and_refuses_data(forecast_run):
    import bakeoff
    from bakeoff.errors import ConfigError

    folder, run_dir, _ = forecast_run
    result = bakeoff.open_run(run_dir)
    mine = result.predict()
    selection = pd.read_csv(run_dir / "selection.csv", dtype={"id": str})
    assert mine.groupby("id")["candidate"].first().sort_index().tolist() == selection.sort_values("id")["chosen"].tolist()
    with pytest.raises(ConfigError, match="takes no data"):
        result.predict(pd.DataFrame({"id": ["H1"]}))


def test_init_writes_a_forecast_card_that_runs(tmp_path):
    long_rows().to_csv(tmp_path / "daily.csv", index=False)
    done = cli("init", "daily.csv", "--task", "forecast", "--id", "store", "--time", "date", "--target", "units",
               "--horizon", "7", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    card = (tmp_path / "bakeoff.toml").read_text()
    assert 'task = "forecast"' in card and "horizon = 7" in card
    card = card.replace('# [ladder]\n# only = ["naive", "seasonal_naive", "theta", "auto_ets", "global_lightgbm"]',
                        '[ladder]\nonly = ["naive", "seasonal_naive"]').replace('total = "5m"', 'total = "20s"')
    (tmp_path / "bakeoff.toml").write_text(card)
    assert cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path).returncode == 0
    missing = cli("init", "daily.csv", "--task", "forecast", "--target", "units", "-o", "other.toml", cwd=tmp_path)
    assert missing.returncode == 2 and "--id, --time, --horizon" in missing.stderr
    assert not (tmp_path / "other.toml").exists()
    long_rows().assign(region="north").to_csv(tmp_path / "keys.csv", index=False)
    done = cli("init", "keys.csv", "--task", "forecast", "--id", "region,store", "--time", "date", "--target",
               "units", "--horizon", "7", "-o", "keys.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert 'id = ["region", "store"]' in (tmp_path / "keys.toml").read_text()


def test_intermittent_series_bring_croston_and_tsb_and_regular_ones_do_not(tmp_path):
    rows = long_rows(days=70)
    rng = np.random.default_rng(1)
    rows["units"] = np.where(rng.random(len(rows)) < 0.6, 0.0, rng.integers(1, 5, len(rows)))  # 60 % zeros
    rows.to_csv(tmp_path / "daily.csv", index=False)
    write_card(tmp_path, DAILY.format(extra="").replace('only = ["naive", "seasonal_naive"]',
                                                        'only = ["naive", "theta", "croston", "tsb"]'))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = {r["name"] for r in json.loads(next((tmp_path / "runs").iterdir()).joinpath("result.json").read_text())["candidates"]}
    assert {"croston", "tsb"} <= names
    long_rows(days=70).to_csv(tmp_path / "daily.csv", index=False)
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    latest = sorted((tmp_path / "runs").iterdir())[-1]
    names = {r["name"] for r in json.loads((latest / "result.json").read_text())["candidates"]}
    assert done.returncode == 0 and not {"croston", "tsb"} & names and "theta" in names


def test_counts_get_a_floor_of_zero_from_init_and_no_forecast_or_bound_goes_below_it(tmp_path):
    """Unit sales with 60 % zeros: naive's normal interval around a last value of 0 reaches below
    zero, as does the global model's on such series; with the card's floor none does."""
    rows = long_rows(days=70)
    rng = np.random.default_rng(1)
    rows["units"] = np.where(rng.random(len(rows)) < 0.6, 0.0, rng.integers(1, 5, len(rows)))
    rows.to_csv(tmp_path / "daily.csv", index=False)
    done = cli("init", "daily.csv", "--task", "forecast", "--id", "store", "--time", "date", "--target", "units",
               "--horizon", "7", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    card = (tmp_path / "bakeoff.toml").read_text()
    assert "\nfloor = 0 " in card  # the target is never negative: written, not commented out
    card = card.replace('# [ladder]\n# only = ["naive", "seasonal_naive", "theta", "auto_ets", "global_lightgbm"]',
                        '[ladder]\nonly = ["naive", "ses", "croston"]').replace('total = "5m"', 'total = "40s"')
    lowest = {}
    for floor in ("floor = 0 ", "# floor = 0 "):
        (tmp_path / "bakeoff.toml").write_text(card.replace("\nfloor = 0 ", "\n" + floor))
        done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        run_id = sorted((tmp_path / "runs").iterdir())[-1].name
        for name in ("naive", "ses", "croston"):
            out = pd.read_csv(pd.io.common.StringIO(cli("predict", run_id, name, cwd=tmp_path).stdout))
            lowest[floor, name] = out[["prediction", "lo_80", "lo_95"]].min().min()
    assert all(lowest["floor = 0 ", name] >= 0 for name in ("naive", "ses", "croston")), lowest
    assert lowest["# floor = 0 ", "naive"] < 0  # without it, the interval reaches below zero


def test_interval_coverage_is_the_share_of_holdout_actuals_inside_the_interval(forecast_run):
    import pickle

    folder, run_dir, _ = forecast_run
    facts = json.loads((run_dir / "facts.json").read_text())
    holdout = pickle.loads((run_dir / "models" / "seasonal_naive.train.pkl").read_bytes())
    frame = pd.read_parquet(folder / "series.parquet")
    actual = np.stack([g["value"].to_numpy(float)[-HORIZON:] for _, g in frame.groupby("series")])
    for name in ("seasonal_naive", "global_lightgbm"):  # the model's own intervals; conformal ones
        made = pickle.loads((run_dir / "models" / f"{name}.train.pkl").read_bytes())
        for level in (80.0, 95.0):
            low, high = made.bounds[level]
            assert np.isfinite(low).all() and (low < made.mean).all() and (made.mean < high).all()
            inside = np.mean((actual >= low) & (actual <= high))
            assert facts["coverage"][name][str(level)] == pytest.approx(inside)
    assert np.allclose(holdout.mean, np.stack([np.tile(g["value"].to_numpy(float)[-HORIZON - SEASON:-HORIZON], 2)
                                               for _, g in frame.groupby("series")]))


def run_with_slow_candidate(folder: Path, m4: pd.DataFrame, name: str, *, rung: int, seconds_per_series: float):
    """80 M4 series (400 hours each) raced by naive, seasonal naive and `name`: seasonal naive's
    forecasts at `seconds_per_series` a series and window, under a 30 s budget of 12 s slices."""
    write_series(folder, m4, count=80, keep=400)
    (folder / f"{name}.py").write_text(textwrap.dedent(f"""
        import time
        from bakeoff.tasks.forecast.ladder import SeasonalNaive

        class Slow(SeasonalNaive):
            name, rung, family = "{name}", {rung}, "test"

            def cross_validate(self, series, horizon, windows, levels=()):
                time.sleep({seconds_per_series} * len(series))
                return super().cross_validate(series, horizon, windows, levels)
    """))
    card = CARD.replace('only = ["naive", "seasonal_naive", "ses", "theta", "global_lightgbm"]',
                        f'only = ["naive", "seasonal_naive"]\nextra = ["{name}:Slow"]')
    write_card(folder, card.replace('total = "90s"', 'total = "30s"').replace('"40s"', '"12s"'))
    return cli("run", "bakeoff.toml", "--no-track", cwd=folder)


def test_a_candidate_too_slow_for_every_series_is_judged_on_a_sample_and_never_recommended(tmp_path, m4):
    done = run_with_slow_candidate(tmp_path, m4, "slow", rung=1, seconds_per_series=0.1)
    assert done.returncode == 0, done.stderr
    run_dir = next((tmp_path / "runs").iterdir())
    result = json.loads((run_dir / "result.json").read_text())
    slow = next(r for r in result["candidates"] if r["name"] == "slow")
    assert slow["status"] == "ok" and 30 <= slow["fold_fit_rows"] < 80, slow
    assert any("evaluated on a sample of the series" in note and "slow" in note for note in result["notes"])
    assert result["recommended"] != "slow" and "not compared" in result["reason"] and "slow" in result["reason"]
    choice = pd.read_csv(run_dir / "selection.csv", dtype={"id": str})
    assert (choice["chosen"] == "slow").sum() <= slow["fold_fit_rows"]
    done = cli("predict", run_dir.name, "slow", "-o", "slow.csv", cwd=tmp_path)
    forecasts = pd.read_csv(tmp_path / "slow.csv", dtype={"id": str})
    frame = pd.read_parquet(tmp_path / "series.parquet")
    for key, group in frame.groupby("series"):  # sampled or not, every series: its last day, twice
        assert np.allclose(forecasts[forecasts["id"] == key]["prediction"], np.tile(group["value"].to_numpy(float)[-SEASON:], 2))
    assert forecasts["lo_80"].isna().sum() == HORIZON * (80 - slow["fold_fit_rows"])  # no interval outside the sample


def test_a_candidate_too_slow_even_for_its_quick_pass_is_skipped_with_what_it_would_need(tmp_path, m4):
    """One series takes it 1 s a window: its quick pass would need 19 s of a 6.7 s slice. It is
    judged on one series instead, and skipped for what its smallest sample (30 series, the two
    windows, the holdout and the forecast: about 120 s) would need, not cut off as a timeout."""
    done = run_with_slow_candidate(tmp_path, m4, "crawl", rung=2, seconds_per_series=1.0)
    assert done.returncode == 0, done.stderr
    result = json.loads((next((tmp_path / "runs").iterdir()) / "result.json").read_text())
    crawl = next(r for r in result["candidates"] if r["name"] == "crawl")
    assert crawl["status"] == "skipped", crawl
    number, unit = crawl["error"].split("needs about ")[1].split()[:2]
    assert unit == "min" and 1.9 <= float(number) <= 2.25, crawl["error"]
    assert "raise [budget] per_candidate to 3m" in crawl["error"] and "on 1 series" in crawl["error"]
    assert {r["status"] for r in result["candidates"] if r["name"] != "crawl"} == {"ok"}


@pytest.mark.parametrize("values, words", [
    (lambda rows: rows.assign(date=np.arange(len(rows)) * 1.5), ["float64 numbers", "dates"]),
    (lambda rows: rows.assign(date=rows["date"].where(rows.index != 3)), ["empty values"]),
])
def test_times_that_are_not_a_calendar_are_refused_in_one_line(tmp_path, values, words):
    values(long_rows()).to_csv(tmp_path / "daily.csv", index=False)
    write_card(tmp_path, DAILY.format(extra=""))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    line = done.stderr.strip()
    assert done.returncode == 2 and "\n" not in line and all(w in line for w in words), done.stderr


def test_timestamps_across_a_daylight_saving_change_are_one_calendar(tmp_path):
    rows = long_rows(days=60)
    local = pd.date_range("2024-02-20", periods=60, freq="D", tz="Europe/Berlin")  # +01:00, then +02:00
    rows["date"] = np.tile([t.isoformat() for t in local], 3)
    rows.to_csv(tmp_path / "daily.csv", index=False)
    write_card(tmp_path, DAILY.format(extra=""))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_a_series_no_candidate_could_score_gets_the_simplest_candidate():
    from bakeoff.tasks.forecast.selection import best_per_series, choose

    scores = {"naive": np.array([1.0, np.nan]), "theta": np.array([0.5, np.nan])}
    assert choose(scores, {"naive": (0, 1), "theta": (1, 3)}, 0.0).tolist() == ["theta", "naive"]
    assert best_per_series(scores).tolist() == ["theta", "naive"]


def test_init_refuses_forecast_flags_on_a_table(tmp_path):
    long_rows().to_csv(tmp_path / "daily.csv", index=False)
    done = cli("init", "daily.csv", "--target", "units", "--time", "date", cwd=tmp_path)
    assert done.returncode == 2 and "--time are for forecasts" in done.stderr and "--task forecast" in done.stderr
    assert not (tmp_path / "bakeoff.toml").exists()


def test_the_forecast_report_shows_the_per_series_answer_in_a_browser(forecast_run):
    from browser import chromium_page, screenshot

    _, run_dir, result = forecast_run
    facts = json.loads((run_dir / "facts.json").read_text())
    rungs = {r["name"]: r["rung"] for r in result["candidates"]}
    winning = {rungs[name] for name in facts["selection"]["by_candidate"]}
    shown = {rungs[s["candidate"]] for s in facts["samples"]}
    assert winning == shown and {"best", "typical", "worst"} <= {s["role"] for s in facts["samples"]}
    report = run_dir / "report.html"
    with chromium_page() as (page, watch):
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        screenshot(page, "report-forecast-test.png")
        answer = page.locator("#recommendation").inner_text()
        top, count = next(iter(facts["selection"]["by_candidate"].items()))
        assert answer.startswith(f"{top} is as good as anything else for {round(100 * count / 16)} % of your series")
        assert answer.endswith(f"For one model for every series: {result['recommended']}.")
        wins = page.locator("#wins tr")
        assert wins.count() == 1 + len(facts["selection"]["by_candidate"])  # a header, then a row per winner
        assert sum(int(wins.nth(i).locator("td").nth(1).inner_text()) for i in range(1, wins.count())) == 16
        assert page.locator("#coverage th").nth(1).inner_text().lower() == "80 % interval holds"  # shown in capitals
        assert page.locator("#series svg").count() == 1 and page.locator("#tradeoff svg").count() == 1
    assert watch.console_errors == [] and watch.page_errors == []
    assert watch.remote_requests() == [] and watch.requests == [report.as_uri()]


def test_series_keys_that_look_like_numbers_keep_their_leading_zeros(tmp_path):
    rows = long_rows()
    rows["store"] = rows["store"].map({"s0": "007", "s1": "010", "s2": "7"})
    rows.to_csv(tmp_path / "daily.csv", index=False)
    write_card(tmp_path, DAILY.format(extra=""))
    assert cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path).returncode == 0
    run_dir = next((tmp_path / "runs").iterdir())
    done = cli("predict", run_dir.name, "naive", cwd=tmp_path)
    assert sorted(pd.read_csv(pd.io.common.StringIO(done.stdout), dtype={"id": str})["id"].unique()) == ["007", "010", "7"]


def test_a_series_key_of_several_columns_names_each_series_by_all_of_them(tmp_path):
    rows = long_rows(series=4)
    rows["region"] = rows["store"].map({"s0": "north", "s1": "north", "s2": "south", "s3": "south"})
    rows["store"] = rows["store"].map({"s0": "a", "s1": "b", "s2": "a", "s3": "b"})  # "a" is in both regions
    rows.to_csv(tmp_path / "daily.csv", index=False)
    write_card(tmp_path, DAILY.format(extra="").replace('id = "store"', 'id = ["region", "store"]'))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = next((tmp_path / "runs").iterdir())
    done = cli("predict", run_dir.name, "naive", cwd=tmp_path)
    forecasts = pd.read_csv(pd.io.common.StringIO(done.stdout))
    assert list(forecasts.columns[:3]) == ["id", "region", "store"]
    assert sorted(forecasts["id"].unique()) == ["north/a", "north/b", "south/a", "south/b"]
    last = rows.groupby(["region", "store"])["units"].last()
    for (region, store), value in last.items():  # naive: each series' own last value, never another's
        mine = forecasts[(forecasts["region"] == region) & (forecasts["store"] == store)]
        assert len(mine) == 7 and np.allclose(mine["prediction"], value)
    rows.assign(store=rows["store"] + "/x").to_csv(tmp_path / "daily.csv", index=False)
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 2 and "'store'" in done.stderr and "joins" in done.stderr, done.stderr


def test_the_global_model_knows_each_steps_weekday_from_the_dates_whatever_day_a_series_starts(tmp_path):
    from bakeoff.core.card import load_card
    from bakeoff.tasks.forecast.data import prepare
    from bakeoff.tasks.forecast.fitting import _global, long_frame

    rows = long_rows()
    rows = rows.drop(index=rows.index[(rows["store"] == "s1")][:3])  # s1 starts on a Thursday, the others a Monday
    rows.to_csv(tmp_path / "daily.csv", index=False)
    series = prepare(load_card(write_card(tmp_path, DAILY.format(extra=""))))
    features = _global(None, [1], (7,), calendar=True).preprocess(long_frame(series.training(), series.starts))
    for k, first in enumerate(pd.to_datetime(rows.groupby("store")["date"].first())):
        mine = features[features["unique_id"] == features["unique_id"].unique()[k]]
        dates = first + pd.to_timedelta(mine["ds"] - series.starts[k], unit="D")
        assert ((mine["step_of_7"] - dates.dt.dayofweek) % 7 == 4).all()  # 1970-01-01, step 0, was a Thursday (3)
    plain = _global(None, [1], (7,), calendar=False).preprocess(long_frame(series.training()))
    assert "step_of_7" not in plain.columns  # no dates, no calendar: steps 1, 2, 3 of two series need not align


def test_interval_quantiles_looked_up_once_are_the_normal_quantiles():
    from scipy.stats import norm
    from statsforecast import utils

    from bakeoff.tasks.forecast.fitting import _quantiles_once

    _quantiles_once()  # statsforecast builds a scipy distribution per series for these; bakeoff once per levels
    assert np.allclose(utils._quantiles(np.array([80, 95])), norm.ppf([0.9, 0.975]), rtol=0, atol=1e-12)
    first = utils._quantiles(np.array([80]))
    first[0] = 0.0  # a caller changing its copy changes nothing for the next
    assert utils._quantiles(np.array([80]))[0] == pytest.approx(norm.ppf(0.9))
    assert np.allclose(utils._quantiles([90], "t", {"df": 4}), [2.131846786], atol=1e-8)  # others as statsforecast does


def test_a_served_forecasting_model_answers_each_series_as_bakeoff_predict(forecast_run, tmp_path):
    """Each series' own choice, promoted and served: a row naming a series gets its forecasts."""
    from test_serve import Server

    folder, run_dir, result = forecast_run
    done = cli("promote", run_dir.name, "recommended", "--name", "demand", cwd=folder)
    assert done.returncode == 0, done.stderr
    cli("predict", run_dir.name, "recommended", "-o", str(tmp_path / "all.csv"), cwd=folder)
    offline = pd.read_csv(tmp_path / "all.csv", dtype={"id": str, "time": str})
    selection = pd.read_csv(run_dir / "selection.csv", dtype={"id": str})
    wanted = selection.groupby("chosen")["id"].first().tolist()  # series of different candidates
    with Server(folder, name="demand") as server:
        served = server.predict([{"id": key} for key in wanted]).json()["predictions"]
        unknown = server.predict([{"id": "no-such-series"}])
        shown = server.client.get("/openapi.json").json()["paths"]["/v1/predict"]["post"]["requestBody"]
        example = server.client.post("/v1/predict", json=shown["content"]["application/json"]["example"])
        server.stop()
    assert example.status_code == 200, example.text  # /docs's example names one of the run's series
    for key, answer in zip(wanted, served):
        mine = offline[offline["id"] == key]
        assert answer["id"] == key and answer["candidate"] == mine["candidate"].iloc[0]
        assert [step["time"] for step in answer["forecasts"]] == mine["time"].tolist()
        assert np.allclose([step["prediction"] for step in answer["forecasts"]], mine["prediction"])
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"][-1] == "id"
