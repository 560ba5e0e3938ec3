"""Cards without writing one: from a data file and a target, or written out for editing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from bakeoff.core.card import Card, card_from_dict, card_from_text, load_card, read_toml
from bakeoff.errors import ConfigError, DataError, LeakageError
from bakeoff.tasks.tabular.data import data_path, guess_positive, infer_task, load_frame, suggest
from bakeoff.tasks.tabular.metrics import DEFAULT_METRIC

_CARD_TEMPLATE = '''# bakeoff problem card: edit, then `bakeoff run {card_name}`
[problem]
name = {name}
task = "{task}"                  # classification | regression
question = {question}   # the report's first line, in business words

[data]
source = {source}
target = {target}
{positive_line}id = {id}                          # never used as a feature
time = ""                        # a date column: splits respect time order
{drop_line}

[evaluate]
metric = "{metric}"               # {metrics}
folds = 5
holdout = 0.2                    # share kept untouched for the final check
tolerance = 0.005                # a simpler candidate this close to the best is 'as good'
seed = 0
bootstrap = 500                  # resamples for the 95 % intervals

[budget]
total = "5m"
per_candidate = "60s"
trials = 20                      # Optuna trials per candidate
workers = 0                      # candidates side by side; 0 = min(2, cores)
# memory = "4GB"                 # cap per candidate

# [business]                     # turns scores into money (binary classification)
# value_true_positive = 50.0
# cost_false_positive = 5.0
# predictions_per_month = 100000
# compute_cost_per_hour = 0.50

# [ladder]
# skip = ["mlp"]                 # names from `bakeoff candidates`
# extra = ["my_module:MyCandidate"]
'''


def _guess_id(frame: pd.DataFrame, target: str) -> str:
    """A unique, non-float column named like an id: 'id', 'customer_id', 'customerID'."""
    for name in map(str, frame.columns):
        looks_like_id = re.search(r"(^|[_\s-])(id|key)$", name.lower()) or re.search(r"[a-z](ID|Id)$", name)
        if name != target and looks_like_id and frame[name].is_unique \
                and not pd.api.types.is_float_dtype(frame[name]):
            return name
    return ""


def _require_target(frame: pd.DataFrame, target: str | None, source: Path) -> str:
    if not target:
        raise ConfigError(f"{source.name} is not a card; give the column to predict with --target")
    if target not in frame.columns:
        raise DataError(f"target column {target!r} is not in {source.name}; "
                        f"{suggest(target, [str(c) for c in frame.columns])}")
    return target


def card_for(source: Path, target: str | None, overrides: dict) -> Card:
    """The card to run: a .toml loaded, or one built from a data file, with CLI overrides."""
    if source.suffix.lower() == ".toml":
        load_card(source)  # validates, with one-line errors
        raw = read_toml(source)  # as written: overrides re-derive defaults
        base_dir = source.parent
        if target:
            raw["data"]["target"] = target
    else:
        if overrides.get("task") in ("forecast", "customer"):
            raise ConfigError(f"a {overrides['task']} run needs a card: bakeoff init {source.name} --task "
                              f"{overrides['task']} --id … --time … (see bakeoff init --help), then bakeoff run bakeoff.toml")
        loaded = load_frame(str(data_path(source)), Path.cwd())
        target = _require_target(loaded.frame, target, source)
        task = overrides.get("task") or infer_task(loaded.frame[target])
        raw = {"problem": {"name": source.stem, "task": task,
                           "question": f"What is {target} going to be? ({source.name}, quick start)"},
               "data": {"source": str(data_path(source)), "target": target,
                        "id": _guess_id(loaded.frame, target)}}
        base_dir = Path.cwd()
    try:
        card = card_from_dict(_apply_overrides(raw, overrides)).with_base_dir(base_dir)
    except ConfigError as err:
        raise ConfigError(_flag_words(str(err), overrides)) from err
    return _only_means_only(card) if overrides.get("only") is not None else card


def _only_means_only(card: Card) -> Card:
    """The card without the [ladder] extra candidates --only does not name (in the card alone,
    extras join its `only`; on the command line, --only is the whole list)."""
    from bakeoff.core.registry import load_class

    kept = [spec for spec in card.ladder.extra if load_class(spec, card.base_dir).name in card.ladder.only]
    ladder = card.ladder.model_copy(update={"extra": kept})
    return card.model_copy(update={"ladder": ladder}).with_base_dir(card.base_dir)


def _flag_words(message: str, overrides: dict) -> str:
    """A card error about a value given on the command line names the option, not the card key.

    >>> _flag_words("[evaluate] folds must be at least 2", {"folds": 1})
    '--folds must be at least 2'
    """
    for key, value in overrides.items():
        if value is not None and key in _PLACES:
            section, field = _PLACES[key]
            flag = _FLAGS.get(key, f"--{key.replace('_', '-')}")
            message = message.replace(f"[{section}] {field}", flag)
    return message


_PLACES = {  # command-line option -> (card section, key)
    "task": ("problem", "task"), "metric": ("evaluate", "metric"), "total": ("budget", "total"),
    "per_candidate": ("budget", "per_candidate"), "seed": ("evaluate", "seed"),
    "only": ("ladder", "only"), "skip": ("ladder", "skip"), "folds": ("evaluate", "folds"),
    "holdout": ("evaluate", "holdout"), "tolerance": ("evaluate", "tolerance"),
    "trials": ("budget", "trials"), "workers": ("budget", "workers"), "drop": ("data", "drop")}
_FLAGS = {"total": "--budget", "per_candidate": "--per-candidate"}


def _apply_overrides(raw: dict, overrides: dict) -> dict:
    places = _PLACES
    for key, value in overrides.items():
        if value is None:
            continue
        if key in ("only", "skip", "drop"):
            items = value.split(",") if isinstance(value, str) else list(value)
            value = [v.strip() for v in items if v.strip()]
            if not value:
                raise ConfigError(f"--{key} is empty; give comma-separated names, e.g. --{key} a,b")
        section, field = places[key]
        raw.setdefault(section, {})[field] = value
    return raw


def write_card_file(data: Path, target: str, output: Path, force: bool = False) -> list[str]:
    """Write the commented card for `data` to `output` and return the columns it leaves out as
    copies of the target; a card that `bakeoff run` would still refuse (a constant target, say)
    is refused here, and nothing is written."""
    from bakeoff.core.runstore import write_atomic
    from bakeoff.tasks.tabular.data import prepare

    if output.is_dir():
        raise ConfigError(f"{output} is a folder; pass -o with a file name such as {output / 'bakeoff.toml'}")
    if output.exists() and not force:
        raise ConfigError(f"{output} already exists; pass --force to overwrite it or -o to write elsewhere")
    leaks: list[str] = []
    while True:
        text = card_text(data, target, output.parent, output.name, leaks)
        try:
            prepare(card_from_text(text).with_base_dir(output.parent.resolve()))
            break
        except LeakageError as err:
            leaks.append(err.column)
    write_atomic(output, text)
    return leaks


def card_text(data: Path, target: str, card_dir: Path, card_name: str = "bakeoff.toml",
              leaks: list[str] = ()) -> str:
    """A commented card for `data`, with task, metric, id and positive class filled in, and
    `leaks` (copies of the target) in `drop`."""
    loaded = load_frame(str(data_path(data)), Path.cwd())
    target = _require_target(loaded.frame, target, data)
    task = infer_task(loaded.frame[target])
    try:
        source = data.resolve().relative_to(card_dir.resolve())
    except ValueError:
        source = data.resolve()
    values = sorted(loaded.frame[target].dropna().astype(str).str.strip().unique())
    positive = guess_positive(values) if len(values) == 2 else None
    positive_line = f'positive = {_toml(positive)}                   # the class the business acts on\n' \
        if task == "classification" and len(values) == 2 and positive else ""
    from bakeoff.tasks.tabular.metrics import METRICS

    return _align_comments(_CARD_TEMPLATE.format(
        card_name=card_name, name=_toml(data.stem), task=task, target=_toml(target), source=_toml(str(source)),
        question=_toml(f"What is {target} going to be?"), positive_line=positive_line,
        id=_toml(_guess_id(loaded.frame, target)), drop_line=_drop_line(leaks),
        metric=DEFAULT_METRIC[task], metrics=" | ".join(m for m, s in METRICS.items() if s.task == task)))


def _toml(text: str) -> str:
    r"""A TOML string (JSON's escapes are TOML's): quotes and backslashes in names survive.

    >>> print(_toml('say "hi"'))
    "say \"hi\""
    """
    return json.dumps(text, ensure_ascii=False)


def _drop_line(leaks: list[str]) -> str:
    if not leaks:
        return "drop = []                        # columns to leave out"
    names = ", ".join(_toml(name) for name in leaks)
    return f"drop = [{names}]   # copies of the target: they predict it perfectly, so they cannot be features"


def _align_comments(text: str, column: int = 33) -> str:
    """Line up the trailing comments of a TOML card."""
    lines = []
    for line in text.splitlines():
        code, sep, comment = line.partition(" # ")
        lines.append(f"{code.rstrip():<{column - 1}} # {comment}" if sep and code.strip() else line)
    return "\n".join(lines) + "\n"
