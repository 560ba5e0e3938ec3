"""The budget schedule: breadth first, slices from measured cost, a verdict that names what it
could not compare against, and saved models that learned from every row."""

import pickle

import numpy as np
from conftest import cli, make_classification_frame, only_run, read_result, write_card

from bakeoff.core.schedule import Glance, admit, budget_to_include, full_slice, priorities

HERE = __import__("pathlib").Path(__file__).parent


def glance(score, seconds, tunable=True, trial=1.0):
    return Glance(score, 1000, 0.1, seconds, trial, tunable)


def test_the_strong_cheap_candidate_goes_before_the_slow_one_and_baselines_first():
    glances = {"constant": glance(0.5, 0.3, False), "random_forest": glance(0.80, 40.0),
               "lightgbm": glance(0.81, 3.0), "linear": glance(0.79, 2.5)}
    rungs = {"constant": 0, "random_forest": 3, "lightgbm": 4, "linear": 2}
    order = priorities(glances, rungs, True, 20)
    assert order[0] == "constant"  # the yardstick, and it costs nothing
    assert order.index("lightgbm") < order.index("random_forest")
    # lower is better (RMSE): the same ranking with the signs turned
    flipped = {n: Glance(-g.score, g.rows, g.seconds, g.evaluate_seconds, g.trial_seconds, g.tunable)
               for n, g in glances.items()}
    assert priorities(flipped, rungs, False, 20) == order


def test_near_equals_go_simplest_first():
    glances = {"lightgbm": glance(0.80, 3.0), "linear": glance(0.80, 3.05)}
    assert priorities(glances, {"lightgbm": 4, "linear": 2}, True, 20) == ["linear", "lightgbm"]


def test_only_what_fits_is_admitted_and_the_rest_is_named():
    glances = {"a": glance(0.8, 2.0), "b": glance(0.8, 50.0), "c": glance(0.8, 2.0)}
    admitted, left_out = admit(["a", "b", "c"], glances, capacity=20.0)
    assert admitted == ["a", "c"] and left_out == ["b"]  # b's 50.5 s would not fit; c still does


def test_a_slice_is_the_need_plus_a_share_of_the_spare_time_and_tuning_gets_the_rest():
    g = glance(0.8, 2.0, trial=1.0)  # needs 2 + 0.5 (its worker's start) = 2.5 s
    seconds, guide = full_slice(g, [g, g], capacity=3 * 2.5 + 30, per_candidate=60)
    assert (guide.tuning_seconds, guide.fit_rows) == (10, None)  # a third of the 30 s spare
    assert seconds == 1.5 * 12.5  # stopped only well past its plan: the estimate may be low
    assert full_slice(g, [], capacity=1000, per_candidate=10)[0] == 10  # never past per_candidate
    assert full_slice(glance(0.8, 2.0, tunable=False), [], 1000, 60)[1].tuning_seconds == 0


def test_when_time_is_short_every_evaluation_is_cut_alike_and_folds_fit_on_fewer_rows():
    # 20,000 rows per fold, the folds 10 of the 12 estimated seconds: at least 2 + 10 x 0.1 + 0.5
    big = Glance(0.8, 2000, 1.0, 12.0, 1.0, True, folds_seconds=10.0, fit_power=1.0, train_rows=20_000)
    least_, full = 3.5, 12.5
    seconds, guide = full_slice(big, [big], capacity=least_ + full, per_candidate=600)
    assert seconds == 1.5 * (least_ + full) / 2 and guide.tuning_seconds == 0  # each plans half way
    assert guide.fit_rows == 11_000  # 2 + 10 x r + 0.5 = 8  ->  r = 0.55
    assert full_slice(big, [big], capacity=1.0, per_candidate=600)[1].fit_rows == 2_000  # the floor


def test_the_budget_named_to_include_a_candidate_covers_its_need():
    # 100 more worker-seconds on 2 workers is 50 s more wall: 60 + 50 = 110, rounded up to 120
    assert budget_to_include(60, 100, 2) == 120
    assert budget_to_include(60, 1, 1) == 90


CARD = """
[data]
source = "d.csv"
target = "label"
[evaluate]
folds = 3
bootstrap = 100
holdout = 0.2
[budget]
total = "20s"
per_candidate = "20s"
trials = 3
workers = 1
[ladder]
only = ["constant", "linear"]
extra = ["misbehaving:SlowStarter"]
"""


