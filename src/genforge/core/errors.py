"""Errors a user can act on.

Library code raises a :class:`GenforgeError` subclass whose message says what was wrong and what to do;
the CLI catches ``GenforgeError`` once, prints the message on one line and exits with status 2. Any other
exception escaping to the CLI is a bug in genforge.
"""


class GenforgeError(Exception):
    """Base class: a problem with the user's input, files or environment, explained in one line."""


class ConfigError(GenforgeError):
    """An unknown config key or a bad value."""


class DataError(GenforgeError):
    """A dataset that cannot be found, read or used (names the file where there is one)."""


class CheckpointError(GenforgeError):
    """A checkpoint or run directory that is missing, incomplete or from an incompatible model."""


class ModelNotFound(GenforgeError):
    """A name that no registry knows."""


class RunNotFound(GenforgeError):
    """A run id or path that does not exist."""


class TrainingDiverged(GenforgeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class MissingDependency(GenforgeError):
    """An optional package (an extra) is not installed."""


def require(module: str, extra: str):
    """Import an optional dependency or raise :class:`MissingDependency` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"this needs the Python package '{module.split('.')[0]}': pip install 'genforge[{extra}]'"
        ) from exc
