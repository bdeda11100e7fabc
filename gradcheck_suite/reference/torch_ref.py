"""The torch reference: the case's graph replayed with each primitive's torch counterpart.

The same :class:`~gradcheck_suite.graph.Graph` the engine walks is evaluated node by
node on torch tensors of the case dtype (inputs with ``requires_grad``), and
differentiated with ``torch.autograd``:

* :func:`gradient` — a scalar output's gradient (one ``torch.autograd.grad``);
* :func:`jacobian` — the full Jacobian of a vector output, by :func:`vjp` over chunks of rows;
* :func:`vjp` — many cotangents: up to :data:`LOOP_ROWS` one backward pass each, more in one
  batched pass (``is_grads_batched``), falling back to single passes when an op cannot be vmapped;
* :func:`pullback` — one cotangent, as the gradient of a one-element output (every explicit seed
  in the harness goes through it);
* :func:`torch_function` — a plain callable ``f(*input_tensors)`` for peers such as
  ``torch.autograd.gradcheck`` (the benchmark).

Nothing here calls a rule of ours: the only shared knowledge is the graph and the
normalisation of static parameters (``axis=1`` → ``(-1,)`` and so on), which is a
property of the case text, not of a derivative.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from ..case import Case
from ..graph import Graph
from ..ops import registry
from ..ops.registry import normalise_params

__all__ = ["TorchEvaluation", "replay", "gradient", "jacobian", "vjp", "pullback", "torch_function", "torch_dtype"]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype of a dtype name or numpy dtype."""
    if isinstance(dtype, str) and dtype in _DTYPES:  # the harness's names: no numpy dtype (whose .name is slow)
        return _DTYPES[dtype]
    return _DTYPES[np.dtype(dtype).name]


@dataclass
class TorchEvaluation:
    """A torch forward pass: every node's tensor, and the input leaves by name."""

    graph: Graph
    values: list[Any]
    inputs: dict[str, torch.Tensor]

    @property
    def output(self) -> torch.Tensor:
        return self.values[self.graph.output]

    def first_wrong_dtype(self, dtype: torch.dtype) -> int | None:
        """Id of the first node whose floating value is not in ``dtype`` (None if all are)."""
        for node, v in zip(self.graph, self.values):
            if isinstance(v, torch.Tensor) and v.is_floating_point() and v.dtype != dtype:
                return node.id
        return None


def _leaf(value: Any, dtype: torch.dtype) -> torch.Tensor:
    arr = np.asarray(value)
    if arr.dtype == np.bool_:
        return torch.from_numpy(arr.copy())
    return torch.from_numpy(np.array(arr, dtype=np.float64)).to(dtype)


def _call(node, args: list[Any]) -> Any:
    prim = registry.get(node.op)
    cores = [a.dim() if isinstance(a, torch.Tensor) else np.ndim(a) for a in args]
    first = tuple(args[0].shape) if args and isinstance(args[0], torch.Tensor) else ()
    params = normalise_params(prim, node.params, cores, 0, first)
    if not prim.needs_nb:
        params.pop("nb", None)
    return prim.torch(*args, **params)


def replay(graph: Graph, leaves: Mapping[str, Any], dtype: Any = "float64",
           wrt: Sequence[str] | None = None) -> TorchEvaluation:
    """Evaluate ``graph`` with torch ops; inputs in ``wrt`` (default all) require grad.

    Exceptions of the torch counterparts propagate (the harness turns them into an
    ``error`` row naming the step).
    """
    tdtype = torch_dtype(dtype)
    wanted = set(graph.inputs if wrt is None else wrt)
    values: list[Any] = []
    inputs: dict[str, torch.Tensor] = {}
    for node in graph:
        if node.op == "literal":
            values.append(_leaf(node.value, tdtype))
        elif node.is_leaf:
            t = _leaf(leaves[node.name], tdtype)
            if node.op == "input":
                t.requires_grad_(node.name in wanted)
                inputs[node.name] = t
            values.append(t)
        else:
            try:
                values.append(_call(node, [values[a] for a in node.args]))
            except Exception as exc:  # any torch failure is located by the caller
                raise TorchReplayError(node, exc) from exc
    return TorchEvaluation(graph, values, inputs)