def test_a_slow_candidate_queued_first_starves_no_one_and_the_verdict_names_it(tmp_path):
    # SlowStarter (rung 1) hangs on more than 1,100 rows: in its rung's turn it held the only worker
    # for the whole budget and linear (rung 2) never started. Breadth first, every candidate gets
    # its quick pass, the cheap full evaluations go first, and the verdict says what is missing.
    make_classification_frame(2000).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "misbehaving.py").write_text((HERE / "misbehaving.py").read_text())
    write_card(tmp_path, CARD)
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = read_result(only_run(tmp_path))
    rows = {c["name"]: c for c in result["candidates"]}
    assert rows["linear"]["status"] == "ok" and rows["constant"]["status"] == "ok"
    slow = rows["slow_starter"]
    assert slow["status"] == "timeout" and "full evaluation" in slow["error"], slow
    # its quick pass ran: a prior (AUC 0.5), fitted on a fold's training part (2/3 of 1,600 rows)
    assert slow["quick_score"] == 0.5 and slow["quick_rows"] == 1067
    assert slow["remedy"].startswith("raise [budget] ")
    assert "could not compare against slow_starter" in result["reason"]
    assert "could not compare against slow_starter" in " ".join(done.stdout.split())  # the terminal summary
    report = (only_run(tmp_path) / "report.html").read_text()
    assert "could not compare against slow_starter" in report  # the report's first section


def test_saved_models_learn_from_every_row_and_the_holdout_score_stays_honest(tmp_path):
    frame = make_classification_frame(600)
    frame.to_csv(tmp_path / "d.csv", index=False)
    card = CARD.replace('total = "20s"', 'total = "1m"').replace('per_candidate = "20s"', 'per_candidate = "30s"')
    card = card.replace('extra = ["misbehaving:SlowStarter"]', "")
    write_card(tmp_path, card.replace('only = ["constant", "linear"]', 'only = ["linear"]'))
    assert cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path).returncode == 0
    run = only_run(tmp_path)
    result = read_result(run)
    linear = next(c for c in result["candidates"] if c["name"] == "linear")
    assert result["refit"] == "all" and linear["model_rows"] == 600  # training part and holdout
    final = pickle.loads((run / "models" / "linear.pkl").read_bytes())
    scored = pickle.loads((run / "models" / "linear.train.pkl").read_bytes())
    # the holdout score is the one of the model that never saw the holdout: recompute it
    from sklearn.metrics import roc_auc_score

    from bakeoff.core.card import load_card
    from bakeoff.tasks.tabular.data import prepare

    data = prepare(load_card(tmp_path / "bakeoff.toml"))
    X_hold, y_hold = data.X.iloc[data.holdout_index], data.y[data.holdout_index]
    assert abs(roc_auc_score(y_hold, scored.fitted.predict_proba(X_hold)[:, 1]) - linear["holdout_score"]) < 1e-12
    # the saved model is a different fit: it learned from the holdout rows too
    assert not np.allclose(final.fitted.predict_proba(X_hold), scored.fitted.predict_proba(X_hold))
    # refit = "train" keeps the old behaviour: one model, fitted on the training part
    write_card(tmp_path, card.replace('only = ["constant", "linear"]', 'only = ["linear"]')
               .replace("holdout = 0.2", 'holdout = 0.2\nrefit = "train"'))
    (tmp_path / "runs").rename(tmp_path / "runs-all")
    assert cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path).returncode == 0
    run = only_run(tmp_path)
    assert read_result(run)["refit"] == "train" and not (run / "models" / "linear.train.pkl").exists()
    assert next(c for c in read_result(run)["candidates"] if c["name"] == "linear")["model_rows"] == 480


