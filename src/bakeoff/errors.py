"""The errors bakeoff raises, each mapped to an exit code by the CLI.

    BakeoffError              anything the user can fix; exit 2
    ├── ConfigError           the problem card or a command-line option
    ├── DataError             the data: missing file, bad target, leakage
    │   └── LeakageError      a feature that is a copy of the target
    ├── CandidateError        an unknown or broken candidate name/class
    └── TrackingError         MLflow could not be reached or written

Messages are one line: what is wrong, then what to do instead.
"""


class BakeoffError(Exception):
    """A problem the user caused and can fix; the CLI prints it as one line, exit 2."""

    exit_code = 2


class ConfigError(BakeoffError):
    """The problem card or an option is invalid."""


class DataError(BakeoffError):
    """The data cannot be used as given."""


class LeakageError(DataError):
    """A feature is a copy of the target; `column` names it."""

    def __init__(self, message: str, column: str):
        super().__init__(message)
        self.column = column


class CandidateError(BakeoffError):
    """A candidate name or class is unknown or does not follow the Candidate contract."""


class TrackingError(BakeoffError):
    """Logging to MLflow failed; the run folder on disk is complete."""


class BadValue(ValueError):
    """A value a model's input column cannot hold (a list in a number column, text that is no
    number): a served row is refused with it, naming the column."""
