"""What a case will cost, known before any number is computed; and a clock for the rest.

A case file of 85 bytes can ask for a 25,000 × 25,000 intermediate, and one of 1 KB for
250 products of 3,000 × 3,000 matrices.  The shapes of every node follow from the
shapes of the leaves alone, so they are found first — each primitive declares its shape
rule in the registry (``shape``; elementwise primitives get numpy's broadcast rule), so
nothing is allocated or computed and torch is not needed — and every node is held to
the element limit, the whole graph to a cost limit (an estimate of the multiply-adds of
one forward pass, from each primitive's ``cost`` rule), each with a located error naming
the step.

What the shapes cannot bound (Python-level work, a slow primitive) is bounded by time:
:func:`deadline` raises :class:`OutOfTime` in the main thread after so many seconds.
"""
from __future__ import annotations

import math
import signal
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator, Mapping, Sequence

from .errors import LimitError
from .graph import Graph, Node

__all__ = ["static_shapes", "shapes_and_params", "check_graph", "node_cost", "deadline", "OutOfTime", "DEFAULT_COST_LIMIT", "warm_up"]

#: multiply-adds one forward pass of a case may need (about a few seconds of numpy on one core)
DEFAULT_COST_LIMIT = 10**11


def static_shapes(graph: Graph, leaf_shapes: Mapping[str, Sequence[int]]) -> tuple[list[tuple[int, ...]], int | None]:
    """The shape of every node, from the leaves' shapes alone (nothing allocated).

    Returns the shapes found and the id of the first node whose shape could not be
    found (arguments that do not fit: the forward pass then reports it in its own
    words; or a plugin layer, whose shape is known only once it runs), or None when
    every shape is known.
    """
    shapes, _, failed = shapes_and_params(graph, leaf_shapes)
    return shapes, failed


#: (primitive name, argument shapes) -> (the primitive, its parameters as its rules see them, the
#: result's shape) of the calls without parameters of their own met so far: a shape rule is a
#: function of the shapes, and a library repeats a few calls (x * y of two (3,) arrays) hundreds of
#: times.  An entry counts only for the very primitive it was found for (mutation testing swaps them).
_CALLS: dict[tuple, tuple] = {}
_CALLS_MAX = 4096


def shapes_and_params(graph: Graph, leaf_shapes: Mapping[str, Sequence[int]],
                      known: tuple[list[tuple[int, ...]], list[dict | None]] | None = None
                      ) -> tuple[list[tuple[int, ...]], list[dict | None], int | None]:
    """:func:`static_shapes`, with each node's parameters as its rules see them (None for a leaf),
    so that :func:`check_graph` need not normalise them again.  ``known`` holds the shapes and
    parameters of the graph's first nodes, found before (a claim's graph extends its case's):
    only the nodes after them are visited."""
    import numpy as np

    from .ops import registry

    shapes, params = (list(known[0]), list(known[1])) if known else ([], [])
    get, normalise, output_shape = registry.get, registry.normalise_params, registry.output_shape
    for node in graph.nodes[len(shapes):]:
        try:
            if node.op == "literal":
                shape, p = tuple(np.shape(node.value)), None
            elif node.is_leaf:
                shape, p = tuple(int(s) for s in leaf_shapes[node.name]), None
            else:
                prim = get(node.op)
                args = [shapes[a] for a in node.args]
                key = None if node.params else (node.op, tuple(args))
                known_call = _CALLS.get(key) if key else None
                if known_call is not None and known_call[0] is prim:
                    _, p, shape = known_call
                else:
                    p = normalise(prim, node.params, [len(s) for s in args], 0, args[0] if args else ())
                    shape = output_shape(prim, args, p)
                    if key:
                        if len(_CALLS) >= _CALLS_MAX:
                            _CALLS.clear()
                        _CALLS[key] = (prim, p, shape)
        except Exception:  # noqa: BLE001 - a shape that does not fit: the forward pass says which
            return shapes, params, node.id
        shapes.append(shape)
        params.append(p)
    return shapes, params, None


def _params(node: Node, shapes: Sequence[tuple[int, ...]]) -> dict:
    """The node's parameters as its rules see them, without batch axes (nb = 0)."""
    from .ops import registry

    args = [shapes[a] for a in node.args]
    return registry.normalise_params(registry.get(node.op), node.params, [len(s) for s in args], 0,
                                     args[0] if args else ())


@lru_cache(maxsize=1)
def warm_up() -> None:
    """Pay once, outside any time limit, what registering the primitives costs, so that it never
    counts against a case's load time."""
    from .ops import registry

    registry.names()


def node_cost(node: Node, shapes: Sequence[tuple[int, ...]]) -> int:
    """An estimate of the multiply-adds of one node in one forward pass (the primitive's ``cost`` rule)."""
    from .ops import registry

    args = [shapes[a] for a in node.args]
    return registry.output_cost(registry.get(node.op), shapes[node.id], args, _params(node, shapes))


def check_graph(graph: Graph, shapes: Sequence[tuple[int, ...]], *, element_limit: int,
                cost_limit: int = DEFAULT_COST_LIMIT, file: str | None = None, case: str | None = None,
                params: Sequence[dict | None] | None = None, start: int = 0, total: int = 0) -> int:
    """Refuse a node over the element limit, or a graph over the cost limit (a LimitError).

    ``params`` are the nodes' normalised parameters (from :func:`shapes_and_params`); ``start`` and
    ``total`` continue a check of the graph's first ``start`` nodes, whose cost was ``total``.
    Returns the cost of the nodes checked, ``total`` included."""
    from .ops import registry

    get, output_cost, prod = registry.get, registry.output_cost, math.prod
    for node in graph.nodes[start:len(shapes)]:
        if node.is_leaf:
            continue
        shape = shapes[node.id]
        size = prod(shape)
        if size > element_limit:
            raise LimitError(f"{node.label} would have shape {shape}, {size:,} elements; the limit "
                             f"is {element_limit:,} per array (--element-limit raises it)", **_where(node, file, case))
        p = _params(node, shapes) if params is None else params[node.id]
        total += output_cost(get(node.op), shape, [shapes[a] for a in node.args], p)
        if total > cost_limit:
            raise LimitError(f"one forward pass would need about {total:,} multiply-adds by {node.label}; the "
                             f"limit is {cost_limit:,} (--cost-limit raises it)", **_where(node, file, case))
    return total


def _where(node: Node, file: str | None, case: str | None) -> dict:
    return dict(file=file, case=case, step=node.step, line=node.line or None, col=node.col or None)


#: seconds between further alarms once a deadline has passed and its block has not ended
AGAIN = 0.25


class OutOfTime(BaseException):
    """Raised by :func:`deadline`; a BaseException so that no ``except Exception`` swallows it."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`OutOfTime` here after ``seconds`` (POSIX main thread; elsewhere, or with
    ``None``, no limit).  The alarm interrupts Python code between C calls, so one numpy call
    finishes first."""
    if not seconds or not math.isfinite(seconds) or not hasattr(signal, "setitimer") \
            or threading.current_thread() is not threading.main_thread():
        yield
        return

    import time

    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer and outer <= seconds:  # an enclosing deadline comes first: it is in charge
        yield
        return

    active = [True]

    def on_alarm(signum, frame):
        if not active[0]:
            return
        # and again shortly: library code with a bare ``except:`` (sympy has some) may swallow
        # one OutOfTime, and a one-shot alarm would then never end the block
        signal.setitimer(signal.ITIMER_REAL, AGAIN)
        raise OutOfTime

    start = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        active[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # re-arm the enclosing deadline with what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(1e-3, outer - (time.monotonic() - start)))
