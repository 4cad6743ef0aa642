"""Lazy package attributes (PEP 562), shared by ``toolkit``, ``toolkit.ab`` and ``toolkit.sources``.

A package lists ``name -> defining module``; a name is imported on first access, so importing
the package stays cheap while the heavy scientific stack loads only when it is used.
"""

from __future__ import annotations

import importlib
from typing import Callable

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, names: dict[str, str], namespace: dict, extra: tuple[str, ...] = ()
                    ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` resolving ``names`` on first use.

    Examples
    --------
    >>> ns = {}
    >>> getattr_, dir_ = lazy_attributes("demo", {"sqrt": "math"}, ns)
    >>> getattr_("sqrt")(9.0), "sqrt" in ns, dir_()
    (3.0, True, ['sqrt'])
    """
    public = sorted([*extra, *names])

    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return list(public)

    return __getattr__, __dir__
