"""Loading and preparing real, dirty data: coercion, dates, ids, splits, sources."""

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import TELCO, make_classification_frame

from bakeoff.core.card import card_from_dict
from bakeoff.errors import DataError
from bakeoff.tasks.tabular.data import load_frame, prepare


def telco_card(**evaluate):
    return card_from_dict({"data": {"source": str(TELCO), "target": "Churn", "positive": "Yes",
                                    "id": "customerID"}, "evaluate": evaluate})


@pytest.fixture(scope="module")
def telco_dataset():
    return prepare(telco_card())


def test_telco_blank_total_charges_become_missing_numbers(telco_dataset):
    # SOURCE.md: TotalCharges holds a single space in 11 rows
    assert telco_dataset.X["TotalCharges"].dtype == float
    assert telco_dataset.X["TotalCharges"].isna().sum() == 11
    assert any("TotalCharges" in note and "11 blank" in note for note in telco_dataset.notes)


def test_id_is_never_a_feature_and_target_is_coded_with_positive_last(telco_dataset):
    assert "customerID" not in telco_dataset.X.columns and "Churn" not in telco_dataset.X.columns
    assert telco_dataset.classes == ["No", "Yes"]
    assert telco_dataset.y.sum() == 1869  # SOURCE.md: 1,869 Yes


def test_holdout_is_stratified_and_folds_cover_training_rows_once(telco_dataset):
    d = telco_dataset
    assert len(d.holdout_index) == round(0.2 * 7043)
    assert abs(d.y[d.holdout_index].mean() - d.y.mean()) < 0.005
    assert not set(d.train_index) & set(d.holdout_index)
    validated = np.concatenate([val for _, val in d.folds])
    assert sorted(validated) == list(range(len(d.train_index)))


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = prepare(telco_card()), prepare(telco_card()), prepare(telco_card(seed=1))
    assert np.array_equal(a.holdout_index, b.holdout_index)
    assert not np.array_equal(a.holdout_index, c.holdout_index)


def test_dates_are_expanded_and_time_orders_the_split(tmp_path):
    frame = make_classification_frame(200)
    frame["signup"] = pd.date_range("2024-01-01", periods=200, freq="D").strftime("%Y-%m-%d")
    frame = frame.sample(frac=1, random_state=0)  # the file is not in time order
    frame.to_csv(tmp_path / "d.csv", index=False)
    card = card_from_dict({"data": {"source": "d.csv", "target": "label", "time": "signup"},
                           "evaluate": {"folds": 3}}).with_base_dir(tmp_path)
    d = prepare(card)
    assert "signup" not in d.X.columns  # the time column orders the rows, it is not a feature
    ordered = frame.sort_values("signup").reset_index(drop=True)
    assert ordered["signup"].iloc[d.holdout_index].min() > ordered["signup"].iloc[d.train_index].max()
    assert all(train.max() < val.min() for train, val in d.folds)

    card = card_from_dict({"data": {"source": "d.csv", "target": "label"}}).with_base_dir(tmp_path)
    d = prepare(card)
    assert {"signup_year", "signup_month", "signup_day", "signup_weekday"} <= set(d.X.columns)
    assert any("signup: date (%Y-%m-%d) expanded" in note for note in d.notes)
    assert any("set [data] time = 'signup'" in note for note in d.notes)  # time order is a choice to offer


@pytest.mark.parametrize("style, fmt", [("us", "%m/%d/%Y"), ("european", "%d.%m.%Y")])
def test_a_text_time_column_is_ordered_as_dates_not_as_text(tmp_path, style, fmt):
    frame = make_classification_frame(120)
    dates = pd.date_range("2020-01-01", periods=120, freq="5D")
    frame["day"] = dates.strftime(fmt)  # '1/10/2020' sorts before '1/2/2020' as text
    frame.sample(frac=1, random_state=0).to_csv(tmp_path / "d.csv", index=False)
    card = card_from_dict({"data": {"source": "d.csv", "target": "label", "time": "day"},
                           "evaluate": {"folds": 3}}).with_base_dir(tmp_path)
    d = prepare(card)
    ordered = pd.read_csv(tmp_path / "d.csv")
    ordered = ordered.iloc[pd.to_datetime(ordered["day"], format=fmt).argsort(kind="stable")]
    holdout_days = pd.to_datetime(ordered["day"].iloc[d.holdout_index], format=fmt)
    train_days = pd.to_datetime(ordered["day"].iloc[d.train_index], format=fmt)
    assert holdout_days.min() > train_days.max()
    assert holdout_days.max() == dates.max()


