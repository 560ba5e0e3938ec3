"""bakeoff: run from complexity. Race simple and complex models on one problem, keep the
simplest that is as good as the best.

Example::

    import bakeoff

    if __name__ == "__main__":  # candidates run in worker processes
        outcome = bakeoff.bake(bakeoff.load_card("examples/telco_churn/bakeoff.toml"))
        print(outcome.result["recommended"], outcome.result["reason"])

Names are imported on first use, so `import bakeoff` stays fast.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "Card": "bakeoff.core.card", "load_card": "bakeoff.core.card",
    "bake": "bakeoff.api", "plan": "bakeoff.api", "execute": "bakeoff.api",
    "Candidate": "bakeoff.core.candidate", "Fitted": "bakeoff.core.candidate",
    "BakeoffError": "bakeoff.errors", "ConfigError": "bakeoff.errors", "DataError": "bakeoff.errors",
    "CandidateError": "bakeoff.errors", "TrackingError": "bakeoff.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bakeoff' has no attribute {name!r}")


def __dir__():
    return __all__
