"""The ``toolkit`` command line.

Each subcommand lives in its own module under :mod:`toolkit.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking the parsed
arguments and returning an exit code. New subcommands slot in by adding a module; this file does
not change. Heavy imports stay inside the subcommand's ``run`` so ``toolkit --help`` is fast.

Exit codes: 0 success, 1 a run failed (e.g. a batch with failed runs, out of memory), 2 invalid
input or usage, 141 stdout closed by its reader (`toolkit report ... | head`; no traceback).

Examples
--------
>>> from toolkit.cli import main
>>> main(["--version"])  # doctest: +SKIP
toolkit 0.1.0
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from typing import Any, Sequence

__all__ = ["main", "build_parser", "print_json"]


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (numpy, pandas and NaN values made JSON-safe).

    Examples
    --------
    >>> print_json({"p": float("nan"), "n": 3})
    {
      "p": null,
      "n": 3
    }
    """
    from toolkit._files import to_jsonable

    json.dump(to_jsonable(obj), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand found in :mod:`toolkit.commands`.

    Examples
    --------
    >>> build_parser().parse_args(["validate", "data/sample"]).command
    'validate'
    """
    from toolkit import __version__, commands

    parser = argparse.ArgumentParser(
        prog="toolkit",
        description="Chatbot experimentation toolkit: score, test, cluster and forecast "
        "conversation logs; run the notebooks as papermill batches.",
    )
    parser.add_argument("--version", action="version", version=f"toolkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"toolkit.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used as the process exit status).

    Examples
    --------
    >>> main(["validate", "/no/such/file"])  # prints the error on stderr
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from toolkit.errors import ToolkitError

    restore = _terminate_cleanly()
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not as "Exception ignored" at exit
    except BrokenPipeError:
        return _reader_gone()
    except MemoryError as exc:  # a log too big for this machine: one line, not a traceback
        print(f"error: out of memory in `toolkit {args.command}` ({_redacted(exc) or 'MemoryError'}); "
              "give it a smaller input (a time range, a sample) or use --engine dask where the "
              "command has it", file=sys.stderr)
        return 1
    except ToolkitError as exc:
        return _fail(exc)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        return _fail(exc)
    except OSError as exc:
        if exc.errno in _INPUT_ERRNOS:
            return _fail(exc)
        raise
    finally:
        restore()
    return int(code or 0)


# errno values that come from what the user gave (paths, disks), not from a bug
_INPUT_ERRNOS = {2, 13, 20, 21, 28, 30, 36, 40, 122}  # ENOENT EACCES ENOTDIR EISDIR ENOSPC EROFS ENAMETOOLONG ELOOP EDQUOT


def _reader_gone() -> int:
    """stdout's reader went away (``toolkit report ... | head``): stop quietly, like a C tool
    killed by SIGPIPE. Later writes and the flush at exit go to /dev/null; returns 141."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass
    return 128 + 13  # SIGPIPE


def _redacted(exc: BaseException) -> str:
    from toolkit._secrets import redact

    return redact(str(exc))[:300]


def _fail(exc: BaseException) -> int:
    """Print ``exc`` after ``error:`` (OS errors as file and reason), redacted, and return 2."""
    from toolkit._secrets import redact

    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc) or type(exc).__name__
    print(f"error: {redact(text)}", file=sys.stderr)
    return 2


def _terminate_cleanly():
    """Turn SIGTERM into SystemExit so ``finally`` blocks run (temporary files removed, pools
    stopped); return the function restoring the previous handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_term(signum, frame):
        from toolkit._files import remove_live_temps

        remove_live_temps()
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except (ValueError, OSError):  # pragma: no cover - not the main thread of the interpreter
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
