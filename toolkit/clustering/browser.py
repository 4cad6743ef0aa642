"""An ipywidgets panel to browse the clusters of a :class:`ClusterResult`."""

from __future__ import annotations

import pandas as pd

__all__ = ["cluster_browser", "topic_level_slider"]


def cluster_browser(result: "ClusterResult", *, n: int = 15):
    """An ipywidgets panel: pick a cluster in a dropdown, see its label, profile and messages.

    The panel is a ``VBox`` with attributes ``dropdown`` (``ipywidgets.Dropdown`` whose values
    are cluster ids, listed in profile order, worst-served first) and ``table`` (an ``HTML``
    widget with the cluster's most frequent messages, CSS class ``cluster-messages``); setting
    ``dropdown.value`` redraws the table, so it can be driven from code and tests.

    Parameters
    ----------
    result : ClusterResult
    n : int
        Messages shown.

    Returns
    -------
    ipywidgets.VBox

    Examples
    --------
    >>> res = cluster_log(toolkit.load_sample(), k=18)        # doctest: +SKIP
    >>> panel = cluster_browser(res); panel.dropdown.value = 3 # doctest: +SKIP
    """
    import html

    import ipywidgets as w

    prof = result.profile.set_index("cluster")
    options = [(f"{c}: {prof.loc[c, 'label']} ({int(prof.loc[c, 'size']):,})", int(c)) for c in prof.index]
    dropdown = w.Dropdown(options=options, value=options[0][1] if options else None,
                          description="cluster", layout=w.Layout(width="520px"))
    dropdown.add_class("cluster-select")
    table = w.HTML()
    table.add_class("cluster-messages")

    def render(change=None) -> None:
        c = dropdown.value
        if c is None:
            table.value = "<p>no clusters</p>"
            return
        row = prof.loc[c]
        facts = [f"<b>{html.escape(str(row['label']))}</b>", f"{int(row['size']):,} messages ({row['share']:.1%})"]
        for col, name in (("resolution_rate", "resolved"), ("satisfaction", "satisfaction"),
                          ("mean_quality", "quality")):
            if col in row and pd.notna(row[col]):
                facts.append(f"{name} {row[col]:.2f}")
        top = result.top_messages(c, n=n)
        body = top.to_html(index=False, escape=True, float_format=lambda x: f"{x:.2f}", border=0)
        table.value = f"<p>{' · '.join(facts)}</p>{body}"

    dropdown.observe(render, names="value")
    render()
    panel = w.VBox([dropdown, table])
    panel.dropdown = dropdown
    panel.table = table
    return panel


def topic_level_slider(result: "ClusterResult", *, value: int | None = None, n_rows: int = 12):
    """An ipywidgets panel: an ``IntSlider`` over the number of topics (2 .. fitted k) that
    re-reads the result at that level (:meth:`ClusterResult.at_level`, no re-embedding) and
    redraws the profile table and the map.

    The panel is a ``VBox`` with attributes ``slider``, ``table`` (``ipywidgets.HTML``) and
    ``image`` (``ipywidgets.Image`` of the map), for tests.

    Examples
    --------
    >>> res = cluster_log(toolkit.load_sample(), k=18)          # doctest: +SKIP
    >>> panel = topic_level_slider(res); panel.slider.value = 5  # doctest: +SKIP
    """
    import ipywidgets as w

    k = int(result.k)
    lo = 2 if k >= 2 else 1
    slider = w.IntSlider(value=int(value or k), min=lo, max=max(k, lo), description="topics",
                         continuous_update=False, layout=w.Layout(width="520px"))
    slider.add_class("topic-level")
    table = w.HTML()
    image = w.Image(format="png")

    def render(change=None) -> None:
        r = result.at_level(slider.value) if result.hierarchy is not None else result
        cols = [c for c in ("cluster", "label", "size", "share", "resolution_rate", "satisfaction",
                            "mean_quality", "failure_rate", "excess_failures") if c in r.profile]
        table.value = r.profile[cols].head(n_rows).to_html(index=False, escape=True, border=0,
                                                           float_format=lambda x: f"{x:.3f}")
        import io

        buf = io.BytesIO()
        r.plot_map().savefig(buf, format="png", dpi=70)
        image.value = buf.getvalue()

    slider.observe(render, names="value")
    render()
    panel = w.VBox([slider, table, image])
    panel.slider, panel.table, panel.image = slider, table, image
    return panel