def test_identifier_like_text_is_dropped_with_a_note(tmp_path):
    frame = make_classification_frame(300).assign(ref=[f"R{i:05d}" for i in range(300)])
    frame.to_csv(tmp_path / "d.csv", index=False)
    d = prepare(card_from_dict({"data": {"source": "d.csv", "target": "label"}}).with_base_dir(tmp_path))
    assert "ref" not in d.X.columns and any(note.startswith("ref: dropped") for note in d.notes)


def test_regression_target_must_be_numeric(tmp_path):
    make_classification_frame(100).to_csv(tmp_path / "d.csv", index=False)
    card = card_from_dict({"problem": {"task": "regression"},
                           "data": {"source": "d.csv", "target": "label"}}).with_base_dir(tmp_path)
    with pytest.raises(DataError, match='not a number in 100 of 100 rows .* task = "classification"'):
        prepare(card)


def test_csv_parquet_and_duckdb_give_the_same_rows(tmp_path):
    frame = make_classification_frame(150)
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE TABLE customers AS SELECT * FROM frame")
    sources = ["d.csv", "d.parquet", {"url": f"duckdb:///{tmp_path / 'w.duckdb'}",
                                      "query": "SELECT * FROM customers"}]
    loaded = [load_frame(card_from_dict({"data": {"source": s, "target": "label"}}).data.source, tmp_path)
              for s in sources]
    for other in loaded[1:]:
        pd.testing.assert_frame_equal(loaded[0].frame, other.frame, check_dtype=False)


def test_file_fingerprint_is_the_sha256_of_its_bytes(tmp_path):
    import hashlib

    make_classification_frame(50).to_csv(tmp_path / "d.csv", index=False)
    assert load_frame("d.csv", tmp_path).sha256 == hashlib.sha256((tmp_path / "d.csv").read_bytes()).hexdigest()


def test_bad_sql_names_the_url_without_its_password(tmp_path):
    import sqlite3

    sqlite3.connect(tmp_path / "x.db").close()
    with pytest.raises(DataError) as err:
        load_frame(card_from_dict({"data": {"source": {"url": "sqlite:///" + str(tmp_path / "x.db"),
                                                       "query": "SELECT * FROM missing"}, "target": "y"}}
                                  ).data.source, tmp_path)
    assert "the query on sqlite:///" in str(err.value) and "no such table" in str(err.value)


def test_a_holdout_smaller_than_the_class_count_is_not_stratified(tmp_path):
    frame = pd.DataFrame({"x": range(12), "label": ["a", "b", "c"] * 4})
    frame.to_csv(tmp_path / "d.csv", index=False)
    d = prepare(card_from_dict({"data": {"source": "d.csv", "target": "label"}, "evaluate": {"folds": 2}}
                               ).with_base_dir(tmp_path))
    assert len(d.holdout_index) == 2 and len(d.train_index) == 10


def test_time_folds_that_miss_a_class_are_refused(tmp_path):
    frame = make_classification_frame(120).assign(day=pd.date_range("2024-01-01", periods=120).astype(str))
    frame["label"] = ["no"] * 60 + ["yes", "no"] * 30  # no 'yes' at all in the first half
    frame.to_csv(tmp_path / "d.csv", index=False)
    card = card_from_dict({"data": {"source": "d.csv", "target": "label", "time": "day"},
                           "evaluate": {"folds": 4}}).with_base_dir(tmp_path)
    with pytest.raises(DataError, match="fold 1 trains on the earliest .* rows, which have no 'yes'"):
        prepare(card)


def test_a_target_that_is_one_value_once_stripped_is_refused(tmp_path):
    make_classification_frame(60).assign(label=["Yes", "Yes "] * 30).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match="single value .* once spaces are stripped"):
        prepare(card_from_dict({"data": {"source": "d.csv", "target": "label"}}).with_base_dir(tmp_path))


def test_time_ordered_tuning_never_sees_the_last_validation_fold(tmp_path):
    from bakeoff.tasks.tabular.evaluate import tuning_splits

    frame = make_classification_frame(300).assign(day=pd.date_range("2024-01-01", periods=300).astype(str))
    frame.to_csv(tmp_path / "d.csv", index=False)
    d = prepare(card_from_dict({"data": {"source": "d.csv", "target": "label", "time": "day"},
                                "evaluate": {"folds": 3}}).with_base_dir(tmp_path))
    (train, val), = tuning_splits(d, seed=0)
    assert train.max() < val.min() and val.max() < d.folds[-1][1].min()


