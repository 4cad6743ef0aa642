"""Base exceptions shared by every layer.

Examples
--------
>>> from toolkit.errors import UsageError
>>> issubclass(UsageError, ToolkitError)
True
>>> issubclass(ToolkitError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["ToolkitError", "UsageError", "OutputError", "InputFileError"]


class ToolkitError(ValueError):
    """Base of the toolkit's input errors: bad data, files, labels or options.

    The command line prints the message on one line and exits with code 2. New error classes
    for user input subclass this one.
    """


class UsageError(ToolkitError):
    """A problem with the command's arguments or inputs: printed, exit code 2."""


class OutputError(ToolkitError):
    """An output cannot be written (a folder where a file is wanted, read-only, disk full, ...)."""


class InputFileError(ToolkitError):
    """An input file cannot be read (not a regular file, corrupt, too deeply nested, ...)."""
