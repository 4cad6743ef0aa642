"""Base exceptions shared by every layer.

Examples
--------
>>> from toolkit.errors import UsageError
>>> issubclass(UsageError, Exception)
True
"""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """A problem with the command's arguments or inputs: printed, exit code 2."""