def test_day_first_dates_keep_day_and_month_apart_at_predict_time_too():
    from bakeoff.tasks.tabular.schema import apply_schema, infer_schema

    train = pd.DataFrame({"shipped": ["25.07.2020", "12.04.2021", "03.01.2022"]})
    schema = infer_schema(train, [])
    new_rows = pd.DataFrame({"shipped": ["05.06.2023"]})  # on its own, ambiguous: 5 June, not May 6
    assert apply_schema(train, schema)["shipped_month"].tolist() == [7, 4, 1]
    assert apply_schema(new_rows, schema)[["shipped_day", "shipped_month"]].iloc[0].tolist() == [5, 6]


def test_database_paths_are_relative_to_the_card_and_must_exist(tmp_path, monkeypatch):
    frame = make_classification_frame(50)
    (tmp_path / "cards").mkdir()
    with duckdb.connect(str(tmp_path / "cards" / "shop.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT * FROM frame")
    monkeypatch.chdir(tmp_path)  # run from elsewhere: the path still starts at the card's folder
    source = {"url": "duckdb:///shop.duckdb", "query": "SELECT * FROM t"}
    loaded = load_frame(card_from_dict({"data": {"source": source, "target": "label"}}).data.source,
                        tmp_path / "cards")
    assert len(loaded.frame) == 50
    missing = {"url": "sqlite:///nope.db", "query": "SELECT 1"}
    with pytest.raises(DataError, match="database file .*nope.db not found"):
        load_frame(card_from_dict({"data": {"source": missing, "target": "label"}}).data.source, tmp_path / "cards")
    assert not (tmp_path / "cards" / "nope.db").exists() and not (tmp_path / "nope.db").exists()


def test_a_blank_target_is_no_answer_and_its_row_is_dropped(tmp_path):
    frame = make_classification_frame(200)
    frame.loc[[3, 50, 90], "label"] = [" ", "", "  "]
    frame.to_csv(tmp_path / "d.csv", index=False)
    d = prepare(card_from_dict({"data": {"source": "d.csv", "target": "label"}}).with_base_dir(tmp_path))
    assert d.classes == ["no", "yes"] and len(d.y) == 197
    assert any("dropped 3 row(s) with no target" in note for note in d.notes)


def test_a_strong_predictor_on_many_scales_is_not_called_a_copy_of_the_target(tmp_path):
    """Like the M4 hourly series: the previous hour correlates at 0.9999 across series of very
    different sizes, yet it is a feature, not a leak."""
    rng = np.random.default_rng(1)
    level = 10 ** rng.uniform(1, 5, 400)
    frame = pd.DataFrame({"previous": level * (1 + rng.normal(0, 0.003, 400)), "noise": rng.normal(size=400),
                          "next": level})
    assert np.corrcoef(frame["previous"], frame["next"])[0, 1] > 0.9999
    frame.to_csv(tmp_path / "d.csv", index=False)
    d = prepare(card_from_dict({"problem": {"task": "regression"},
                                "data": {"source": "d.csv", "target": "next"}}).with_base_dir(tmp_path))
    assert "previous" in d.X.columns


def test_day_first_dates_with_one_impossible_day_stay_day_first():
    from bakeoff.tasks.tabular.schema import apply_schema, infer_schema

    days = pd.Series([f"{d:02d}/{m:02d}/2021" for d in range(1, 29) for m in range(1, 5)] + ["31/02/2021"])
    frame = pd.DataFrame({"signup": days})
    notes = []
    schema = infer_schema(frame, notes)
    assert schema == {"signup": "date:%d/%m/%Y"}
    assert any("1 value(s) that are no such date read as missing" in n for n in notes)
    parts = apply_schema(pd.DataFrame({"signup": ["01/02/2021", "31/02/2021"]}), schema)
    assert parts["signup_month"].tolist()[0] == 2 and parts["signup_day"].tolist()[0] == 1
    assert np.isnan(parts["signup_month"].tolist()[1])


def sizes_bundle(levels: list[str], flagged: str, seed: int):
    """A linear model on a 'size' category written as text in training; `flagged` is mostly 'yes'."""
    from bakeoff.tasks.tabular.bundle import ModelBundle
    from bakeoff.tasks.tabular.ladder.models import Linear
    from bakeoff.tasks.tabular.schema import apply_schema, category_levels, infer_schema

    rng = np.random.default_rng(seed)
    train = pd.DataFrame({"size": rng.choice(levels, 300), "x": rng.normal(size=300)})
    y = ((train["size"] == flagged) ^ (rng.random(300) < 0.1)).astype(int).to_numpy()
    schema = infer_schema(train, [])
    X = apply_schema(train, schema)
    fitted = Linear(task="classification", n_classes=2, class_names=("no", "yes")).fit(X, y)
    return ModelBundle("linear", "classification", fitted, schema, ["no", "yes"], "y", category_levels(X, schema))


def test_category_values_that_look_like_numbers_score_the_same_from_a_file_of_numbers_only(tmp_path):
    bundle = sizes_bundle(["1", "2", "XL"], "2", seed=0)
    pd.DataFrame({"size": ["1", "2", "2", ""], "x": [0.1, 0.2, -1.0, 0.0]}).to_csv(tmp_path / "new.csv", index=False)
    new = pd.read_csv(tmp_path / "new.csv")  # only numbers (and a blank) in size: pandas reads 1.0, 2.0, NaN
    assert new["size"].dtype == float
    as_text = new.assign(size=["1", "2", "2", None])
    assert bundle.score(new)["probability"].tolist() == bundle.score(as_text)["probability"].tolist()
    assert bundle.score(new)["prediction"].tolist()[1:3] == ["yes", "yes"]
    assert bundle.surprises(new) == []


def test_a_target_copied_in_a_date_part_names_the_date_column_to_drop(tmp_path):
    days = pd.Series(pd.date_range("2024-01-01", periods=300, freq="D"))
    frame = pd.DataFrame({"signup": days.dt.strftime("%Y-%m-%d"), "x": np.random.default_rng(0).normal(size=300),
                          "weekend": np.where(days.dt.day_of_week >= 5, "yes", "no")})
    frame.to_csv(tmp_path / "d.csv", index=False)
    card = card_from_dict({"data": {"source": "d.csv", "target": "weekend"}}).with_base_dir(tmp_path)
    with pytest.raises(DataError, match=r"'signup_weekday' \(from column 'signup'\).*--drop signup\)"):
        prepare(card)
    dropped = card_from_dict({"data": {"source": "d.csv", "target": "weekend", "drop": ["signup"]}})
    assert "signup_weekday" not in prepare(dropped.with_base_dir(tmp_path)).X.columns


def test_time_folds_that_check_on_one_class_only_are_refused_for_ranking_metrics(tmp_path):
    frame = make_classification_frame(200, seed=3)
    frame["day"] = pd.date_range("2024-01-01", periods=200, freq="D").strftime("%Y-%m-%d")
    frame.loc[100:150, "label"] = "no"  # a quiet stretch: one fold of time-ordered CV sees no 'yes'
    frame.to_csv(tmp_path / "d.csv", index=False)

    def card(metric):
        return card_from_dict({"data": {"source": "d.csv", "target": "label", "time": "day"},
                               "evaluate": {"metric": metric}}).with_base_dir(tmp_path)

    with pytest.raises(DataError, match=r"fold 4 checks on 26 rows with no 'yes', where roc_auc is undefined"):
        prepare(card("roc_auc"))
    assert len(prepare(card("log_loss")).folds) == 5  # log loss is defined on one class


def test_mostly_numbers_read_as_numbers_and_infinities_as_missing(tmp_path):
    from bakeoff.tasks.tabular.schema import apply_schema, infer_schema

    rng = np.random.default_rng(0)
    ages = rng.integers(18, 90, 300).astype(str).astype(object)
    ages[::16] = "unknown"  # about 6 %: a number column with a word for missing, not 60 categories
    codes = rng.choice(["1", "2", "3", "X"], 300)  # few distinct numbers beside a word: codes
    income = [f"${v:,}" for v in rng.integers(10_000, 90_000, 300)]
    rate = [f"{v}%" for v in rng.integers(1, 30, 300)]  # few distinct values: categories, with a hint
    bmi = rng.normal(25, 4, 300)
    bmi[5], bmi[6] = np.inf, 1e39
    frame = pd.DataFrame({"age": ages, "code": codes, "income": income, "bmi": bmi, "rate": rate})
    notes = []
    schema = infer_schema(frame, notes)
    assert schema == {"age": "number", "code": "category", "bmi": "number", "rate": "category"}
    assert any(n.startswith("rate: read as 29 categories; they look like numbers written with symbols")
               for n in notes)
    assert any(n.startswith("age: numbers stored as text; 19 blank or non-numeric value(s) (e.g. 'unknown')")
               for n in notes)
    assert any(n.startswith("income: dropped") and "numbers written with symbols (e.g. '$" in n for n in notes)
    assert any(n.startswith("bmi: 2 infinite or out-of-range value(s)") for n in notes)
    X = apply_schema(frame, schema)
    assert X["age"].isna().sum() == 19 and X["bmi"].isna().sum() == 2 and np.isfinite(X["bmi"].dropna()).all()
    from bakeoff.tasks.tabular.bundle import ModelBundle
    from bakeoff.tasks.tabular.ladder.models import Rules

    y = (X["age"].fillna(50) > 50).astype(int).to_numpy()
    fitted = Rules(task="classification", n_classes=2).fit(X, y)
    bundle = ModelBundle("rules", "classification", fitted, schema, ["no", "yes"], "y")
    scored = bundle.score(pd.DataFrame({"age": ["70", "inf"], "code": ["1", "2"], "bmi": [1e39, -np.inf],
                                        "rate": ["5%", "7%"]}))
    assert scored["prediction"].tolist()[0] == "yes" and scored["probability"].notna().all()


def test_a_few_regression_targets_that_are_no_number_are_left_out_with_a_note(tmp_path):
    from bakeoff.tasks.tabular.data import infer_task

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=100)})
    frame["y"] = (3 * frame["x"] + rng.normal(size=100)).round(3).astype(object)
    frame.loc[[4, 50], "y"] = "?"
    frame.loc[7, "y"] = "inf"  # as good as no number: no model can learn it
    assert infer_task(frame["y"]) == "regression"  # 3 % question marks do not make 97 classes
    frame.to_csv(tmp_path / "d.csv", index=False)
    card = card_from_dict({"problem": {"task": "regression"}, "data": {"source": "d.csv", "target": "y"},
                           "evaluate": {"metric": "rmse"}}).with_base_dir(tmp_path)
    dataset = prepare(card)
    assert len(dataset.y) == 97 and "dropped 3 row(s) whose target is not a number (e.g. '?')" in dataset.notes
    assert np.isfinite(dataset.y).all()
    frame.loc[:30, "y"] = "?"
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match=r"not a number in 32 of 100 rows \(e.g. '\?'\), too many to leave out"):
        prepare(card)


