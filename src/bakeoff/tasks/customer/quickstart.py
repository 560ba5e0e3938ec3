"""`bakeoff init --task customer`: a commented customer card for a transaction log, its
calibration end put two thirds of the way through the log, checked before it is written (a
card `bakeoff run` would refuse is refused here, and nothing is written)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bakeoff.core.card import card_from_text
from bakeoff.errors import ConfigError

CARD = '''# A customer bake-off: {name}. Edit, then run: bakeoff run {card}
[problem]
name = "{name}"
task = "customer"
question = "Which customers are still active, and what will they buy over the next {horizon:g} {unit}s?"

[data]
source = "{source}"
id = "{id}"    # the customer
time = "{time}"    # the purchase's date (or timestamp, or a number such as 19970101)

[customer]
{amount_line}
calibration_end = "{calibration_end}"    # models learn from purchases up to this day
holdout_end = "{holdout_end}"        # and are scored on the purchases after it, to this day
time_unit = "{unit}"    # day, week or month
horizon = {horizon:g}    # time units bakeoff predict predicts over
discount_rate = 0.1    # a year's, for the value of future purchases
# inference = "mcmc"    # rung 2's posteriors through pymc-marketing: pip install 'bakeoff[mcmc]'

[evaluate]
metric = "rmse"            # purchases per customer; or mae, total_error, auc_active{spend_metric}
tolerance = 0.01           # the simplest candidate within 1 % of the best
seed = 0

[budget]
total = "2m"
per_candidate = "1m"

# [ladder]
# only = ["historic_rate", "recency_rule", "rfm_cells", "bg_nbd", "pareto_nbd", "lightgbm_rfm"]
'''
CALIBRATION_SHARE = 2 / 3  # of the log's days, before the calibration end


def write_card_file(data: Path, output: Path, force: bool = False, *, target: str | None, id: str | None,
                    time: str | None, horizon: int | None, amount: str | None = None) -> list[str]:
    """Write the card for the log `data` to `output`; nothing is left out (the list is for the CLI's line)."""
    from bakeoff.core.runstore import write_atomic
    from bakeoff.tasks.customer.data import prepare
    from bakeoff.tasks.customer.log import DAYS, open_log

    missing = [flag for flag, value in (("--id", id), ("--time", time)) if not value]
    if missing:
        raise ConfigError(f"a customer card needs {', '.join(missing)}: bakeoff init {data} --task customer --id "
                          "CUSTOMER_COLUMN --time DATE_COLUMN --amount AMOUNT_COLUMN")
    if target:
        raise ConfigError("a customer card has no --target (it predicts purchases from the log); give --amount "
                          "for the purchase amounts, or leave --target out")
    if output.is_dir():
        raise ConfigError(f"{output} is a folder; pass -o with a file name such as {output / 'bakeoff.toml'}")
    if output.exists() and not force:
        raise ConfigError(f"{output} already exists; pass --force to overwrite it or -o to write elsewhere")
    source = Path(data).resolve()
    with open_log(str(source), Path.cwd(), id=id, time=time, amount=amount or "") as log:
        first, last = (dt.date.fromisoformat(str(d)) for d in log.queries.rows(f"SELECT MIN(day), MAX(day) FROM {DAYS}")[0])
    cut = first + dt.timedelta(days=int((last - first).days * CALIBRATION_SHARE))
    try:
        source = source.relative_to(output.parent.resolve())
    except ValueError:
        pass
    text = CARD.format(name=Path(data).stem, card=output.name, source=source.as_posix(), id=id, time=time,
                       amount_line=f'amount = "{amount}"    # each purchase\'s amount' if amount else
                       '# amount = "total"    # each purchase\'s amount: adds spend and value',
                       calibration_end=cut.isoformat(), holdout_end=last.isoformat(), unit="week",
                       horizon=horizon or 52, spend_metric=", spend_rmse" if amount else "")
    prepare(card_from_text(text).with_base_dir(output.parent.resolve()))  # refuses what run would refuse
    write_atomic(output, text)
    return []
