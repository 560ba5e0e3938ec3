"""bakeoff: run from complexity. Race simple and complex models on one problem, keep the
simplest that is as good as the best.

Example (in a notebook; in a script, under `if __name__ == "__main__":`)::

    import bakeoff

    result = bakeoff.run("examples/telco_churn/bakeoff.toml")
    print(result.recommended, result.reason)

Every command of the `bakeoff` CLI has a function here with the same options. Names are
imported on first use, so `import bakeoff` stays fast.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    **dict.fromkeys(["run", "init", "predict", "report", "review", "sql", "score", "candidates", "open_run",
                     "Result", "bake", "plan", "execute", "reproduce", "promote", "serve", "feedback"], "bakeoff.api"),
    **dict.fromkeys(["Card", "load_card"], "bakeoff.core.card"),
    **dict.fromkeys(["Candidate", "Fitted"], "bakeoff.core.candidate"),
    **dict.fromkeys(["BakeoffError", "ConfigError", "DataError", "CandidateError", "TrackingError"],
                    "bakeoff.errors"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bakeoff' has no attribute {name!r}")


def __dir__():
    return __all__
