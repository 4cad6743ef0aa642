"""Reusable ``argparse`` types with ranges: a bad option value is refused while parsing.

Each factory returns a function for ``add_argument(type=...)`` that converts the text and raises
``argparse.ArgumentTypeError`` naming the allowed range, so ``toolkit X --alpha 2`` exits with
code 2 and one message before any work starts.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser()
>>> _ = p.add_argument("--alpha", type=open_unit("--alpha"))
>>> _ = p.add_argument("--n", type=int_range("--n", 1, 10))
>>> p.parse_args(["--alpha", "0.05", "--n", "3"])
Namespace(alpha=0.05, n=3)
>>> open_unit("--alpha")("2")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: --alpha must be a number strictly between 0 and 1, got '2'
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Callable

__all__ = [
    "int_range",
    "float_range",
    "positive_float",
    "open_unit",
    "timezone",
    "memory_size",
    "LIMIT_OVERRIDE_ENV",
    "MAX_BOOTSTRAP",
]

#: the environment variable that lifts the size limits of the options (e.g. ``--bootstrap``)
LIMIT_OVERRIDE_ENV = "TOOLKIT_NO_LIMITS"
#: the most bootstrap resamples an option (``--bootstrap``) takes without that variable
MAX_BOOTSTRAP = 100_000


def _limits_lifted() -> bool:
    import os

    return os.environ.get(LIMIT_OVERRIDE_ENV, "").strip().lower() in ("1", "true", "yes")


def int_range(name: str, low: int | None = None, high: int | None = None, *, hard: bool = False) -> Callable[[str], int]:
    """An integer type in ``[low, high]``; ``high`` is a soft limit unless ``hard``.

    A soft upper limit is lifted by setting ``TOOLKIT_NO_LIMITS=1`` (the message says so).

    Examples
    --------
    >>> int_range("--k-max", 2, 200)("12")
    12
    >>> int_range("--k-max", 2, 200)("1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: --k-max must be an integer >= 2 and <= 200, got '1'
    """
    rng = " and ".join(s for s in (f">= {low}" if low is not None else "", f"<= {high}" if high is not None else "") if s)

    def convert(text: str) -> int:
        try:
            value = int(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer {rng}, got {text!r}".replace("  ", " ")) from None
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"{name} must be an integer {rng}, got {text!r}")
        if high is not None and value > high and (hard or not _limits_lifted()):
            extra = "" if hard else f" (a safety limit: set {LIMIT_OVERRIDE_ENV}=1 to lift it)"
            raise argparse.ArgumentTypeError(f"{name} must be an integer {rng}, got {text!r}{extra}")
        return value

    convert.__name__ = "integer"
    return convert


def float_range(name: str, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False) -> Callable[[str], float]:
    """A finite float in a (half-)open or closed range.

    Examples
    --------
    >>> float_range("--sd", 0, low_open=True)("1.5")
    1.5
    >>> float_range("--sd", 0, low_open=True)("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: --sd must be a finite number > 0, got 'nan'
    """
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    rng = " and ".join(parts)

    def convert(text: str) -> float:
        msg = f"{name} must be a finite number{' ' + rng if rng else ''}, got {text!r}"
        try:
            value = float(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(msg) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(msg)
        if low is not None and (value < low or (low_open and value == low)):
            raise argparse.ArgumentTypeError(msg)
        if high is not None and (value > high or (high_open and value == high)):
            raise argparse.ArgumentTypeError(msg)
        return value

    convert.__name__ = "number"
    return convert


def positive_float(name: str, high: float | None = None) -> Callable[[str], float]:
    """A finite float > 0 (and <= ``high``).

    Examples
    --------
    >>> positive_float("--timeout")("2.5")
    2.5
    """
    return float_range(name, 0, high, low_open=True)


def open_unit(name: str) -> Callable[[str], float]:
    """A number strictly between 0 and 1 (alpha, power, quantiles).

    Examples
    --------
    >>> open_unit("--power")("0.8")
    0.8
    """

    def convert(text: str) -> float:
        try:
            value = float(str(text).strip())
        except ValueError:
            value = float("nan")
        if not (0.0 < value < 1.0):
            raise argparse.ArgumentTypeError(f"{name} must be a number strictly between 0 and 1, got {text!r}")
        return value

    convert.__name__ = "number"
    return convert


def timezone(text: str) -> str:
    """An IANA time zone name (``Europe/Berlin``, ``UTC``), checked with :mod:`zoneinfo`.

    Examples
    --------
    >>> timezone("UTC")
    'UTC'
    >>> timezone("Mars/Olympus")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: --tz must be an IANA time zone such as UTC or Europe/Berlin, got 'Mars/Olympus'
    """
    from toolkit.validation import check_timezone

    try:
        return check_timezone(text, "--tz")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_SIZE = re.compile(r"(?i)^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$")


def memory_size(text: str) -> str:
    """A memory size such as ``2GB``, ``512MiB`` or ``1e9`` bytes (``auto`` allowed), returned as given.

    Examples
    --------
    >>> memory_size("2GB")
    '2GB'
    >>> memory_size("lots")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: --memory-limit must be a size such as 2GB, 512MiB or auto, got 'lots'
    """
    t = str(text).strip()
    if t.lower() == "auto":
        return t
    m = _SIZE.match(t)
    if m is None:
        try:
            ok = float(t) > 0 and math.isfinite(float(t))
        except ValueError:
            ok = False
        if not ok:
            raise argparse.ArgumentTypeError(f"--memory-limit must be a size such as 2GB, 512MiB or auto, got {text!r}")
        return t
    if float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"--memory-limit must be a positive size, got {text!r}")
    return t
