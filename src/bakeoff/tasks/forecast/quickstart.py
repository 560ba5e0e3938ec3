"""`bakeoff init --task forecast`: a commented forecast card for a long table, checked before
it is written (a card `bakeoff run` would refuse is refused here, and nothing is written)."""

from __future__ import annotations

from pathlib import Path

from bakeoff.core.card import card_from_text
from bakeoff.errors import ConfigError

CARD = '''# A forecast bake-off: {name}. Edit, then run: bakeoff run {card}
[problem]
name = "{name}"
task = "forecast"
question = "What will each {id} do over the next {horizon} steps?"

[data]
source = "{source}"
id = {id_value}          # the series key: a column, or several, e.g. ["store", "item"]
time = "{time}"        # dates, or whole-number steps
target = "{target}"

[forecast]
horizon = {horizon}
# frequency = "D"          # a pandas alias; inferred from the timestamps when left out
# season_length = 7        # or several, e.g. [24, 168]; from the frequency when left out
windows = 2                # rolling-origin windows of `horizon` steps before the holdout
level = [80, 95]           # prediction interval levels, in percent
fill = "none"              # gaps: "none" refuses them, "zero", "forward"
{floor_line}

[evaluate]
metric = "mase"            # mase, smape, rmse, mae, wape
tolerance = 0.005          # per series: the simplest candidate within 0.5 % of that series' best
seed = 0

[budget]
total = "5m"
per_candidate = "2m"

# [ladder]
# only = ["naive", "seasonal_naive", "theta", "auto_ets", "global_lightgbm"]
'''


def write_card_file(data: Path, output: Path, force: bool = False, *, target: str | None, id: str | None,
                    time: str | None, horizon: int | None, amount: str | None = None) -> list[str]:
    """Write the card for `data` to `output`; nothing is left out (the list is for the CLI's line)."""
    from bakeoff.core.runstore import write_atomic
    from bakeoff.tasks.forecast.data import prepare

    missing = [flag for flag, value in (("--id", id), ("--time", time), ("--target", target), ("--horizon", horizon))
               if not value]
    if amount:
        raise ConfigError("--amount is for customer cards (--task customer); leave it out of a forecast card")
    if missing:
        raise ConfigError(f"a forecast card needs {', '.join(missing)}: bakeoff init {data} --task forecast "
                          f"--id SERIES_COLUMN --time TIME_COLUMN --target {target or 'COLUMN'} --horizon 28")
    if output.is_dir():
        raise ConfigError(f"{output} is a folder; pass -o with a file name such as {output / 'bakeoff.toml'}")
    if output.exists() and not force:
        raise ConfigError(f"{output} already exists; pass --force to overwrite it or -o to write elsewhere")
    source = Path(data).resolve()
    try:
        source = source.relative_to(output.parent.resolve())
    except ValueError:
        pass
    keys = [k.strip() for k in id.split(",") if k.strip()]
    id_value = f'"{keys[0]}"' if len(keys) == 1 else "[" + ", ".join(f'"{k}"' for k in keys) + "]"
    fields = dict(name=Path(data).stem, card=output.name, source=source.as_posix(), id="/".join(keys),
                  id_value=id_value, time=time, target=target, horizon=horizon)
    text = CARD.format(**fields, floor_line=FLOORS[False])
    series = prepare(card_from_text(text).with_base_dir(output.parent.resolve()))  # refuses what run would
    counts = all(float(v.min()) >= 0 for v in series.values)  # never negative: counts, sales, visits
    write_atomic(output, CARD.format(**fields, floor_line=FLOORS[counts]))
    return []


FLOORS = {True: "floor = 0                  # no forecast below 0 (the target never is); remove to allow it",
          False: "# floor = 0                # no forecast or interval below this (for counts and sales)"}
