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
    A rule marked with :func:`takes_private` (every VJP :func:`elementwise` generates) is also
    given ``private=True`` when the engine owns ``g`` — an array it made, that no other gradient,
    value or trace refers to, and that nobody reads after this call (the last argument's rule of
    the node): the rule may then write its result into ``g`` and return it (one full-size
    temporary fewer).  Without the mark, or with ``private`` False, ``g`` is read-only to the
    rule.  A rule may always return ``g``, ``ans`` or an argument unchanged (or a view of one):
    the engine writes only into arrays it made or the rule made for this call (one that owns its
    memory and is none of the arrays the rule was given).
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
``no_kink``
    for a primitive that is not analytic (no complex step) and yet has no kink: why
    (``register`` refuses a non-analytic differentiable primitive with neither).
``domain[i]``
    a :class:`Domain`: where values of argument ``i`` are drawn, both by the mutation
    tester's probes and by the property tests (an interval, optionally a grid that keeps
    clear of kinks at integers; bools; well-conditioned or positive-definite matrices;
    integer indices).  One Domain stands for every argument.
``probes``
    the calls (:class:`ProbeCall`: argument shapes and parameters) on which the mutation
    tester compares a wrong rule with the right one, broadcasting shapes included.
``symbolic(sp, *args, **params)``
    the result as a sympy expression of sympy arguments (``sp`` is the sympy module,
    passed in so that the registry never imports it), used for the answer key's closed
    forms; or a string saying why there is none.
``taught_derivative(sp, out, *args, **params)``
    the local derivatives *as a course teaches them*, in the names of the forward nodes: a
    tuple of sympy expressions (or numbers), one per argument, where ``out`` is the symbol
    of the primitive's own value — σ' = ``out·(1 − out)``, exp' = ``out``, tanh' =
    ``1 − out²``, ∂(x/y)/∂y = ``−x/y²``.  The answer key's backward pass in symbols, its
    matrix forms and the grader's "wrong local derivative" diagnosis read it (through
    ``explain.facts.local_derivative_form``); ``sp`` is passed in as for ``symbolic``.
    A primitive of one element's reduction or reshaping is the identity, ``(1,)``.
    Optional (None: the answer key falls back to the ``derivative`` text).
