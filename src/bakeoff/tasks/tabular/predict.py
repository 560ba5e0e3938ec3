"""Score new rows with a candidate from a finished run."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pandas as pd

from bakeoff.core.runstore import find_run, read_model_file, read_result, write_atomic
from bakeoff.errors import ConfigError
from bakeoff.tasks.tabular.bundle import ModelBundle, loads_bundle
from bakeoff.tasks.tabular.data import data_path, load_frame


def load_model(run_dir: Path, candidate: str) -> ModelBundle:
    """A run's fitted candidate (or 'recommended' / 'best'), ready to score raw rows."""
    result = read_result(run_dir)
    card_dir = result.get("card_dir")
    if card_dir and card_dir not in sys.path:  # [ladder] extra modules live next to the card
        sys.path.insert(0, card_dir)
    name = result.get(candidate) if candidate in ("recommended", "best") else candidate
    path = run_dir / "models" / f"{name}.pkl"
    if name is None or not path.is_file():
        have = ", ".join(sorted(p.stem for p in (run_dir / "models").glob("*.pkl")
                                if not p.stem.endswith(".train"))) or "(none finished)"
        row = next((r for r in result.get("candidates", []) if r["name"] == name), None)
        if row is not None and row["status"] != "ok":
            raise ConfigError(f"{name} did not finish in run {run_dir.name} ({row['status']}: "
                              f"{(row.get('error') or '')[:120]}); use one of {have}")
        raise ConfigError(f"run {run_dir.name} has no fitted candidate {candidate!r}; use one of {have}")
    content = read_model_file(run_dir, name, result)  # refused unless result.json vouches for it
    try:
        return loads_bundle(content)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise ConfigError(f"{path} cannot be read ({type(err).__name__}); the run folder is damaged: "
                          "run the card again") from err
    except (ImportError, AttributeError) as err:  # a custom candidate's module moved or changed
        raise ConfigError(f"cannot load {name} from run {run_dir.name} ({err}); its code must be importable "
                          f"as when it was trained (from {card_dir or 'the card folder'})") from err


def score_file(run_id: str, candidate: str, data: Path, runs: Path = Path("."),
               threshold: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The scored rows, and notes on values the model reads as missing or unknown. With
    `threshold` (a probability, or 'business' for the run's money-best one) a binary model's
    label is the positive class from that probability up, instead of from 0.5."""
    return score_run(find_run(run_id, runs), candidate, data, threshold)


def score_run(run_dir: Path, candidate: str, data: Path | pd.DataFrame | None,
              threshold: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """`score_file` for a run found already; `data` a file or the rows themselves."""
    if data is None:
        raise ConfigError("give the rows to score: bakeoff predict RUN_ID CANDIDATE new_rows.csv")
    result = read_result(run_dir)
    if result.get("provenance", {}).get("groups"):
        if threshold is not None:
            raise ConfigError("--threshold is for a run of one model; each group's model here keeps the 0.5 cut")
        from bakeoff.tasks.tabular.group_predict import score_groups

        return score_groups(run_dir, candidate, _rows(data), result)
    bundle = load_model(run_dir, candidate)
    cut = decision_threshold(threshold, bundle, result)
    frame = _rows(data)
    notes = bundle.surprises(frame)
    replaced = [c for c in frame.columns if c == "prediction" or str(c).startswith("probability")]
    if replaced:
        notes.append(f"the input's own {', '.join(map(repr, replaced))} column(s) are replaced by the model's")
    scored = bundle.score(frame)
    if cut is not None:
        scored["prediction"] = scored["probability"].ge(cut).map({True: bundle.classes[1], False: bundle.classes[0]})
    return scored, notes


def _rows(data: Path | pd.DataFrame) -> pd.DataFrame:
    return data if isinstance(data, pd.DataFrame) else load_frame(str(data_path(data)), Path.cwd(), min_columns=1).frame


def decision_threshold(threshold: str | None, bundle: ModelBundle, result: dict) -> float | None:
    """--threshold as a number: a probability in (0, 1), or the candidate's money-best threshold
    of the run ('business'); None keeps the 0.5 cut."""
    if threshold is None:
        return None
    if bundle.task != "classification" or len(bundle.classes) != 2:
        raise ConfigError("--threshold is for binary classification; leave it out for this run")
    if threshold == "business":
        row = next(r for r in result["candidates"] if r["name"] == bundle.name)
        if row.get("threshold") is None and row.get("monthly_value") is not None:
            raise ConfigError(f"at the run's [business] values flagging nobody is worth most for {bundle.name}, so "
                              "there is no money-best threshold; give a probability such as --threshold 0.3")
        if row.get("threshold") is None:
            raise ConfigError(f"run {result['run_id']} has no money-best threshold for {bundle.name} (the card has "
                              "no [business] values); give a probability such as --threshold 0.3")
        return float(row["threshold"])
    try:
        cut = float(threshold)
    except ValueError:
        cut = float("nan")
    if not 0 < cut < 1:
        raise ConfigError(f"--threshold {threshold}: give a probability between 0 and 1, or 'business'")
    return cut


def check_output(output: Path) -> None:
    """-o names a .csv, .parquet or .pq file in a folder that exists; refused before any work."""
    if output.is_dir() or not output.parent.is_dir():
        raise ConfigError(f"-o {output}: give a file name in a folder that exists")
    if output.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise ConfigError(f"-o {output}: write .csv or .parquet (other formats are not written)")


def write_scored(scored: pd.DataFrame, output: Path) -> None:
    """CSV, or Parquet when the name ends in .parquet / .pq; written atomically."""
    if output.suffix.lower() in (".parquet", ".pq"):
        write_atomic(output, scored.to_parquet(index=False))
    else:
        write_atomic(output, scored.to_csv(index=False))
