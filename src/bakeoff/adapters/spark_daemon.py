"""The Python daemon Spark forks its workers from (`spark.python.daemon.module`): pyspark's
own, started with bakeoff's forecasting libraries already imported, so that a worker forked
from it does not pay those imports (seconds: statsforecast brings statsmodels) again."""

import statsforecast.core  # noqa: F401
import statsforecast.models  # noqa: F401
from pyspark.daemon import manager

import bakeoff.tasks.forecast.partition  # noqa: F401

if __name__ == "__main__":
    manager()
