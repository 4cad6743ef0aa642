"""The one escaping helper for reports: data values never reach HTML or Markdown as markup.

- :func:`html_text`: a value as HTML text (``<`` ``>`` ``&`` and quotes escaped);
- :func:`md_text`: a value as Markdown text (HTML escaped, and the Markdown characters that
  would make it bold, a link or a heading shown literally);
- :func:`defuse_markdown`: a whole Markdown document made of trusted markup and untrusted values
  (a notebook's ``display(Markdown(...))`` output) with raw HTML shown as text and
  ``javascript:``/``data:``/``vbscript:`` link targets disabled. :func:`toolkit.export.export_html`
  applies it to every Markdown output before nbconvert renders it.

Examples
--------
>>> html_text('<img src=x onerror=alert(1)>')
'&lt;img src=x onerror=alert(1)&gt;'
>>> md_text("*bold* <script>")
'\\\\*bold\\\\* &lt;script&gt;'
>>> defuse_markdown("- **model**: <script>alert(2)</script> [x](javascript:alert(1))")
'- **model**: &lt;script&gt;alert(2)&lt;/script&gt; [x](#blocked:alert(1))'
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

__all__ = ["html_text", "md_text", "defuse_markdown"]

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")
_BAD_SCHEME = re.compile(r"(?i)(\]\(\s*|<\s*|href\s*=\s*[\"']?\s*)(javascript|vbscript|data)\s*:")


def html_text(value: Any) -> str:
    """``value`` as text that HTML shows literally.

    Examples
    --------
    >>> html_text('"a" & b')
    '&quot;a&quot; &amp; b'
    """
    return _html.escape("" if value is None else str(value), quote=True)


def md_text(value: Any) -> str:
    """``value`` as text that Markdown (and the HTML inside Markdown) shows literally.

    Examples
    --------
    >>> md_text("model_[v2]")
    'model\\\\_\\\\[v2\\\\]'
    """
    text = "" if value is None else str(value)
    text = _html.escape(text, quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("\n", " ")


def defuse_markdown(markdown: str) -> str:
    """Markdown with raw HTML shown as text and script link targets disabled.

    Markdown's own syntax (emphasis, lists, code, links to http(s) pages) is kept; HTML tags
    become visible text, so a data value such as ``<img src=x onerror=...>`` cannot run.

    Examples
    --------
    >>> defuse_markdown("**a** & <b>b</b>")
    '**a** &amp; &lt;b&gt;b&lt;/b&gt;'
    """
    text = str(markdown)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # a Markdown block quote starts with '>' at the line start: keep it working
    text = re.sub(r"(?m)^(\s*)&gt;", r"\1>", text)
    return _BAD_SCHEME.sub(lambda m: m.group(1) + "#blocked:", text)
