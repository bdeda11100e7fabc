"""The computation-graph picture: a layered (Sugiyama-style) layout drawn as inline SVG.

Layout, by our own code and no external program:

1. layers by depth (inputs on top; a constant or literal sits just above its first user);
2. edges longer than one layer get invisible waypoints, one per layer crossed (in big
   graphs, where they would number more than :data:`WAYPOINT_BUDGET`, only edges up to
   :data:`MAX_SPAN` layers long get them: the layout would grow with their square);
3. the order inside each layer is improved by barycentre sweeps (fewer crossings);
4. x positions are pulled toward the mean of the neighbours, keeping the order and a gap.

Each box shows the node's name, op, expression, value and gradient; a value that feeds
several nodes (a split) has an orange border and orange out-edges, and its gradient is
the sum of what comes back along them.  Every text is escaped.
"""
from __future__ import annotations

from html import escape

from .model import Explanation, ForwardRow

__all__ = ["render_svg", "layout", "Layout"]

BOX_W, BOX_H = 184, 74
GAP_X, GAP_Y = 28, 54
MARGIN = 16
LINE = 15
MAX_CHARS = 27
SWEEPS = 8
#: waypoints a layout may use before long edges are drawn without them
WAYPOINT_BUDGET = 1500
#: in a graph over the budget, edges crossing more layers than this get no waypoints
MAX_SPAN = 6

_FILL = {"input": "#e3f4e1", "constant": "#eeeeee", "literal": "#f6f6f6", "step": "#dce9f9",
         "inner": "#f0f5fc"}


class Layout:
    """Positions of the boxes (by node id) and the waypoints of every edge."""

    def __init__(self) -> None:
        self.pos: dict[int, tuple[float, float]] = {}
        self.edges: list[tuple[int, int, list[tuple[float, float]]]] = []
        self.width = 0.0
        self.height = 0.0


def _layers(rows: list[ForwardRow]) -> dict[int, int]:
    layer: dict[int, int] = {}
    for r in rows:  # topological order
        layer[r.node_id] = 1 + max((layer[a] for a in r.args if a in layer), default=-1)
    users: dict[int, list[int]] = {}
    for r in rows:
        for a in r.args:
            users.setdefault(a, []).append(r.node_id)
    for r in rows:
        if r.kind in ("constant", "literal") and r.node_id in users:
            layer[r.node_id] = max(0, min(layer[u] for u in users[r.node_id]) - 1)
    return layer


