"""Timebox and fault isolation: a candidate that hangs, raises or dies does not stop the bake-off."""

import os
import signal
import subprocess
import time
from pathlib import Path

from conftest import BAKEOFF, make_classification_frame

from bakeoff.core.bake import plan, run_race
from bakeoff.core.card import card_from_dict

HERE = __import__("pathlib").Path(__file__).parent


MISBEHAVING = ("Sleeper", "Raiser", "SelfKiller", "Segfaulter", "Prior", "MemoryHog", "Exiter",
               "NanMaker", "Interrupter")


def planned(tmp_path, total, per_candidate, only, workers=2, memory="", extras=MISBEHAVING):
    make_classification_frame(300).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "misbehaving.py").write_text((HERE / "misbehaving.py").read_text())
    extra = [f"misbehaving:{c}" for c in extras]
    card = card_from_dict({
        "data": {"source": "d.csv", "target": "label"},
        "evaluate": {"folds": 3, "bootstrap": 100},
        "budget": {"total": total, "per_candidate": per_candidate, "trials": 2, "workers": workers,
                   "memory": memory},
        "ladder": {"only": only, "extra": extra}}).with_base_dir(tmp_path)
    return plan(card)


def test_hanging_raising_and_dying_candidates_are_recorded_and_the_race_goes_on(tmp_path):
    p = planned(tmp_path, "2m", "6s", ["constant", "sleeper", "raiser", "self_killer", "segfaulter",
                                       "exiter", "nan_maker", "interrupter", "linear", "prior"])
    outcomes = {o.name: o for o in run_race(p)}
    assert outcomes["sleeper"].status == "timeout" and "s slice" in outcomes["sleeper"].error
    assert outcomes["raiser"].status == "failed"
    assert "RuntimeError: boom: this candidate always fails" in outcomes["raiser"].error
    assert outcomes["self_killer"].status == "failed" and "SIGKILL" in outcomes["self_killer"].error
    assert outcomes["segfaulter"].status == "failed" and "SIGSEGV" in outcomes["segfaulter"].error
    assert outcomes["exiter"].status == "failed" and "sys.exit(3)" in outcomes["exiter"].error
    assert outcomes["nan_maker"].status == "failed" and "NaN" in outcomes["nan_maker"].error
    assert outcomes["interrupter"].status == "failed" and "KeyboardInterrupt" in outcomes["interrupter"].error
    for name in ("constant", "linear", "prior"):
        assert outcomes[name].status == "ok", outcomes[name].error
    # a constant ranks nothing: chance in every fold, so exactly 0.5 with no spread
    assert outcomes["prior"].evaluation.cv_score == 0.5
    assert outcomes["prior"].evaluation.score_ci == (0.5, 0.5)


def test_total_budget_is_enforced_and_a_hanging_candidate_starves_no_one(tmp_path):
    # One worker, 12 s in all, the sleeper queued first: before, it took the whole budget and
    # linear was skipped. Now its quick pass is cut at its share and both others still finish.
    # (With 8 s each quick pass had 1.3 s: linear's, worker start included, overran it once on a
    # loaded machine, the full suite running beside it.)
    p = planned(tmp_path, "12s", "12s", ["sleeper", "constant", "linear"], workers=1)
    p.candidates.sort(key=lambda c: c.name != "sleeper")  # sleeper, then constant and linear
    start = time.monotonic()
    outcomes = {o.name: o for o in run_race(p)}
    elapsed = time.monotonic() - start
    assert outcomes["sleeper"].status == "timeout" and "quick pass" in outcomes["sleeper"].error
    assert outcomes["constant"].status == "ok"
    assert outcomes["linear"].status == "ok", outcomes["linear"].error
    assert elapsed < 12 + 10  # the budget plus generous slack: a sleeper left running would take an hour


def test_plan_puts_simplest_rungs_first_and_extras_join_even_with_only(tmp_path):
    p = planned(tmp_path, "1m", "5s", ["sleeper", "lightgbm", "constant", "linear"])
    names = [c.name for c in p.candidates]
    assert names[:3] == ["constant", "prior", "linear"]  # rung 0 first; extras are always in
    assert {"raiser", "exiter", "memory_hog", "sleeper", "lightgbm"} <= set(names) and "mlp" not in names
    rungs = [c.rung for c in p.candidates]
    assert rungs == sorted(rungs)


def test_a_candidate_that_runs_out_of_memory_fails_alone(tmp_path):
    # the memory hog as the only extra: the sleeper would hold the race for its whole slice
    p = planned(tmp_path, "1m", "20s", ["memory_hog", "linear"], memory="6GB", extras=["MemoryHog"])
    outcomes = {o.name: o for o in run_race(p)}
    assert outcomes["memory_hog"].status == "failed"
    assert outcomes["memory_hog"].error.startswith("out of memory: it needed more than the [budget] memory")
    assert outcomes["linear"].status == "ok"  # the same limit leaves room for an ordinary candidate


def test_more_workers_than_cores_is_noted_since_timings_then_read_high(tmp_path, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    crowded = planned(tmp_path, "1m", "10s", ["constant"], workers=8)
    assert any("8 workers on 2 cores" in note for note in crowded.dataset.notes)
    fitting = planned(tmp_path, "1m", "10s", ["constant"], workers=2)
    assert not any("workers on" in note for note in fitting.dataset.notes)


def test_a_candidate_whose_probabilities_have_the_wrong_shape_fails_alone_with_the_reason(tmp_path):
    # numpy would spread its one column over both classes and record it "ok"
    p = planned(tmp_path, "1m", "10s", ["constant", "one_column", "linear"], extras=["OneColumn"])
    outcomes = {o.name: o for o in run_race(p)}
    assert outcomes["one_column"].status == "failed"
    assert "returned shape" in outcomes["one_column"].error and ", 1)" in outcomes["one_column"].error
    assert outcomes["constant"].status == outcomes["linear"].status == "ok"


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its parent to reap it does not)."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_timed_out_candidate_leaves_no_process_behind(tmp_path):
    p = planned(tmp_path, "30s", "3s", ["constant", "forker"], extras=["Forker"])
    outcomes = {o.name: o for o in run_race(p)}
    assert outcomes["forker"].status == "timeout"
    children = [int(pid) for pid in (tmp_path / "forker.pid").read_text().split()]
    assert children and not any(_alive(pid) for pid in children)


def test_an_interrupted_run_ends_what_its_candidates_started_without_a_traceback(tmp_path):
    # SIGINT to the driver alone (`kill -INT`, an IDE's stop button); a terminal's Ctrl-C goes to
    # the whole foreground process group, which ended the candidate's child process anyway
    make_classification_frame(300).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "misbehaving.py").write_text((HERE / "misbehaving.py").read_text())
    (tmp_path / "bakeoff.toml").write_text(
        '[data]\nsource = "d.csv"\ntarget = "label"\n[budget]\ntotal = "5m"\nper_candidate = "2m"\n'
        '[ladder]\nonly = ["constant"]\nextra = ["misbehaving:Forker"]\n')
    run = subprocess.Popen([str(BAKEOFF), "run", "bakeoff.toml", "--no-track"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    pids = tmp_path / "forker.pid"
    deadline = time.monotonic() + 120
    while not pids.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    os.kill(run.pid, signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130 and "Traceback" not in stderr.decode()
    assert not (tmp_path / "runs").exists()  # nothing written
    children = [int(pid) for pid in pids.read_text().split()]
    assert children and not any(_alive(pid) for pid in children)
