"""Parse human budgets such as "90s", "5m", "1h30m" into seconds."""

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str | float) -> float:
    """Seconds in a budget string; a bare number means seconds.

    >>> parse_duration("1h30m"), parse_duration("45s"), parse_duration(2)
    (5400.0, 45.0, 2.0)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    else:
        compact = str(text).strip().lower().replace(" ", "")
        if compact.startswith("-"):
            seconds = -1.0
        elif re.fullmatch(r"\d+(\.\d+)?", compact):
            seconds = float(compact)
        elif compact and _PART.sub("", compact) == "":
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(compact))
        else:
            raise ValueError(f"got {text!r}; write a duration such as \"90s\", \"5m\" or \"1h30m\"")
    if seconds <= 0:
        raise ValueError(f"got {text!r}; a budget must be more than zero, such as \"60s\"")
    return seconds
