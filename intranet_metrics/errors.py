"""The project's exceptions and the exit codes the CLI maps them to.

Every message names the input and says what to do next; ``cli.py`` prints it as one
``Error: ...`` line on stderr and exits with the code of the exception's class.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of the ``intranet-metrics`` command."""

    OK = 0
    ERROR = 1  # unexpected internal error (a bug: please report it with --debug output)
    USAGE = 2  # bad options or arguments (click's own code too)
    GOALS_NOT_MET = 3  # compare --fail-on-goals and a goal is not met
    BAD_INPUT = 4  # an input file cannot be read as any known format, or is malformed
    STORE = 5  # the store is locked, damaged, not a store, or uses another key
    CONFIG = 6  # config, roster or goals file is invalid
    VERIFY_CHANGED = 7  # verify: an input listed in a report changed or is missing


class IntranetMetricsError(Exception):
    """Base class: a problem the user can fix; the message says how."""

    exit_code: ExitCode = ExitCode.ERROR


class UsageError(IntranetMetricsError):
    exit_code = ExitCode.USAGE


class InputError(IntranetMetricsError):
    """An input file is unreadable, of no known format, or lacks a required column."""

    exit_code = ExitCode.BAD_INPUT


class StoreError(IntranetMetricsError):
    exit_code = ExitCode.STORE


class ConfigError(IntranetMetricsError):
    """The config, roster or goals file is invalid."""

    exit_code = ExitCode.CONFIG


class VerifyError(IntranetMetricsError):
    exit_code = ExitCode.VERIFY_CHANGED