``local_derivative[i](ans, *args, **params)`` (elementwise primitives, see :func:`elementwise`)
    ∂out/∂arg_i elementwise, written once: ``vjp[i]`` is ``g · local_derivative[i]`` and
    ``jvp[i]`` is ``t · local_derivative[i]``, generated as two separate functions so
    that each can still be replaced on its own (mutation testing).  A derivative that is
    the same number everywhere is declared ``constant(1)`` / ``constant(-1)`` (add, sub):
    the VJP then hands the upstream on (or negates it) instead of multiplying it by an
    array of ones; called like any rule it still gives that array.  When ``g`` is one number
    everywhere (a broadcast view, as a sum's VJP hands down) the generated VJP multiplies by
    that 0-d number, and hands ``local_derivative[i]`` on untouched when the number is 1.
``shape(*arg_shapes, **params)``
    the shape of the result from the shapes of the tensor arguments alone (tuples of
    ints; ``params`` as ``forward`` sees them, with no batch axes: ``nb`` is 0), so that
    every intermediate of a case is bounded before anything is computed
    (:mod:`gradcheck_suite.budget`).  It may raise ValueError when the shapes do not
    fit (the forward pass then says why in its own words).  Elementwise and broadcasting
    primitives get numpy's broadcast rule without declaring it; every other primitive
    declares one: a function, :data:`SAME` (its first argument's shape), :data:`VIEW`
    (its numpy forward returns a view: run it on :func:`ghost` arrays, which allocate
    nothing) or :data:`UNKNOWN` (a plugin's layer: bounded by time only).
``cost(out_shape, *arg_shapes, **params)``
    an estimate of the multiply-adds of one forward call; the default, the output's
    and the arguments' elements, fits every primitive that touches each element a few
    times.  Contractions and matrix factorisations declare theirs
    (:func:`contraction_cost`, :func:`matrix_cost`).
``second_derivative`` (elementwise primitives) and ``second_order`` (every primitive)
    how the VJP rule's output changes when the arguments move — what the engine's
    Hessian-vector products (:mod:`gradcheck_suite.second_order`) need, declared once
    (see :data:`LINEAR` and docs/design.md):

    * ``second_derivative[i][j](ans, *args, **params)`` is ∂²out/∂arg_i∂arg_j elementwise
      (one rule for a one-argument primitive); the rule below is generated from it;
    * ``second_order=LINEAR``: the VJP does not depend on the arguments' values (add,
      sum, reshape, getitem, transpose …) — nothing more to declare;
    * ``second_order=PIECEWISE_LINEAR``: every second derivative is 0 away from the kinks;
    * ``second_order=BILINEAR``: the VJP of argument ``i`` is linear in each other
      argument (matmul, dot, outer): the product rule on the existing VJP rules;
    * ``second_order=(rule, …)`` one ``vjp_tangent[i](g, ans, dans, dargs, *args, **params)``
      per argument: the change of ``vjp[i](g, ans, *args)`` when the arguments move by
      their tangents ``dargs`` (None where an argument has none; batch axes in front)
      and the output by ``dans``, at fixed ``g``;
    * a sentence: why the primitive has no second-order rule ("" when nobody has said).
      The second-order checks of a case that uses it are then ``skip`` with that reason.
      A primitive with ``differentiable_output=False`` gets :data:`NO_DERIVATIVE`.
    ``tests/second_order/test_completeness.py`` holds every registered primitive to one of these.

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

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

__all__ = [
    "Primitive",
    "Domain",
    "ProbeCall",
    "elementwise",
    "constant",
    "Constant",
    "takes_private",
    "single_value",
    "UNARY_SHAPES",
    "BROADCAST_PAIRS",
    "NotDifferentiable",
    "NOT_DIFFERENTIABLE",
    "NotDeclared",
    "NOT_DECLARED",
    "RuleError",
    "LINEAR",
    "BILINEAR",
    "PIECEWISE_LINEAR",
    "NO_DERIVATIVE",
    "register",
    "get",
    "lookup",
    "names",
    "all_primitives",
    "unbroadcast",
    "normalise_params",
    "batch_shape",
    "distance_to_zero",
    "SAME",
    "VIEW",
    "UNKNOWN",
    "ghost",
    "output_shape",
    "output_cost",
    "reduced_shape",
    "contraction_cost",
    "matrix_cost",
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

#: ``second_order`` of a primitive whose VJP does not depend on the arguments' values
LINEAR = "linear"
#: ``second_order`` of a primitive whose VJP of each argument is linear in every other argument
BILINEAR = "bilinear"
#: ``second_order`` of a piecewise-linear primitive (floor, clip, maximum …): every second derivative
#: is 0 away from its kinks (the kinks are ``nondiff`` for the finite-difference checks)
PIECEWISE_LINEAR = "piecewise linear"

#: ``second_order`` of a primitive whose output is not differentiable (a condition, a constant builder)
NO_DERIVATIVE = "its output is not differentiable (a condition or a constant): no derivative of any order"

#: ``shape`` of a primitive whose result has its first argument's shape
SAME = "same"
#: ``shape`` of a primitive whose numpy forward returns a view of its argument(s): the shape is
#: found by running the forward on :func:`ghost` arrays (no element is allocated)
VIEW = "view"
#: ``shape`` of a plugin's layer (arbitrary user code): not known before it runs; the nodes from
#: there on are bounded by the time limit only
UNKNOWN = "unknown"
#: the kinds of :class:`Domain`
DOMAIN_KINDS = ("real", "bool", "matrix", "spd", "integer")


@dataclass(frozen=True)
class Domain:
    """Where an argument's values are drawn (probes of the mutation tester, property tests).

    ``kind`` is one of :data:`DOMAIN_KINDS`:

    ``real``     uniform in [low, high]; with ``grid=(a, b)`` the values are k + u with k
                 an integer, low ≤ k < high, and u in [a, b]: clear of kinks at every
                 integer (and of each other, when two arguments take disjoint grids);
    ``bool``     random bools (a condition);
    ``matrix``   matrices (last two axes), standard normal noise plus ``high`` on the main
                 diagonal: well conditioned;
    ``spd``      symmetric positive definite matrices B·Bᵀ/n + ``high``·I;
    ``integer``  integers in [low, high) (an index constant).
    """

    low: float = -2.0
    high: float = 2.0
    grid: tuple[float, float] | None = None
    kind: str = "real"

    def __post_init__(self) -> None:
        if self.kind not in DOMAIN_KINDS:
            raise RuleError(f"unknown domain kind {self.kind!r} (known: {', '.join(DOMAIN_KINDS)})")

    def describe(self) -> str:
        """One line for ``gradcheck-suite ops``."""
        if self.kind == "bool":
            return "bools"
        if self.kind == "integer":
            return f"integers in [{self.low:g}, {self.high:g})"
        if self.kind == "matrix":
            return f"matrices: noise + {self.high:g} on the diagonal"
        if self.kind == "spd":
            return f"symmetric positive definite matrices: B·Bᵀ/n + {self.high:g}·I"
        if self.grid is None:
            return f"[{self.low:g}, {self.high:g}]"
        a, b = self.grid
        return f"k + [{a:g}, {b:g}], k an integer in [{self.low:g}, {self.high:g})"

    def integers(self) -> tuple[int, int]:
        """The range of k of a grid domain (or of an integer domain): [first, last]."""
        return int(np.ceil(self.low)), int(np.ceil(self.high)) - 1

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Random values of this domain in ``shape``."""
        if self.kind == "bool":
            return rng.random(shape) < 0.5
        if self.kind == "integer":
            first, last = self.integers()
            return rng.integers(first, last + 1, shape)
        if self.kind in ("matrix", "spd"):
            noise = rng.standard_normal(shape)
            if self.kind == "matrix":  # a rectangular one gets high on its main diagonal
                return noise + self.high * np.eye(*shape[-2:])
            eye = self.high * np.eye(shape[-1])
            return noise @ np.swapaxes(noise, -1, -2) / shape[-1] + eye
        if self.grid is None:
            return rng.uniform(self.low, self.high, shape)
        first, last = self.integers()
        return rng.integers(first, last + 1, shape) + rng.uniform(*self.grid, shape)


#: the default domain: k + [0.2, 0.8] for k in −2..1, i.e. ±[0.2, 1.8], clear of 0 and integers
REAL = Domain(-2.0, 2.0, grid=(0.2, 0.8))


@dataclass(frozen=True)
class ProbeCall:
    """One call the mutation tester probes: the shape of each argument and the parameters."""

    shapes: tuple[tuple[int, ...], ...]
    params: Mapping[str, Any] = field(default_factory=dict)


#: shapes of the one argument of an elementwise primitive's probes (0-d, vectors, square, batches)
UNARY_SHAPES = ((),), ((4,),), ((3, 3),), ((3, 4),), ((2, 3, 3),)
#: argument shape pairs of a broadcasting binary primitive's probes
BROADCAST_PAIRS = (((3, 3), (3, 3)), ((3, 4), (4,)), ((4,), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)),
                   ((2, 3), ()), ((2, 1, 3), (4, 1)), ((3, 3), (3, 1)))


def calls(shapes: Iterable[tuple[tuple[int, ...], ...]], *params: Mapping[str, Any]) -> tuple[ProbeCall, ...]:
    """Probe calls: every shape tuple with every parameter set (``{}`` when none is given)."""
    return tuple(ProbeCall(tuple(s), dict(p)) for p in (params or ({},)) for s in shapes)


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
    domain: tuple[Domain, ...] = ()
    probes: tuple[ProbeCall, ...] = ()
    symbolic: Callable[..., Any] | str = ""
    local_derivative: tuple[Rule | NotDifferentiable, ...] | None = None
    no_kink: str = ""
    taught_derivative: Callable[..., tuple] | None = None
    second_order: tuple[Rule | NotDifferentiable, ...] | str = ""
    shape: Rule | str = ""
    cost: Rule | None = None

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
    domain: Domain | tuple[Domain, ...],
    probes: Iterable[ProbeCall],
    symbolic: Callable[..., Any] | str,
    local_derivative: tuple[Rule | NotDifferentiable, ...] | None = None,
    no_kink: str = "",
    second_order: tuple[Rule | NotDifferentiable, ...] | str = "",
    taught_derivative: Callable[..., tuple] | None = None,
    shape: Rule | str = "",
    cost: Rule | None = None,
) -> Primitive:
    """Declare a primitive.  A missing rule, domain, probe, symbolic form or (for a primitive that
    is not elementwise) shape rule is an error naming it."""
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
    domain = (domain,) * n if isinstance(domain, Domain) else tuple(domain)
    if len(domain) != n or not all(isinstance(d, Domain) for d in domain):
        raise RuleError(f"{name}: declare one Domain, or one per argument {args}")
    probes = tuple(probes)
    if not probes or any(len(p.shapes) < n for p in probes):
        raise RuleError(f"{name}: no probe calls, or a probe call without a shape for every argument")
    if not callable(symbolic) and not (isinstance(symbolic, str) and symbolic.strip()):
        raise RuleError(f"{name}: declare a symbolic form, or a string saying why there is none")
    if taught_derivative is not None and (not callable(taught_derivative) or not differentiable_output):
        raise RuleError(f"{name}: taught_derivative must be a function (sp, out, *args) -> one form per argument, "
                        "for a primitive with a differentiable output")
    if differentiable_output and not analytic and kink is None and not no_kink.strip():
        raise RuleError(f"{name}: not analytic: declare its kink, or no_kink saying why it has none")
    if not differentiable_output and isinstance(second_order, str) and not second_order.strip():
        second_order = NO_DERIVATIVE  # follows from the declaration: nothing to differentiate, at any order
    if not shape and not (broadcasts or local_derivative is not None):
        raise RuleError(f"{name}: declare its shape rule (shape=: a function of the argument shapes, SAME, "
                        "VIEW or UNKNOWN); only elementwise and broadcasting primitives get one for free")
    if isinstance(shape, str) and shape and shape not in (SAME, VIEW, UNKNOWN):
        raise RuleError(f"{name}: unknown shape rule {shape!r}")
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
        domain=domain,
        probes=probes,
        symbolic=symbolic,
        local_derivative=local_derivative,
        no_kink=no_kink,
        second_order=second_order if isinstance(second_order, str) else tuple(second_order),
        taught_derivative=taught_derivative,
        shape=shape or _broadcast_shape,
        cost=cost,
    )
    if not isinstance(second_order, str) and len(prim.second_order) != n:
        raise RuleError(f"{name}: second_order declares {len(prim.second_order)} rules for {n} arguments {args}")
    _REGISTRY[name] = prim
    return prim


#: arrays smaller than this go the plain way (``seed * local``): the checks below would cost more than they save
BIG = 4096


def single_value(a: Any) -> np.ndarray | None:
    """The one number of an array whose elements all share one place in memory (a broadcast view, every
    stride 0: what a sum's or a mean's VJP hands down), as a 0-d array of its dtype; None otherwise."""
    if isinstance(a, np.ndarray) and a.size >= BIG and not any(a.strides):
        return a[(0,) * a.ndim + (Ellipsis,)]
    return None


def _made(local: np.ndarray, seed: Any, ans: Any, args: tuple) -> bool:
    """Has the rule just made ``local`` for this call (owns its memory, none of the arrays it was given)?"""
    return (local.flags.owndata and local.flags.writeable and local.base is None
            and local is not ans and local is not seed and not any(local is a for a in args))


def _times(seed: Any, local: Any, ans: Any, args: tuple, private: bool = False) -> Any:
    """``seed · local`` with as few full-size temporaries as the arrays allow, bit for bit the plain product.

    * the upstream one number everywhere (a broadcast view): a product with that 0-d number, and no product
      at all when it is 1 in a real dtype (x·1 = x exactly): ``local`` itself, which may be an argument —
      the engine never writes into what a rule hands back unless it made it;
    * ``local`` made by the rule for this call (large, owns its memory, has the product's shape and dtype):
      the product is written into it;
    * ``private`` (the engine owns ``seed`` and nobody reads it after this call, see the header): into ``seed``.
    """
    if (not isinstance(local, np.ndarray) or not isinstance(seed, np.ndarray)
            or (local.size < BIG and seed.size < BIG)):
        return seed * local
    dtype = np.result_type(seed, local)
    shape = np.broadcast_shapes(seed.shape, local.shape)
    if local.shape == shape:
        one = single_value(seed)
        if one is not None:
            if dtype.kind == "f" and local.dtype == dtype and one == 1:
                return local
            seed = one
        if local.dtype == dtype and _made(local, seed, ans, args):
            return np.multiply(seed, local, out=local)
    if private and seed.shape == shape and seed.dtype == dtype and seed.flags.writeable:
        return np.multiply(seed, local, out=seed)
    return np.multiply(seed, local)


def takes_private(rule: Rule) -> Rule:
    """Mark a VJP rule that accepts the keyword ``private`` (see the header): the engine then tells it
    when the upstream is a buffer it may write its result into."""
    rule.takes_private = True  # type: ignore[attr-defined]
    return rule


class Constant:
    """A local derivative that is one number everywhere (see ``local_derivative`` above)."""

    def __init__(self, value: float):
        self.value = float(value)

    def __call__(self, ans: Any, *args: Any, **params: Any) -> np.ndarray:
        return np.full_like(ans, self.value)

    def __repr__(self) -> str:
        return f"constant({self.value:g})"


def constant(value: float) -> Constant:
    """The local derivative ``value`` everywhere (add's 1, sub's −1 for its second argument)."""
    return Constant(value)


def _times_local(rule: Rule) -> tuple[Rule, Rule]:
    """The VJP and the JVP of one elementwise local derivative: two separate functions (a
    :class:`Constant`'s VJP skips the array; its JVP still broadcasts t to the result's shape).
    Both VJPs take ``private`` (see the header)."""
    if isinstance(rule, Constant):
        value = rule.value

        def vjp(g, ans, *args, private=False, **params):  # the upstream itself: the engine never writes into it
            if value == 1.0:
                return g
            one = single_value(g)
            if one is not None:  # one number everywhere stays one number (a broadcast view)
                return np.broadcast_to(np.multiply(one, value), g.shape)
            return np.multiply(g, value, out=g) if private and g.flags.writeable else np.multiply(g, value)
    else:

        def vjp(g, ans, *args, private=False, **params):
            return _times(g, rule(ans, *args, **params), ans, args, private)

    def jvp(t, ans, *args, **params):
        return _times(t, rule(ans, *args, **params), ans, args)

    return takes_private(vjp), jvp


def _vjp_tangent(k: int, second: tuple[tuple[Rule, ...], ...]) -> Rule:
    """The change of ``g·∂out/∂arg_k`` when the arguments move: ``g·Σ_j ∂²out/∂arg_k∂arg_j·darg_j``."""

    def vjp_tangent(g, ans, dans, dargs, *args, **params):
        total = 0.0
        for j, t in enumerate(dargs):
            if t is not None and not isinstance(second[k][j], NotDifferentiable):
                total = total + second[k][j](ans, *args, **params) * t
        return g * total

    return vjp_tangent


def elementwise(
    name: str,
    *,
    forward: Callable[..., np.ndarray],
    local_derivative: Rule | tuple[Rule | NotDifferentiable, ...],
    args: tuple[str, ...] = ("x",),
    examples: tuple[Mapping[str, Any], ...] = ({},),
    category: str = "elementwise",
    second_derivative: Rule | tuple[tuple[Rule | NotDifferentiable, ...], ...] | str = "",
    **declared: Any,
) -> Primitive:
    """Declare an elementwise primitive from its local derivatives, each written once.

    ``local_derivative[i](ans, *args, **params)`` is ∂out/∂arg_i elementwise (one rule
    for a one-argument primitive); the VJP ``g·∂out/∂arg_i`` and the JVP
    ``t·∂out/∂arg_i`` are generated from it.  A primitive of two or more arguments
    broadcasts.  Its probes are :data:`UNARY_SHAPES` (or :data:`BROADCAST_PAIRS` for two
    arguments) with each parameter set of ``examples`` (which the property tests use
    too).  ``second_derivative[i][j]`` (one rule for one argument) is ∂²out/∂arg_i∂arg_j,
    from which the second-order rule is generated; a sentence instead says why there is
    none.  Everything else is declared as for :func:`register`.
    """
    local = local_derivative if isinstance(local_derivative, tuple) else (local_derivative,)
    if len(local) != len(args):
        raise RuleError(f"{name}: {len(local)} local derivatives for {len(args)} arguments {args}")
    rules = [(r, r) if isinstance(r, NotDifferentiable) else _times_local(r) for r in local]
    if "probes" not in declared:
        if len(args) == 1:
            shapes = UNARY_SHAPES
        elif len(args) == 2:
            shapes = BROADCAST_PAIRS
        else:
            raise RuleError(f"{name}: declare the probes of a primitive of {len(args)} arguments")
        declared["probes"] = calls(shapes, *examples)
    if callable(second_derivative):
        second_derivative = ((second_derivative,),)
    if isinstance(second_derivative, str):
        second: tuple[Rule | NotDifferentiable, ...] | str = second_derivative
    else:
        if len(second_derivative) != len(args) or any(len(row) != len(args) for row in second_derivative):
            raise RuleError(f"{name}: second_derivative must be a {len(args)}×{len(args)} table of rules")
        second = tuple(NOT_DIFFERENTIABLE if isinstance(local[k], NotDifferentiable)
                       else _vjp_tangent(k, second_derivative) for k in range(len(args)))
    return register(name, forward=forward, args=args, vjp=tuple(v for v, _ in rules),
                    jvp=tuple(j for _, j in rules), category=category, broadcasts=len(args) > 1,
                    local_derivative=local, second_order=second, **declared)


def get(name: str) -> Primitive:
    """The primitive called ``name`` (KeyError if there is none)."""
    if not _LOADED:  # tested here, not in a call: the engine asks for every node of every pass
        _ensure_loaded()
    return _REGISTRY[name]


def lookup(name: str) -> Primitive | None:
    """The primitive called ``name``, or None."""
    if not _LOADED:
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


# ---- shapes and costs, known before anything is computed ------------------------


def _broadcast_shape(*shapes: tuple[int, ...], **params: Any) -> tuple[int, ...]:
    """numpy's broadcast of the argument shapes: the shape rule of elementwise primitives."""
    return tuple(np.broadcast_shapes(*shapes))


def ghost(shape: tuple[int, ...]) -> np.ndarray:
    """A read-only array of ``shape`` whose elements all share one float (strides 0): its
    views (transpose, reshape, basic indexing …) show the result's shape and allocate nothing."""
    return np.broadcast_to(np.zeros((), dtype=np.float64), tuple(shape))


def output_shape(prim: Primitive, shapes: list[tuple[int, ...]], params: Mapping[str, Any]) -> tuple[int, ...]:
    """The shape of ``prim``'s result for arguments of ``shapes`` (``params`` normalised with
    nb = 0, as :func:`normalise_params` gives them); a ValueError when they do not fit, a
    LookupError when the primitive's shape is :data:`UNKNOWN`."""
    rule = prim.shape
    if rule == UNKNOWN:
        raise LookupError(f"{prim.name}: the shape of a plugin layer is known only once it runs")
    if rule == SAME:
        return tuple(shapes[0])
    if rule == VIEW:
        out = prim.forward(*(ghost(s) for s in shapes), **params)
        return tuple(int(n) for n in np.shape(out))
    return tuple(int(n) for n in rule(*shapes, **params))


def output_cost(prim: Primitive, out: tuple[int, ...], shapes: list[tuple[int, ...]],
                params: Mapping[str, Any]) -> int:
    """An estimate of the multiply-adds of one forward call (see ``cost`` in the module docstring)."""
    if prim.cost is not None:
        return int(prim.cost(out, *shapes, **params))
    return math.prod(out) + sum(math.prod(s) for s in shapes)


def reduced_shape(x: tuple[int, ...], axis: tuple[int, ...], keepdims: bool = False, **_: Any) -> tuple[int, ...]:
    """The shape rule of a reduction over the (negative, normalised) ``axis``."""
    gone = {len(x) + a for a in axis}
    return tuple(1 if i in gone else n for i, n in enumerate(x) if keepdims or i not in gone)


def contraction_cost(out: tuple[int, ...], x: tuple[int, ...], *rest: tuple[int, ...], **_: Any) -> int:
    """The cost rule of a product contracting the last axis of ``x`` (matmul, dot): out × n."""
    return math.prod(out) * (x[-1] if x else 1)


def matrix_cost(out: tuple[int, ...], a: tuple[int, ...], *rest: tuple[int, ...], **_: Any) -> int:
    """The cost rule of a matrix factorisation of ``a`` (inv, det, solve …): its elements × n."""
    return math.prod(a) * (a[-1] if a else 1) + sum(math.prod(s) for s in rest)


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
    if not prim.param_kinds and not prim.needs_nb:  # most primitives: nothing to normalise
        return out
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
