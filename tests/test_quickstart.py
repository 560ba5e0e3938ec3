"""Quick start without a card, `bakeoff init`, repeatability, and the command help."""

import numpy as np
import pandas as pd
import pytest
from conftest import (
    CDNOW,
    QUICK_TELCO_CARD,
    cli,
    make_classification_frame,
    only_run,
    read_result,
    run_cli,
    write_card,
    write_telco_sample,
)

from bakeoff.core.card import load_card
from bakeoff.tasks.tabular.data import prepare

SEEDED = "one_rule,rules,linear,lightgbm"


@pytest.fixture(scope="module")
def seeded_run(tmp_path_factory, telco):
    """One quick run of the Telco card on 1,500 rows; the tests below read its outputs."""
    folder = tmp_path_factory.mktemp("quick-telco")
    write_telco_sample(folder, telco)
    write_card(folder, QUICK_TELCO_CARD)
    done = cli("run", "bakeoff.toml", "--only", SEEDED, "--no-track", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder, only_run(folder)


def test_quick_start_on_a_regression_csv_infers_task_and_metric(tmp_path):
    (tmp_path / "spend.csv").write_bytes(CDNOW.read_bytes())
    done = cli("run", "spend.csv", "--target", "next_39w_sales",
               "--only", "constant,linear,decision_tree", "--budget", "60s", "--no-track",
               cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = read_result(only_run(tmp_path))
    assert (result["task"], result["metric"], result["higher_is_better"]) == ("regression", "rmse", False)
    constant = next(r for r in result["candidates"] if r["name"] == "constant")
    # independent check: the baseline predicts the training mean; its holdout RMSE by hand
    card = load_card_from_run(only_run(tmp_path), tmp_path)
    dataset = prepare(card)
    mean = dataset.y_train.mean()
    by_hand = np.sqrt(np.mean((dataset.y[dataset.holdout_index] - mean) ** 2))
    assert constant["holdout_score"] == pytest.approx(by_hand)
    assert "customer_id" not in dataset.X.columns  # guessed as the id


def load_card_from_run(run_dir, base_dir):
    from bakeoff.core.card import Card

    return Card.model_validate_json((run_dir / "card.json").read_text()).with_base_dir(base_dir)


def test_same_card_data_and_seed_give_the_same_scores(seeded_run):
    folder, run_dir = seeded_run
    # the same card again, through the console script: another process with its own hash seed
    # and its own workers, as when a user runs it again
    done = run_cli("run", "bakeoff.toml", "--only", SEEDED, "--no-track", "--out", "again",
                   cwd=folder)
    assert done.returncode == 0, done.stderr
    first, second = read_result(run_dir), read_result(only_run(folder / "again"))
    scores = [[(r["name"], r["score"], r["score_ci"], r["holdout_score"]) for r in res["candidates"]]
              for res in (first, second)]
    assert scores[0] == scores[1]
    # every search ended at its trial count, so nothing warns that the clock made the scores vary
    assert all(r["tuning"]["stopped_by"] != "time" for r in first["candidates"])
    assert not any("time slice" in note for note in first["notes"])
    assert first["provenance"]["data_sha256"] == second["provenance"]["data_sha256"]


def test_init_writes_a_card_that_runs(tmp_path, telco_sample):
    done = cli("init", "telco.csv", "--target", "Churn", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    card = load_card(tmp_path / "bakeoff.toml")
    assert (card.problem.task, card.data.positive, card.data.id) == ("classification", "Yes", "customerID")
    assert card.evaluate.metric == "roc_auc"
    again = cli("init", "telco.csv", "--target", "Churn", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    ran = cli("run", "bakeoff.toml", "--only", "constant,linear", "--no-track", cwd=tmp_path)
    assert ran.returncode == 0 and read_result(only_run(tmp_path))["recommended"] == "linear"


def test_candidates_lists_the_ladder(tmp_path):
    done = cli("candidates", cwd=tmp_path)
    names = ["constant", "one_rule", "rules", "linear", "decision_tree", "naive_bayes", "knn",
             "random_forest", "lightgbm", "xgboost", "mlp"]
    positions = [done.stdout.index(name) for name in names]
    assert positions == sorted(positions)  # simplest first


@pytest.mark.parametrize("command", ["run", "init", "predict", "candidates"])
def test_every_command_has_help_with_an_example(tmp_path, command):
    done = cli(command, "--help", cwd=tmp_path)
    assert done.returncode == 0 and "Example:" in done.stdout


def test_predict_notes_values_it_cannot_read_as_in_training(seeded_run):
    folder, run_dir = seeded_run
    rows = pd.read_csv(folder / "telco.csv").head(4)
    rows.loc[0, "Contract"] = "Ten year"
    rows["tenure"] = rows["tenure"].astype(object)
    rows.loc[1, "tenure"] = "about a year"
    rows.to_csv(folder / "odd.csv", index=False)
    done = cli("predict", run_dir.name, "linear", "odd.csv", "-o", "odd_scored.csv", cwd=folder)
    assert done.returncode == 0
    assert ("note: tenure: 1 value(s) not a number (or out of range), read as missing "
            "(e.g. 'about a year')") in done.stderr
    assert "note: Contract: 1 value(s) not seen in training" in done.stderr and "'Ten year'" in done.stderr
    assert len(pd.read_csv(folder / "odd_scored.csv")) == 4  # still scored


def test_predict_refuses_rows_missing_a_feature(seeded_run):
    folder, run_dir = seeded_run
    rows = pd.read_csv(folder / "telco.csv").drop(columns=["tenure"]).head(5)
    rows.to_csv(folder / "no_tenure.csv", index=False)
    done = cli("predict", run_dir.name, "linear", "no_tenure.csv", cwd=folder)
    assert done.returncode == 2 and "lacks column(s) 'tenure'" in done.stderr and "Traceback" not in done.stderr
    unknown = cli("predict", "no-such-run", "linear", "no_tenure.csv", cwd=folder)
    assert unknown.returncode == 2 and "run 'no-such-run' not found" in unknown.stderr


def test_unreachable_tracking_store_is_refused_before_the_race(tmp_path, telco_sample):
    write_card(tmp_path, QUICK_TELCO_CARD)
    done = run_cli("run", "bakeoff.toml", "--only", "constant", cwd=tmp_path,
                   env={"MLFLOW_TRACKING_URI": "postgresql://nobody:Hush-s3cret@127.0.0.1:1/none"})
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stdout == ""
    assert "cannot reach the MLflow store postgresql+psycopg://nobody:***@127.0.0.1:1/none" in done.stderr
    assert "--no-track" in done.stderr and not (tmp_path / "runs").exists()
    assert "s3cret" not in done.stderr


def test_multiclass_run_and_predict_give_one_probability_per_class(tmp_path):
    rng = np.random.default_rng(0)  # three well-separated species, 50 plants each
    centres = {"setosa": (1.5, 0.3), "versicolor": (4.3, 1.3), "virginica": (5.6, 2.0)}
    iris = pd.concat([pd.DataFrame({"petal_length": rng.normal(length, 0.3, 50),
                                    "petal_width": rng.normal(width, 0.15, 50), "species": name})
                      for name, (length, width) in centres.items()], ignore_index=True)
    iris.to_csv(tmp_path / "iris.csv", index=False)
    done = cli("run", "iris.csv", "--target", "species", "--metric", "f1", "--budget", "60s",
               "--only", "constant,rules,linear", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = read_result(only_run(tmp_path))
    assert result["classes"] == ["setosa", "versicolor", "virginica"]
    constant = next(r for r in result["candidates"] if r["name"] == "constant")
    assert constant["score"] == pytest.approx(1 / 6, abs=0.01)  # macro F1 of always one class of three
    scored = cli("predict", only_run(tmp_path).name, "linear", "iris.csv", "-o", "out.csv",
                 cwd=tmp_path)
    assert scored.returncode == 0
    out = pd.read_csv(tmp_path / "out.csv")
    proba = out[["probability_setosa", "probability_versicolor", "probability_virginica"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (out["prediction"] == out["species"]).mean() > 0.9


def test_a_task_override_rederives_the_default_metric(tmp_path):
    (tmp_path / "spend.csv").write_bytes(CDNOW.read_bytes())
    write_card(tmp_path, '[data]\nsource = "spend.csv"\ntarget = "next_39w_sales"\nid = "customer_id"\n')
    done = cli("run", "bakeoff.toml", "--task", "regression", "--only", "constant", "--no-track",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert read_result(only_run(tmp_path))["metric"] == "rmse"


def test_drop_on_the_command_line_takes_a_leaking_column_out(tmp_path):
    frame = make_classification_frame(150)
    frame.assign(leak=frame["label"]).to_csv(tmp_path / "d.csv", index=False)
    refused = cli("run", "d.csv", "--target", "label", "--only", "constant", "--no-track",
                  cwd=tmp_path)
    assert refused.returncode == 2 and "(or --drop leak)" in refused.stderr
    done = cli("run", "d.csv", "--target", "label", "--only", "constant", "--drop", "leak",
               "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    empty = cli("run", "d.csv", "--target", "label", "--only", "", cwd=tmp_path)
    assert empty.returncode == 2 and "--only is empty" in empty.stderr


def test_init_names_its_own_card_and_refuses_what_run_would_refuse(tmp_path):
    make_classification_frame(120).assign(kind="same").to_csv(tmp_path / "d.csv", index=False)
    done = cli("init", "d.csv", "--target", "label", "-o", "churn.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "churn.toml").read_text().splitlines()[0].endswith("`bakeoff run churn.toml`")
    refused = cli("init", "d.csv", "--target", "kind", "-o", "kind.toml", cwd=tmp_path)
    assert refused.returncode == 2 and "has a single value" in refused.stderr
    assert not (tmp_path / "kind.toml").exists()


def test_init_leaves_copies_of_the_target_out_of_the_card_it_writes(tmp_path):
    frame = make_classification_frame(150)
    frame.assign(leak=frame["label"], flag=frame["label"].map({"no": 0, "yes": 1})).to_csv(tmp_path / "d.csv",
                                                                                            index=False)
    done = cli("init", "d.csv", "--target", "label", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "left out leak, flag" in done.stdout
    assert load_card(tmp_path / "bakeoff.toml").data.drop == ["leak", "flag"]
    ran = cli("run", "bakeoff.toml", "--only", "constant", "--no-track", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr


def test_init_writes_a_card_that_reads_back_when_names_hold_quotes_and_backslashes(tmp_path):
    frame = make_classification_frame(120).rename(columns={"label": 'the "label"'})
    frame.to_csv(tmp_path / 'odd "name" \\ data.csv', index=False)
    done = cli("init", 'odd "name" \\ data.csv', "--target", 'the "label"', cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    card = load_card(tmp_path / "bakeoff.toml")
    assert card.data.target == 'the "label"' and card.problem.name == 'odd "name" \\ data'
