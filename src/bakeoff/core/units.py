"""Parse human budgets: durations such as "90s", "5m", "1h30m" and sizes such as "4GB"; print
figures as people read them. The printers are total: an infinite, missing (NaN) or huge
figure prints as text ("∞", "n/a"), never raises, so no finished run is lost to its report."""

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}


MAX_DURATION = 30 * 86_400.0  # seconds: a longer budget is a typo, and its figures unreadable


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
    if not 0 < seconds <= MAX_DURATION:  # NaN fails too
        raise ValueError(f"got {text!r}; a budget must be more than zero and at most 30 days, "
                         "such as \"60s\"")
    return seconds


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str | int) -> int:
    """Bytes in a size such as "4GB", "512MiB"; a bare number means bytes.

    >>> parse_size("4GB"), parse_size("512 MiB"), parse_size(1024)
    (4000000000, 536870912, 1024)
    """
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", str(text).strip().lower())
    if not match or match.group(2) not in _SIZE_UNITS or float(match.group(1)) <= 0:
        raise ValueError(f"got {text!r}; write a size such as \"4GB\" or \"512MiB\"")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


NOT_A_NUMBER = "n/a"


def not_finite(value: float) -> str | None:
    """How a figure that is no finite number prints ("∞", "-∞", "n/a"); None for a finite one.

    >>> not_finite(float("inf")), not_finite(float("-inf")), not_finite(float("nan")), not_finite(2.0)
    ('∞', '-∞', 'n/a', None)
    """
    value = float(value)
    if math.isnan(value):
        return NOT_A_NUMBER
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return None


def human_bytes(n: int) -> str:
    """A size in decimal units, as `parse_size` reads them (1 KB = 1,000 bytes).

    >>> human_bytes(250), human_bytes(5_530), human_bytes(6_360_000), parse_size(human_bytes(5_000))
    ('250 B', '5.5 KB', '6.4 MB', 5000)
    """
    if not_finite(n) is not None:
        return not_finite(n)
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def human_seconds(seconds: float) -> str:
    """A duration as people say it.

    >>> human_seconds(45), human_seconds(21.2292), human_seconds(150), human_seconds(360_000_000)
    ('45 s', '21.2 s', '2.5 min', '100,000 h')
    """
    if not_finite(seconds) is not None:
        return not_finite(seconds)
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 7200:
        return f"{seconds / 60:.3g} min"
    hours = seconds / 3600
    return f"{hours:,.0f} h" if hours >= 100 else f"{hours:.3g} h"


def card_duration(seconds: float) -> str:
    """A duration as a card's [budget] takes it: whole minutes, else seconds.

    >>> card_duration(120), card_duration(90), card_duration(29.2)
    ('2m', '90s', '30s')
    """
    if not_finite(seconds) is not None:
        return not_finite(seconds)
    whole = int(-(-seconds // 1))
    return f"{whole // 60}m" if whole % 60 == 0 else f"{whole}s"


HUGE = 1e15  # from here on a figure prints in powers of ten: its digits would mean nothing


def money(value: float | None) -> str:
    """A sum of money to the unit, never '-0'; beyond 1e15 in powers of ten.

    >>> money(12345.4), money(-0.3), money(None), money(float("inf")), money(-3e300)
    ('12,345', '0', '–', '∞', '-3e+300')
    """
    if value is None:
        return "–"
    if not_finite(value) is not None:
        return not_finite(value)
    if abs(value) >= HUGE:
        return f"{value:.3g}"
    rounded = round(value)
    return f"{rounded:,}" if rounded else "0"


def readable(value: float, digits: int = 4) -> str:
    """A figure as people read it: thousands with separators, small ones to `digits` figures.

    >>> readable(31309.6), readable(0.84372), readable(1.0), readable(-1234567.8), readable(2.5e-05)
    ('31,310', '0.8437', '1.000', '-1,234,568', '2.500e-05')
    >>> readable(float("nan")), readable(float("-inf")), readable(1e300)
    ('n/a', '-∞', '1e+300')
    """
    if not_finite(value) is not None:
        return not_finite(value)
    if abs(value) >= HUGE:
        return f"{value:.{digits}g}"
    if abs(value) >= 10 ** digits / 10:
        return f"{value:,.0f}"
    return f"{value:#.{digits}g}"  # '#' keeps the zeros: 1.000 beside 0.9993, not 1
