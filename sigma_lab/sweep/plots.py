"""Pictures of a sweep: a metric over two parameters, and all parameters at once."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from sigma_lab.errors import ConfigError


def _need(table: pd.DataFrame, *names: str) -> None:
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise ConfigError(f"sweep table has no column {missing[0]!r}; columns: {list(table.columns)}")


def heatmap(table: pd.DataFrame, x: str, y: str, metric: str = "sharpe", agg: str = "max") -> go.Figure:
    """Heatmap of ``metric`` with ``x`` across and ``y`` down; other parameters folded by ``agg``."""
    _need(table, x, y, metric)
    grid = table.pivot_table(index=y, columns=x, values=metric, aggfunc=agg)
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[str(v) for v in grid.columns],
            y=[str(v) for v in grid.index],
            colorscale="RdYlGn",
            colorbar={"title": metric},
            hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{metric}=%{{z:.4g}}<extra></extra>",
        )
    )
    fig.update_layout(title=f"{metric} ({agg} over other parameters)", xaxis_title=x, yaxis_title=y)
    return fig


def parallel_coordinates(table: pd.DataFrame, params: Sequence[str], metric: str = "sharpe") -> go.Figure:
    """Parallel coordinates: one line per configuration through its parameters, coloured by ``metric``."""
    _need(table, *params, metric)
    dims = []
    for name in [*params, metric]:
        col = table[name]
        if pd.api.types.is_numeric_dtype(col):
            dims.append({"label": name, "values": col.astype(float).to_numpy()})
        else:
            codes, labels = pd.factorize(col.astype(str))
            dims.append(
                {
                    "label": name,
                    "values": codes,
                    "tickvals": list(range(len(labels))),
                    "ticktext": list(labels),
                }
            )
    line = {"color": table[metric].astype(float).to_numpy(), "colorscale": "RdYlGn", "showscale": True}
    return go.Figure(go.Parcoords(line=line, dimensions=dims))