def test_a_candidate_stopped_while_tuning_still_counts_with_its_defaults(tmp_path):
    # its defaults are assessed and handed over first; the tuning trial that follows hangs, the
    # slice ends it, and the run keeps the defaults' scores and model, and says so
    make_classification_frame(300).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "misbehaving.py").write_text((HERE / "misbehaving.py").read_text())
    card = CARD.replace('extra = ["misbehaving:SlowStarter"]', 'extra = ["misbehaving:SlowWhenTuned"]')
    card = card.replace('only = ["constant", "linear"]', 'only = ["constant"]')
    write_card(tmp_path, card.replace('total = "20s"\nper_candidate = "20s"', 'total = "8s"\nper_candidate = "8s"'))
    done = cli("run", "bakeoff.toml", "--no-track", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = only_run(tmp_path)
    result = read_result(run)
    row = next(c for c in result["candidates"] if c["name"] == "slow_when_tuned")
    assert row["status"] == "ok" and row["params"] == {"pause": 0.0}
    assert row["score"] == 0.5 and row["remedy"].startswith("raise [budget] ")
    assert any("stopped at the end of their slice while being tuned" in n and "slow_when_tuned" in n
               for n in result["notes"])
    assert (run / "models" / "slow_when_tuned.pkl").exists()  # `predict` has a model to use


def test_a_slow_fit_tunes_on_a_sample_and_a_slow_evaluation_fits_its_folds_on_one():
    from types import SimpleNamespace

    from bakeoff.core.schedule import Guide
    from bakeoff.tasks.tabular.evaluate import cross_validate, tune_within
    from bakeoff.tasks.tabular.metrics import METRICS

    seen = []

    class Recorder(__import__("bakeoff").Candidate):
        name, rung, family = "recorder", 2, "test"

        def default_params(self):
            return {"c": 1.0}

        def search_space(self, trial):
            return {"c": trial.suggest_float("c", 0.1, 10.0)}

        def fit(self, X, y):
            seen.append(len(X))
            from misbehaving import _Prior

            return _Prior(float(np.mean(y)))

    rng = np.random.default_rng(0)
    n = 12_000
    import pandas as pd

    X, y = pd.DataFrame({"x": rng.normal(size=n)}), rng.integers(0, 2, n)
    folds = [(np.setdiff1d(np.arange(n), np.arange(i, n, 3)), np.arange(i, n, 3)) for i in range(3)]
    data = SimpleNamespace(X_train=X, y_train=y, folds=folds, time_ordered=False, task="classification",
                           classes=["0", "1"])
    # a trial on all rows is estimated at 10 s and tuning has 20 s: 8 trials need a sixteenth
    glance_ = Glance(0.5, 2000, 0.1, 30.0, 10.0, True, folds_seconds=20.0, train_rows=8000)
    tuning = tune_within(Recorder(task="classification"), data, METRICS["roc_auc"], trials=3,
                         guide=Guide(glance_, 20.0))
    assert tuning.rows == n // 4 and max(seen) < n // 4  # 12,000 x (20 / 80) rows, 2/3 of them per fit
    seen.clear()
    cross_validate(Recorder(task="classification"), data, METRICS["roc_auc"], fit_rows=3000)
    assert seen == [3000, 3000, 3000]


class _Named:
    rung, family = 1, "test"


class Early(_Named):
    name = "early"


class Late(_Named):
    name = "late"


class InstantEngine:
    """No worker: a quick pass returns the glance given for its candidate, and every full
    evaluation ends at once, however long its estimate said it would take (the race under test
    is the real one; only the candidates' work is left out)."""

    def __init__(self, glances):
        self.glances, self.full = glances, []

    def share(self, data):
        pass

    def start(self, job):
        if job.target == "full":
            self.full.append(job.name)
        return job

    def done(self, job):
        return True

    def collect(self, job):
        from bakeoff.core.engine import Finished

        return Finished(value=self.glances[job.name] if job.target == "quick" else object(), wall_seconds=0.01)


def test_a_candidate_the_estimates_leave_no_room_for_runs_once_others_end_early():
    """Two evaluations estimated at 150 s each, two workers for 120 s (240 worker-seconds): by the
    estimates only one fits. The first ends at once; the second then finds the room and runs,
    where it used to be skipped before anything had run."""
    from bakeoff.core.race import Jobs, RaceSettings, race

    estimates = {name: Glance(0.8, 1000, 0.1, 150.0, 0.0, False) for name in ("early", "late")}
    engine = InstantEngine(estimates)
    settings = RaceSettings("roc_auc", 120.0, 200.0, 0, 0, 2)
    outcomes = {o.name: o for o in race([Early, Late], settings, engine, Jobs("quick", "full"))}
    assert admit(["early", "late"], estimates, 240.0)[1] == ["late"]  # the estimates' verdict
    assert {name: o.status for name, o in outcomes.items()} == {"early": "ok", "late": "ok"}
    assert engine.full == ["early", "late"]
