"""The primitive registry: one entry per primitive, its whole story in one place.

A :class:`Primitive` declares, together, everything any part of gradcheck-suite needs
to know about one operation: the numpy forward, one VJP rule and one JVP rule per
tensor argument, the torch counterpart, the text of its local derivatives for the
answer key, whether it is real-analytic (complex step allowed) and where it has kinks.

The engine (``gradcheck_suite.engine``) knows no op; this module knows no engine.

Names a rule may use (the header of the table, as in PyTorch's derivatives.yaml)
-----------------------------------------------------------------------------------
``forward(*args, **params)``
    ``args`` are the tensor arguments (numpy arrays), ``params`` the static parameters
    (numbers, tuples, booleans) after normalisation (see below).
``vjp[i](g, ans, *args, **params)``
    returns the cotangent of argument ``i``: ``g`` is the upstream gradient (the
    cotangent of the output), ``ans`` the forward result.  For a primitive with
    ``broadcasts=True`` the rule may return the gradient in the broadcast (output)
    shape: the registry sums it back to the argument's shape (``unbroadcast``) once.
``jvp[i](t, ans, *args, **params)``
    returns the tangent of the output contributed by the tangent ``t`` of argument
    ``i``; the engine adds the contributions of all arguments.
``torch(*tensors, **params)``
    the same operation on torch tensors (used by the torch reference).
    A plugin primitive may leave a JVP rule out (``NOT_DECLARED``): forward mode then
    raises :class:`RuleError` and the harness's ``hand_jvp`` row says ``skip``.
``derivative[i]``
    a text template of the local derivative with respect to argument ``i``; the
    placeholders are the argument names in braces and ``{out}`` for the result, e.g.
    ``"∂(1/{x})/∂{x} = −1/{x}²"``.
``kink(*args, **params)``
    for primitives that are not differentiable everywhere: the distance of the point
    to the kink set (0.0 means exactly on a kink), as a float.

Batch axes
----------
Rules are vectorised: every array may carry *leading batch axes*.

* In a batched forward (the finite-difference reference evaluates many perturbed
  copies at once) every argument of one call has the same number ``nb`` of leading
  batch axes (size 1 where an argument is not batched), and for ``broadcasts=True``
  primitives the core axes are padded with size-1 axes to a common rank.
* In a VJP, ``g`` has leading batch axes (``g.ndim - ans.ndim`` of them: many
  cotangents in one pass) while ``ans`` and ``args`` are unbatched; the rule returns
  the same leading axes followed by the argument's shape.  In a JVP, likewise ``t``
  carries the batch axes (``t.ndim - arg.ndim``); for ``broadcasts=True`` primitives
  the tangent's core axes are padded to the output's rank.

So that rules need not know ``nb``, static parameters are normalised before a rule
sees them, according to the kind declared in ``param_kinds``:

``"axis"``   an int, a tuple of ints or None → a tuple of *negative* axes counted from
             the end (None → every core axis); rules then never see batch axes.
``"axes"``   a permutation of the core axes (or None for reversed) → a tuple of
             negative axes (the batch axes stay in front).
``"shape"``  a target core shape → prefixed with the batch shape of the first argument.
``"index"``  a basic index (ints, slices, None, Ellipsis) → prefixed with one full
             slice per batch axis, with Ellipsis expanded.
``"newaxis"`` an axis position in the *output* core (expand_dims) → a negative int.

Primitives that cannot be written without the core rank (matmul with 1-D operands,
diag) declare ``needs_nb=True`` and get ``nb`` as a keyword argument of ``forward``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

__all__ = [
    "Primitive",
    "NotDifferentiable",
    "NOT_DIFFERENTIABLE",
    "NotDeclared",
    "NOT_DECLARED",
    "RuleError",
    "register",
    "get",
    "lookup",
    "names",
    "all_primitives",
    "unbroadcast",
    "normalise_params",
    "batch_shape",
    "distance_to_zero",
]


class NotDifferentiable:
    """Marker for an argument that is declared non-differentiable (a condition, an index)."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "NOT_DIFFERENTIABLE"


NOT_DIFFERENTIABLE = NotDifferentiable()


class NotDeclared:
    """Marker for a JVP rule a plugin primitive did not declare: forward mode then raises
    :class:`RuleError`, and the harness reports the forward-mode check as ``skip`` (never
    silently absent, never zero)."""

    def __call__(self, *args: Any, **kw: Any) -> Any:
        raise RuleError("this primitive declares no JVP rule (forward mode is not available)")

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "NOT_DECLARED"