def layout(rows: list[ForwardRow]) -> Layout:
    """Place the boxes of ``rows`` (the forward table, in topological order)."""
    layer = _layers(rows)
    ids = {r.node_id for r in rows}
    # chains of waypoints ("dummy" vertices have negative ids)
    up: dict[int, list[int]] = {}
    down: dict[int, list[int]] = {}
    vlayer = dict(layer)
    edges: list[tuple[int, int, list[int]]] = []
    next_dummy = -1
    spans = [layer[r.node_id] - layer[a] - 1 for r in rows for a in r.args if a in ids]
    longest = MAX_SPAN if sum(spans) > WAYPOINT_BUDGET else max(spans, default=0)
    for r in rows:
        for a in r.args:
            if a not in ids:
                continue
            chain = [a]
            crossed = range(layer[a] + 1, layer[r.node_id])
            for lvl in (crossed if len(crossed) <= longest else ()):
                vlayer[next_dummy] = lvl
                chain.append(next_dummy)
                next_dummy -= 1
            chain.append(r.node_id)
            for s, t in zip(chain, chain[1:]):
                down.setdefault(s, []).append(t)
                up.setdefault(t, []).append(s)
            edges.append((a, r.node_id, chain[1:-1]))
    depth = max(vlayer.values(), default=0) + 1
    order: list[list[int]] = [[] for _ in range(depth)]
    for v in sorted(vlayer, key=lambda v: (vlayer[v], v if v >= 0 else 10**9 - v)):
        order[vlayer[v]].append(v)

    def sweep(levels, neighbours):
        for lvl in levels:
            if len(order[lvl]) < 2:
                continue  # nothing to reorder (most layers of most graphs)
            pos = {v: i for i, v in enumerate(order[lvl - 1 if neighbours is up else lvl + 1])}
            def bary(v, i):
                ns = [pos[n] for n in neighbours.get(v, []) if n in pos]
                return (sum(ns) / len(ns), i) if ns else (float(i), i)
            order[lvl] = [v for _, v in sorted(((bary(v, i), v) for i, v in enumerate(order[lvl])),
                                               key=lambda t: t[0])]

    for _ in range(SWEEPS // 2):
        before = [list(level) for level in order]
        sweep(range(1, depth), up)
        sweep(range(depth - 2, -1, -1), down)
        if order == before:
            break  # settled: another round would compute the same orders again

    unit = BOX_W + GAP_X
    x: dict[int, float] = {}
    for lvl in range(depth):
        for i, v in enumerate(order[lvl]):
            x[v] = i * unit

    def width_of(v):
        return BOX_W if v >= 0 else 8

    def settle(lvl, neighbours):
        vs = order[lvl]
        if len(vs) == 1:  # alone in its layer: it goes where its neighbours want it (the same sums as below)
            v = vs[0]
            ns = [x[n] for n in neighbours.get(v, [])]
            x[v] = (sum(ns) / len(ns) if ns else x[v]) + 0.0
            return
        want = []
        for v in vs:
            ns = [x[n] for n in neighbours.get(v, [])]
            want.append(sum(ns) / len(ns) if ns else x[v])
        placed: list[float] = []
        for i, v in enumerate(vs):
            lo = placed[-1] + (width_of(vs[i - 1]) + width_of(v)) / 2 + GAP_X if placed else -1e18
            placed.append(max(want[i], lo))
        shift = (sum(want) - sum(placed)) / len(vs) if vs else 0
        # shift back toward the wanted mean without breaking the gaps
        for v, p in zip(vs, placed):
            x[v] = p + shift

    for _ in range(4):
        before = dict(x)
        for lvl in range(1, depth):
            settle(lvl, up)
        for lvl in range(depth - 2, -1, -1):
            settle(lvl, down)
        if x == before:
            break  # settled: another round would compute the same positions again
    left = min(x.values(), default=0) - BOX_W / 2
    out = Layout()
    every = {v: (x[v] - left + MARGIN, MARGIN + vlayer[v] * (BOX_H + GAP_Y) + BOX_H / 2) for v in x}
    out.pos = {v: p for v, p in every.items() if v >= 0}
    for a, b, dummies in edges:
        out.edges.append((a, b, [every[d] for d in dummies]))
    out.width = max((p[0] for p in every.values()), default=0) + BOX_W / 2 + MARGIN
    out.height = MARGIN * 2 + depth * (BOX_H + GAP_Y) - GAP_Y
    return out


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def _path(points: list[tuple[float, float]]) -> str:
    d = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        my = (y0 + y1) / 2
        d += f" C{x0:.1f},{my:.1f} {x1:.1f},{my:.1f} {x1:.1f},{y1:.1f}"
    return d


def render_svg(ex: Explanation) -> str:
    """The graph of ``ex`` as one ``<svg>`` element (well-formed XML)."""
    rows = ex.forward
    lay = layout(rows)
    by_id = {r.node_id: r for r in rows}
    out_row = rows[-1].node_id if rows else -1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{lay.width:.0f}" '
        f'height="{lay.height:.0f}" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" '
        f'role="img" aria-label="computation graph of {escape(ex.case)}" '
        'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        '<marker id="arrow-split" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#d35400"/></marker></defs>',
    ]
    for a, b, via in lay.edges:
        (ax, ay), (bx, by) = lay.pos[a], lay.pos[b]
        pts = [(ax, ay + BOX_H / 2)] + via + [(bx, by - BOX_H / 2 - 2)]
        split = by_id[a].consumers > 1
        colour, marker = ("#d35400", "arrow-split") if split else ("#555", "arrow")
        parts.append(f'<path d="{_path(pts)}" fill="none" stroke="{colour}" stroke-width="1.3" '
                     f'marker-end="url(#{marker})"><title>{escape(by_id[a].name)} → '
                     f'{escape(by_id[b].name)}</title></path>')
    for r in rows:
        cx, cy = lay.pos[r.node_id]
        x0, y0 = cx - BOX_W / 2, cy - BOX_H / 2
        split = r.consumers > 1
        stroke = "#d35400" if split else ("#1b2a41" if r.node_id == out_row else "#7a8aa0")
        width = 2.4 if r.node_id == out_row or split else 1
        expr = r.expression.split(" = ", 1)[1] if " = " in r.expression else r.op
        grad = "—" if r.gradient is None else r.gradient.text
        head = f"{r.name}  [{r.op}]" + (f"  splits ×{r.consumers}" if split else "")
        lines = [(head, "bold"), (f"= {expr}", ""), (f"value {r.value.text}", ""),
                 (f"grad  {grad}", "grad")]
        tip = f"{r.name} = {r.source or expr}\nvalue: {r.value.compact}"
        parts.append(f'<g class="node {escape(r.kind)}" data-name="{escape(r.name)}">'
                     f'<title>{escape(tip)}</title>'
                     f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{BOX_W}" height="{BOX_H}" rx="6" '
                     f'fill="{_FILL.get(r.kind, "#fff")}" stroke="{stroke}" stroke-width="{width}"/>')
        for i, (text, style) in enumerate(lines):
            attrs = ' font-weight="bold"' if style == "bold" else (' fill="#8e2a0b"' if style == "grad" else "")
            parts.append(f'<text x="{x0 + 8:.1f}" y="{y0 + 17 + i * LINE:.1f}"{attrs}>'
                         f'{escape(_clip(text))}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)