class TorchReplayError(Exception):
    """A torch counterpart raised; carries the node so the message can name the step."""

    def __init__(self, node, exc: Exception) -> None:
        what = node.label
        super().__init__(f"torch counterpart of {what} failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        self.node = node


# Up to this many cotangents are pulled back one backward pass at a time; more go through torch's
# batched backward (``is_grads_batched``, vmap).  A pass costs ~0.13 ms on a small graph, while
# torch's first explicit seed costs an import of sympy (0.3 s, per process).
LOOP_ROWS = 32


def pullback(out: torch.Tensor, tensors: Sequence[torch.Tensor], seed: torch.Tensor | None,
             retain: bool = True, create_graph: bool = False) -> list[torch.Tensor | None]:
    """``seedᵀ J`` for each of ``tensors`` (None where ``out`` does not depend on it); ``seed`` None
    for a one-element output (torch makes the one itself).  Raises as ``torch.autograd.grad`` does
    (an ``out`` without a graph is a RuntimeError).

    Differentiates the one-element ``sum(out * seed)``: the product's backward hands the seed on
    exactly, so the numbers are those of ``torch.autograd.grad(out, tensors, seed)`` (and with
    ``create_graph`` its graph differentiates the same), but torch's check of an explicit seed's
    shape imports sympy (0.3 s) on first use in every process.  The shapes are compared here instead:
    a product would broadcast a seed of another shape without a word.
    """
    if seed is not None and tuple(seed.shape) != tuple(out.shape):
        raise RuntimeError(f"Mismatch in shape: the cotangent has a shape of {tuple(seed.shape)} and the "
                           f"output a shape of {tuple(out.shape)}")
    scalar = out if seed is None else (out * seed).sum()
    return list(torch.autograd.grad(scalar, tensors, retain_graph=retain or create_graph,
                                    create_graph=create_graph, allow_unused=True))


def _fill(grads: list[torch.Tensor | None], tev: TorchEvaluation, names: Sequence[str],
          batch: tuple[int, ...]) -> dict[str, np.ndarray]:
    out = {}
    for n, g in zip(names, grads):
        x = tev.inputs[n]
        if g is None or g._is_zerotensor():  # a double backward may hand back torch's lazy ZeroTensor
            out[n] = np.zeros(batch + tuple(x.shape), dtype=_np(x.dtype))
        else:
            out[n] = g.detach().numpy().reshape(batch + tuple(x.shape))
    return out


def _np(dtype: torch.dtype) -> np.dtype:
    return np.dtype(str(dtype).replace("torch.", ""))


def gradient(tev: TorchEvaluation, wrt: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Gradient of a one-element output with respect to the inputs (input-shaped arrays)."""
    names = list(tev.inputs if wrt is None else wrt)
    out = tev.output
    tensors = [tev.inputs[n] for n in names]
    if not out.requires_grad:
        return _fill([None] * len(tensors), tev, names, ())
    return _fill(pullback(out, tensors, None if out.numel() == 1 else torch.ones_like(out)), tev, names, ())


def vjp(tev: TorchEvaluation, cotangents: np.ndarray, wrt: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Pull a batch of cotangents (batch axis + output shape) back: batch axis + input shape."""
    names = list(tev.inputs if wrt is None else wrt)
    out = tev.output
    seeds = torch.from_numpy(np.ascontiguousarray(cotangents)).to(out.dtype)
    k = seeds.shape[0]
    tensors = [tev.inputs[n] for n in names]
    grads = None if out.requires_grad else [None] * len(tensors)
    if grads is None and k > LOOP_ROWS:
        try:
            grads = list(torch.autograd.grad(out, tensors, seeds, retain_graph=True, allow_unused=True,
                                             is_grads_batched=True))
        except RuntimeError:  # an op without a batching rule: one backward pass per cotangent
            pass
    if grads is None:
        rows = [pullback(out, tensors, seeds[i]) for i in range(k)]
        grads = [None if all(r[j] is None for r in rows) else
                 torch.stack([r[j] if r[j] is not None else torch.zeros_like(tensors[j]) for r in rows])
                 for j in range(len(tensors))]
    return _fill(grads, tev, names, (k,))


def jacobian(tev: TorchEvaluation, wrt: Sequence[str] | None = None,
             chunk_bytes: int = 64 * 2**20) -> dict[str, np.ndarray]:
    """Full Jacobian (output shape + input shape) of every input, batched over output rows."""
    names = list(tev.inputs if wrt is None else wrt)
    out = tev.output
    m = out.numel()
    width = max([m] + [tev.inputs[n].numel() for n in names])
    step = max(1, min(m, chunk_bytes // max(1, width * out.element_size())))
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for start in range(0, m, step):
        stop = min(m, start + step)
        seeds = np.zeros((stop - start, m), dtype=_np(out.dtype))
        seeds[np.arange(stop - start), np.arange(start, stop)] = 1
        got = vjp(tev, seeds.reshape((stop - start,) + tuple(out.shape)), names)
        for n in names:
            parts[n].append(got[n])
    return {n: np.concatenate(parts[n], axis=0).reshape(tuple(out.shape) + tuple(tev.inputs[n].shape))
            for n in names}


def torch_function(case: Case, dtype: Any = "float64", run_seed: int = 0) -> Callable[..., torch.Tensor]:
    """``f(*inputs) -> output``: the case as a plain torch function of its inputs (in order).

    Constants are fixed at their values for ``run_seed``; the inputs are whatever
    tensors the caller passes (e.g. ``torch.autograd.gradcheck(f, inputs)``).
    """
    graph = case.graph
    tdtype = torch_dtype(dtype)
    names = list(graph.inputs)
    constants = {n: _leaf(s.materialise(run_seed), tdtype) for n, s in case.constants.items()}

    def f(*tensors: torch.Tensor) -> torch.Tensor:
        if len(tensors) != len(names):
            raise TypeError(f"{case.name} takes {len(names)} input(s) {names}, got {len(tensors)}")
        given = dict(zip(names, tensors))
        values: list[Any] = []
        for node in graph:
            if node.op == "literal":
                values.append(_leaf(node.value, tdtype))
            elif node.op == "input":
                values.append(given[node.name])
            elif node.op == "constant":
                values.append(constants[node.name])
            else:
                values.append(_call(node, [values[a] for a in node.args]))
        return values[graph.output]

    f.__name__ = f"case_{case.name}".replace("-", "_").replace(".", "_")
    f.input_names = tuple(names)  # type: ignore[attr-defined]
    return f