NOT_DECLARED = NotDeclared()


class RuleError(Exception):
    """A primitive rule is missing or returned something of the wrong shape."""


Rule = Callable[..., Any]


@dataclass(frozen=True)
class Primitive:
    """Everything about one primitive, declared together."""

    name: str
    forward: Callable[..., np.ndarray]
    args: tuple[str, ...]
    vjp: tuple[Rule | NotDifferentiable, ...]
    jvp: tuple[Rule | NotDifferentiable, ...]
    torch: Callable[..., Any]
    derivative: tuple[str, ...]
    category: str
    doc: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    param_kinds: Mapping[str, str] = field(default_factory=dict)
    analytic: bool = True
    kink: Callable[..., float] | None = None
    broadcasts: bool = False
    variadic: bool = False
    needs_nb: bool = False
    differentiable_output: bool = True

    def signature(self) -> str:
        """Human-readable call signature, as a case file writes it."""
        parts = [f"[{self.args[0]}, ...]"] if self.variadic else list(self.args)
        parts += [f"{k}={v!r}" for k, v in self.params.items()]
        return f"{self.name}({', '.join(parts)})"

    def derivative_text(self, arg_names: Mapping[str, str] | None = None, out: str = "out") -> list[str]:
        """The local-derivative texts with argument names filled in."""
        mapping = {a: a for a in self.args}
        if arg_names:
            mapping.update(arg_names)
        mapping["out"] = out
        texts = []
        for template in self.derivative:
            try:
                texts.append(template.format(**mapping))
            except (KeyError, IndexError):
                texts.append(template)
        return texts


_REGISTRY: dict[str, Primitive] = {}


def register(
    name: str,
    *,
    forward: Callable[..., np.ndarray],
    args: tuple[str, ...],
    vjp: tuple[Rule | NotDifferentiable | None, ...],
    jvp: tuple[Rule | NotDifferentiable | None, ...],
    torch: Callable[..., Any],
    derivative: tuple[str, ...] | str,
    category: str,
    doc: str = "",
    params: Mapping[str, Any] | None = None,
    param_kinds: Mapping[str, str] | None = None,
    analytic: bool = True,
    kink: Callable[..., float] | None = None,
    broadcasts: bool = False,
    variadic: bool = False,
    needs_nb: bool = False,
    differentiable_output: bool = True,
) -> Primitive:
    """Declare a primitive.  A missing rule is an error naming the op and the argument."""
    if name in _REGISTRY:
        raise RuleError(f"primitive {name!r} registered twice")
    if isinstance(derivative, str):
        derivative = (derivative,)
    n = 1 if variadic else len(args)
    for label, rules in (("vjp", vjp), ("jvp", jvp)):
        if len(rules) != n:
            raise RuleError(f"{name}: {label} declares {len(rules)} rules for {n} arguments {args}")
        for arg, rule in zip(args, rules):
            if rule is None:
                raise RuleError(
                    f"{name}: no {label} rule for argument {arg!r}; "
                    "declare NOT_DIFFERENTIABLE if it has none"
                )
    if differentiable_output and len(derivative) != n:
        raise RuleError(f"{name}: {len(derivative)} derivative texts for {n} arguments")
    prim = Primitive(
        name=name,
        forward=forward,
        args=tuple(args),
        vjp=tuple(vjp),
        jvp=tuple(jvp),
        torch=torch,
        derivative=tuple(derivative),
        category=category,
        doc=doc,
        params=dict(params or {}),
        param_kinds=dict(param_kinds or {}),
        analytic=analytic,
        kink=kink,
        broadcasts=broadcasts,
        variadic=variadic,
        needs_nb=needs_nb,
        differentiable_output=differentiable_output,
    )
    _REGISTRY[name] = prim
    return prim


def get(name: str) -> Primitive:
    """The primitive called ``name`` (KeyError if there is none)."""
    _ensure_loaded()
    return _REGISTRY[name]


def lookup(name: str) -> Primitive | None:
    """The primitive called ``name``, or None."""
    _ensure_loaded()
    return _REGISTRY.get(name)


def names() -> list[str]:
    """Every registered primitive name, sorted."""
    _ensure_loaded()
    return sorted(_REGISTRY)


def all_primitives() -> list[Primitive]:
    """Every registered primitive, sorted by category then name."""
    _ensure_loaded()
    return sorted(_REGISTRY.values(), key=lambda p: (p.category, p.name))


