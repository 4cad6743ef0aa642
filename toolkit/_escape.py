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

__all__ = ["html_text", "md_text", "defuse_markdown", "defuse_html"]

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")
_OTHER_AMP = re.compile(r"&(?!(?:lt|gt|amp|quot|#x27|#39);)")
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
    >>> defuse_markdown("error: " + md_text("<Response [500]>") + " &#106;")
    'error: &lt;Response \\\\[500\\\\]&gt; &amp;#106;'
    """
    text = str(markdown)
    # values escaped once already (md_text/html_text: &lt; &gt; &amp; &quot; &#x27;) keep that one
    # escape, or the reader sees "&lt;"; any other entity could spell a scheme ("&#106;avascript:")
    text = _OTHER_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    # a Markdown block quote starts with '>' at the line start: keep it working
    text = re.sub(r"(?m)^(\s*)&gt;", r"\1>", text)
    return _BAD_SCHEME.sub(lambda m: m.group(1) + "#blocked:", text)


_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "details", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "kbd", "li", "ol", "p", "pre", "s", "small", "span", "strong", "style", "sub", "summary", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    name = name.lower()
    if name.startswith("on") or name in ("formaction", "srcdoc"):
        return False
    if name in ("href", "src", "xlink:href", "action"):
        v = re.sub(r"[\x00-\x20]", "", value or "").lower()
        if v.startswith(("javascript:", "vbscript:")):
            return False
        if v.startswith("data:") and not (tag == "img" and v.startswith("data:image/") and "svg" not in v[:20]):
            return False
    return True


def defuse_html(fragment: str) -> str:
    """An HTML output fragment without anything that runs: no ``<script>``, ``<iframe>``,
    ``<object>``, event handlers (``onerror=``) or ``javascript:`` links; tables, styles and
    images are kept.

    Examples
    --------
    >>> defuse_html('<div class="x"><img src=x onerror=alert(1)><script>alert(2)</script>ok</div>')
    '<div class="x"><img src="x">&lt;script&gt;alert(2)&lt;/script&gt;ok</div>'
    """
    import bleach
    from bleach.css_sanitizer import ALLOWED_CSS_PROPERTIES, CSSSanitizer

    css = CSSSanitizer(allowed_css_properties=set(ALLOWED_CSS_PROPERTIES) | _CSS)
    return bleach.clean(str(fragment), tags=_TAGS, attributes=_allowed_attribute, css_sanitizer=css,
                        protocols={"http", "https", "mailto", "data"}, strip=False, strip_comments=True)


_CSS = {
    "background", "border", "border-left", "border-right", "border-top", "border-bottom", "padding",
    "padding-left", "padding-right", "padding-top", "padding-bottom", "margin", "margin-left",
    "margin-right", "margin-top", "margin-bottom", "font-family", "font-size", "font-weight",
    "text-align", "vertical-align", "white-space", "width", "height", "max-width", "display",
    "border-collapse", "border-spacing", "opacity", "line-height",
}
