"""Base exceptions shared by every layer.

Examples
--------
>>> from toolkit.errors import UsageError
>>> issubclass(UsageError, Exception)
True
>>> issubclass(ToolkitError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["ToolkitError", "UsageError"]


class ToolkitError(ValueError):
    """Base of the toolkit's input errors: bad data, files, labels or options.

    The command line prints the message on one line and exits with code 2. New error classes
    for user input subclass this one.
    """


class UsageError(Exception):
    """A problem with the command's arguments or inputs: printed, exit code 2."""