def test_judged_rows_leave_the_split_without_moving_the_others(tmp_path):
    from bakeoff.tasks.tabular.expect import row_keys

    frame = make_classification_frame(300, seed=4)
    frame["day"] = pd.date_range("2024-01-01", periods=300, freq="D").strftime("%Y-%m-%d")
    frame.loc[:40, "label"] = np.where(np.arange(41) % 2, "rare", frame.loc[:40, "label"])  # early rows only
    frame.to_csv(tmp_path / "d.csv", index=False)
    card = card_from_dict({"data": {"source": "d.csv", "target": "label", "time": "day"},
                           "evaluate": {"metric": "accuracy", "folds": 3}}).with_base_dir(tmp_path)
    whole = prepare(card)
    keys = row_keys(whole.raw, [c for c in whole.raw.columns if c not in ("label", "day")], "")
    judged = frozenset(keys.iloc[[whole.holdout_index[0], whole.train_index[5]]])
    fewer = prepare(card, exclude=judged)  # time-ordered, a class absent from later folds: still fine
    assert list(fewer.holdout_index) == list(whole.holdout_index[1:])
    assert list(fewer.train_index) == [i for i in whole.train_index if i != whole.train_index[5]]
    for (fit, check), (fit2, check2) in zip(whole.folds, fewer.folds, strict=True):
        kept = np.delete(whole.train_index, 5)
        assert set(kept[fit2]) == set(whole.train_index[fit]) - {whole.train_index[5]}
        assert set(kept[check2]) == set(whole.train_index[check]) - {whole.train_index[5]}


def test_a_category_written_2_0_in_training_reads_the_same_from_numbers(tmp_path):
    bundle = sizes_bundle(["2.0", "3.0", "XL"], "2.0", seed=1)
    numbers = pd.DataFrame({"size": [2.0, 3.0], "x": [0.0, 0.0]})
    as_text = numbers.assign(size=["2.0", "3.0"])
    assert bundle.score(numbers)["probability"].tolist() == bundle.score(as_text)["probability"].tolist()
    assert bundle.surprises(numbers) == []
