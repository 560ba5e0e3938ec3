"""The forecasting task: many series in long form, one horizon, a candidate chosen per series (`FORECAST`).

Its models come from statsforecast, an optional extra: pip install 'bakeoff[forecast]'.
"""


def __getattr__(name: str):
    if name == "FORECAST":  # imported on first use: the card's schema imports this package's section
        from bakeoff.tasks.forecast.task import FORECAST

        return FORECAST
    raise AttributeError(name)
