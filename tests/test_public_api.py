"""The public names of `import bakeoff`, and that importing it stays light."""

import subprocess
import sys

import bakeoff


def test_public_names_are_exactly_the_documented_ones():
    assert bakeoff.__all__ == sorted(["Card", "load_card", "bake", "plan", "execute", "Candidate", "Fitted",
                                      "BakeoffError", "ConfigError", "DataError", "CandidateError",
                                      "TrackingError"])
    for name in bakeoff.__all__:
        assert getattr(bakeoff, name).__name__ == name


def test_import_bakeoff_does_not_import_heavy_libraries():
    code = "import sys, bakeoff; print(sorted(m for m in ('mlflow', 'sklearn', 'lightgbm', 'optuna', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
