"""Plumbing shared by the widget panels (``toolkit.quality_widgets``, ``toolkit.ab.widgets``).

A panel's logic lives in a plain mixin; the panel class itself (mixin + ``ipywidgets.VBox``) is
made on first use, so importing a widgets module does not import ipywidgets. Figures reach an
``ipywidgets.Image`` as PNG bytes.
"""

from __future__ import annotations

import io
import types

__all__ = ["panel_class", "png_bytes"]

_CLASSES: dict[str, type] = {}


def panel_class(mixin: type, name: str, doc: str) -> type:
    """The class ``name(mixin, ipywidgets.VBox)``, made once.

    Examples
    --------
    >>> class _Logic:
    ...     def greet(self):
    ...         return "hi"
    >>> Panel = panel_class(_Logic, "DemoPanel", "A demo panel.")
    >>> Panel is panel_class(_Logic, "DemoPanel", "A demo panel."), Panel().greet()
    (True, 'hi')
    """
    key = f"{mixin.__module__}.{name}"
    cls = _CLASSES.get(key)
    if cls is None:
        import ipywidgets as w

        def body(ns):
            ns.update(__doc__=doc, __module__=mixin.__module__, __qualname__=name)

        cls = _CLASSES[key] = types.new_class(name, (mixin, w.VBox), exec_body=body)
    return cls


def png_bytes(fig, dpi: int) -> bytes:
    """``fig`` rendered as PNG.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> png_bytes(Figure(figsize=(1, 1)), 10)[:4]
    b'\\x89PNG'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