def replace(name: str, primitive: Primitive) -> Primitive:
    """Swap a registry entry (used by mutation testing); returns the old one."""
    _ensure_loaded()
    old = _REGISTRY[name]
    _REGISTRY[name] = primitive
    return old


_LOADED = False


def _ensure_loaded() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from . import table  # noqa: F401  (registers every primitive)


# ---- helpers every rule may use -------------------------------------------------


def distance_to_zero(x: np.ndarray) -> float:
    """min |x| (inf for an empty array): how far x is from a kink at 0 (a ``kink`` helper)."""
    x = np.abs(x)
    return float(np.min(x)) if x.size else float("inf")


def batch_shape(g: np.ndarray, core_ndim: int) -> tuple[int, ...]:
    """The leading batch shape of ``g`` whose core has ``core_ndim`` axes."""
    return tuple(g.shape[: g.ndim - core_ndim])


def unbroadcast(g: np.ndarray, shape: tuple[int, ...], out_ndim: int) -> np.ndarray:
    """Sum ``g`` (batch axes + a core of ``out_ndim`` axes) back to batch + ``shape``.

    Undoes numpy broadcasting of an argument of core ``shape`` to the output core.
    """
    nbatch = g.ndim - out_ndim
    lead = out_ndim - len(shape)
    if lead > 0:
        g = g.sum(axis=tuple(range(nbatch, nbatch + lead)))
    axes = tuple(nbatch + i for i, n in enumerate(shape) if n == 1 and g.shape[nbatch + i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def _normalise_axis(axis: Any, core_ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(-core_ndim, 0))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in items:
        a = int(a)
        if not -core_ndim <= a < max(core_ndim, 1) and not (core_ndim == 0 and a in (0, -1)):
            raise ValueError(f"axis {a} is out of range for an array of {core_ndim} dimension(s)")
        if core_ndim == 0:  # axis 0 / -1 of a 0-d array (as torch allows): no axis to reduce
            continue
        out.append(a - core_ndim if a >= 0 else a)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(out)


def _normalise_index(index: Any, core_ndim: int, nb: int) -> tuple[Any, ...]:
    items = index if isinstance(index, tuple) else (index,)
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise ValueError("an index can only have a single ellipsis ('...')")
    if consumed > core_ndim:
        raise ValueError(f"too many indices ({consumed}) for an array of {core_ndim} dimension(s)")
    full: list[Any] = []
    for i in items:
        if i is Ellipsis:
            full.extend([slice(None)] * (core_ndim - consumed))
        else:
            full.append(i)
    return (slice(None),) * nb + tuple(full)


def normalise_params(prim: Primitive, params: Mapping[str, Any], core_ndims: list[int], nb: int,
                     first_shape: tuple[int, ...] = ()) -> dict[str, Any]:
    """Static parameters as the rules see them (see the module docstring).

    ``core_ndims`` are the core ranks of the tensor arguments; ``nb`` the number of
    leading batch axes of the forward call; ``first_shape`` the full shape of the first
    argument (for ``"shape"`` parameters).
    """
    out = dict(prim.params)
    out.update(params)
    core = core_ndims[0] if core_ndims else 0
    for key, kind in prim.param_kinds.items():
        value = out.get(key)
        if kind == "axis":
            out[key] = _normalise_axis(value, core)
        elif kind == "axes":
            if value is None:
                out[key] = tuple(range(-1, -core - 1, -1))
            else:
                perm = [int(a) for a in value]
                in_range = all(-core <= a < core for a in perm)
                if not in_range or sorted(a % core for a in perm) != list(range(core)):
                    raise ValueError(f"axes {tuple(value)} is not a permutation of {core} axes")
                out[key] = tuple((a % core) - core for a in perm)
        elif kind == "shape":
            if value is None:
                continue
            shape = (int(value),) if isinstance(value, (int, np.integer)) else tuple(int(s) for s in value)
            out[key] = tuple(first_shape[:nb]) + shape
        elif kind == "index":
            out[key] = _normalise_index(value, core, nb)
        elif kind == "newaxis":
            a = int(value)
            out_core = core + 1
            if not -out_core <= a < out_core:
                raise ValueError(f"axis {a} is out of range for a result of {out_core} dimension(s)")
            out[key] = a - out_core if a >= 0 else a
        else:  # pragma: no cover - a registry bug
            raise RuleError(f"{prim.name}: unknown parameter kind {kind!r} for {key!r}")
    if prim.needs_nb:
        out["nb"] = nb
    return out
