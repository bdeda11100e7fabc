"""Adding a primitive from a plugin: the public registration API.

A case file can then use the new name like any built-in primitive; its forward, its
VJP and (if given) its JVP are *your* code, so every check of such a case checks it:
``hand_vs_fd`` holds your derivative to finite differences of your forward, and
``hand_vs_torch`` to the torch counterpart you name.  The simple things take one call::

    from gradcheck_suite import extend
    import numpy as np, torch

    extend.elementwise("squareplus",
                       forward=lambda x: (x + np.sqrt(x * x + 4)) / 2,
                       derivative=lambda x, out: (1 + x / np.sqrt(x * x + 4)) / 2,
                       torch=lambda x: (x + torch.sqrt(x * x + 4)) / 2,
                       text="(1 + {x}/√({x}² + 4))/2")

    extend.from_autograd_function(MySwish)                  # forward and backward: MySwish
    extend.from_numpy_layer("affine", affine_forward, affine_backward, args=("x", "w", "b"))

Batch axes (the engine evaluates many perturbed copies at once, and pulls back many
cotangents in one pass) are handled here: your functions see the shapes the case uses.
A missing JVP rule is declared, not forgotten: forward mode is then reported as a
``hand_jvp`` row with status ``skip``; a missing torch counterpart makes the torch checks
``skip`` with the reason; a missing derivative text shows as "not declared" in the
answer key.  Helpers never mark a primitive analytic (complex step) unless you say so:
arbitrary code need not be complex-safe.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np

from .ops import registry
from .ops.registry import NOT_DECLARED, UNARY_SHAPES, Domain, Primitive, ProbeCall, RuleError

__all__ = ["elementwise", "from_autograd_function", "from_numpy_layer", "register", "Domain", "NOT_DECLARED",
           "NO_TEXT", "NO_SYMBOLIC", "CATEGORY", "DEFAULT_DOMAIN"]

#: the category plugin primitives are listed under by ``gradcheck-suite ops``
CATEGORY = "plugin"
#: the derivative text of a primitive that declares none
NO_TEXT = "(derivative text not declared)"
#: the symbolic form of a plugin primitive that declares none (the answer key then has no closed form)
NO_SYMBOLIC = "not declared by its plugin"
#: why a plugin primitive declares no kink set (helpers never mark user code analytic, so they must say)
NO_KINK = "user code: complex step is not assumed; one-sided differences judge any kink"
#: where the mutation tester and the property tests draw a plugin primitive's arguments by default
DEFAULT_DOMAIN = Domain(-2.0, 2.0)

#: the full registration, for what the helpers do not cover (see the registry's header)
register = registry.register


def _texts(text: str | Sequence[str] | None, n: int) -> tuple[str, ...]:
    if text is None:
        return (NO_TEXT,) * n
    texts = (text,) if isinstance(text, str) else tuple(text)
    if len(texts) != n:
        raise RuleError(f"{len(texts)} derivative texts for {n} arguments")
    return texts


def elementwise(name: str, forward: Callable[[np.ndarray], np.ndarray],
                derivative: Callable[[np.ndarray, np.ndarray], np.ndarray], *,
                torch: Callable[..., Any] | None = None, text: str | None = None, jvp: bool = True,
                analytic: bool = False, kink: Callable[[np.ndarray], float] | None = None,
                domain: Domain = DEFAULT_DOMAIN, symbolic: Callable[..., Any] | str = NO_SYMBOLIC,
                doc: str = "") -> Primitive:
    """A one-argument elementwise primitive from its forward and its derivative, written once.

    ``derivative(x, out)`` returns d out/dx elementwise; the VJP is ``g·derivative`` and
    the JVP ``t·derivative`` (``jvp=False`` declares none).  ``kink(x)`` returns the
    distance of ``x`` to the points where the primitive is not differentiable;
    ``domain`` is where the mutation tester draws ``x``; ``symbolic(sp, x)`` the sympy
    form of the forward for the answer key's closed forms.
    """
    def local(ans, x):
        return derivative(x, ans)

    def vjp(g, ans, x):
        return g * derivative(x, ans)

    def tangent(t, ans, x):
        return t * derivative(x, ans)

    return registry.register(
        name, forward=forward, args=("x",), vjp=(vjp,), jvp=(tangent if jvp else NOT_DECLARED,),
        torch=torch, derivative=_texts(text, 1), category=CATEGORY, doc=doc or f"plugin primitive {name}",
        analytic=analytic, kink=kink, no_kink="" if (analytic or kink) else NO_KINK, domain=domain, probes=registry.calls(UNARY_SHAPES), symbolic=symbolic,
        local_derivative=(local,))


def _probes(shapes: Sequence[Sequence[int]] | None, n: int) -> tuple[ProbeCall, ...]:
    """The mutation tester's probe call of a layer: its argument shapes (default: vectors of 3)."""
    return (ProbeCall(tuple(tuple(s) for s in shapes) if shapes is not None else ((3,),) * n),)


def _without_nb(fn: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """The torch counterpart of a ``needs_nb`` primitive is called with ``nb=0``: your function is not."""
    if fn is None:
        return None

    def counterpart(*tensors: Any, nb: int = 0) -> Any:
        return fn(*tensors)
    return counterpart


def _batch_loop(fn: Callable[..., np.ndarray], core_ndims: Sequence[int], batched: Sequence[np.ndarray],
                fixed: Sequence[np.ndarray] = ()) -> np.ndarray:
    """``fn`` called once per leading batch element of ``batched`` (core dims given), results stacked."""
    nb = batched[0].ndim - core_ndims[0]
    if nb <= 0:
        return np.asarray(fn(*batched, *fixed))
    batch = np.broadcast_shapes(*(a.shape[:a.ndim - c] for a, c in zip(batched, core_ndims)))
    flat = [np.broadcast_to(a, batch + a.shape[a.ndim - c:]).reshape((-1,) + a.shape[a.ndim - c:])
            for a, c in zip(batched, core_ndims)]
    outs = [np.asarray(fn(*(f[i] for f in flat), *fixed)) for i in range(flat[0].shape[0])]
    return np.stack(outs).reshape(batch + outs[0].shape)


def from_numpy_layer(name: str, forward: Callable[..., Any], backward: Callable[..., Any], *,
                     args: Sequence[str] = ("x",), cache: bool = False, torch: Callable[..., Any] | None = None,
                     text: str | Sequence[str] | None = None, doc: str = "",
                     kink: Callable[..., float] | None = None, shapes: Sequence[Sequence[int]] | None = None,
                     domain: Domain = DEFAULT_DOMAIN) -> Primitive:
    """A primitive from a numpy layer with a hand-written backward, as a course writes them.

    ``forward(*arrays) -> out`` and ``backward(g, *arrays) -> grads`` (a tuple, one per
    argument; the array itself for one argument), or with ``cache=True``
    ``forward(*arrays) -> (out, cache)`` and ``backward(g, cache)``.  No JVP rule is
    declared (a backward gives none).  ``torch`` is the counterpart torch.autograd
    differentiates; without it the torch checks are ``skip``.  ``shapes`` (one per
    argument) are the shapes ``gradcheck-suite mutate`` probes the layer with.
    """
    args = tuple(args)
    n = len(args)

    def run_forward(*arrays: np.ndarray) -> np.ndarray:
        out = forward(*arrays)
        return np.asarray(out[0] if cache else out)

    def grads_of(g: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        if cache:
            grads = backward(g, forward(*arrays)[1])
        else:
            grads = backward(g, *arrays)
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if len(grads) != n:
            raise RuleError(f"{name}: backward returned {len(grads)} gradient(s) for {n} argument(s) {args}")
        return tuple(np.asarray(gr) for gr in grads)

    def forward_rule(*arrays: np.ndarray, nb: int = 0) -> np.ndarray:
        if nb == 0:
            return run_forward(*arrays)
        return _batch_loop(run_forward, [a.ndim - nb for a in arrays], arrays)

    def vjp_for(k: int) -> Callable[..., np.ndarray]:
        def rule(g, ans, *arrays, nb: int = 0):
            return _batch_loop(lambda gi: grads_of(gi, *arrays)[k], [ans.ndim], [g])
        return rule

    return registry.register(
        name, forward=forward_rule, args=args, vjp=tuple(vjp_for(k) for k in range(n)), jvp=(NOT_DECLARED,) * n,
        torch=_without_nb(torch), derivative=_texts(text, n), category=CATEGORY, doc=doc or f"plugin layer {name}",
        analytic=False, needs_nb=True, kink=kink, no_kink="" if kink else NO_KINK, domain=domain, probes=_probes(shapes, n), symbolic=NO_SYMBOLIC,
        shape=registry.UNKNOWN)


def from_autograd_function(function: Any, name: str | None = None, *, args: Sequence[str] | None = None,
                           text: str | Sequence[str] | None = None, doc: str = "",
                           kink: Callable[..., float] | None = None, shapes: Sequence[Sequence[int]] | None = None,
                           domain: Domain = DEFAULT_DOMAIN) -> Primitive:
    """A primitive whose forward and backward are a custom ``torch.autograd.Function``'s.

    The forward runs ``function.apply`` on float64 tensors, the VJP runs its backward
    through torch.autograd, the JVP its ``jvp`` (forward-mode AD) where it defines one,
    and its torch counterpart is ``function.apply`` itself — so ``hand_vs_fd`` is the
    check that holds its backward to finite differences of its forward.
    """
    import torch as _torch

    from .reference.torch_ref import pullback

    forward_sig = inspect.signature(function.forward)
    params = [p for p in forward_sig.parameters if p != "ctx"]
    args = tuple(args) if args is not None else tuple(params)
    n = len(args)
    name = name or function.__name__.lower()
    has_jvp = getattr(function, "jvp", None) is not getattr(_torch.autograd.Function, "jvp", None)

    def to_torch(a: np.ndarray, grad: bool = False):
        return _torch.from_numpy(np.array(a, dtype=np.result_type(a, np.float32))).requires_grad_(grad)

    def run_forward(*arrays: np.ndarray) -> np.ndarray:
        with _torch.no_grad():
            return function.apply(*(to_torch(a) for a in arrays)).numpy()

    def forward_rule(*arrays: np.ndarray, nb: int = 0) -> np.ndarray:
        if nb == 0:
            return run_forward(*arrays)
        return _batch_loop(run_forward, [a.ndim - nb for a in arrays], arrays)

    def one_vjp(k: int, g: np.ndarray, arrays: Sequence[np.ndarray]) -> np.ndarray:
        tensors = [to_torch(a, grad=(i == k)) for i, a in enumerate(arrays)]
        out = function.apply(*tensors)
        (grad,) = pullback(out, [tensors[k]], _torch.from_numpy(np.array(g)).to(out.dtype), retain=False)
        return np.zeros(arrays[k].shape) if grad is None else grad.numpy()

    def vjp_for(k: int) -> Callable[..., np.ndarray]:
        def rule(g, ans, *arrays, nb: int = 0):
            return _batch_loop(lambda gi: one_vjp(k, gi, arrays), [ans.ndim], [g])
        return rule

    def one_jvp(k: int, t: np.ndarray, arrays: Sequence[np.ndarray]) -> np.ndarray:
        import torch.autograd.forward_ad as fwad

        with fwad.dual_level():
            tensors = [to_torch(a) for a in arrays]
            tensors[k] = fwad.make_dual(tensors[k], _torch.from_numpy(np.array(t)).to(tensors[k].dtype))
            tangent = fwad.unpack_dual(function.apply(*tensors)).tangent
        out_shape = run_forward(*arrays).shape
        return np.zeros(out_shape) if tangent is None else tangent.numpy()

    def jvp_for(k: int) -> Callable[..., np.ndarray]:
        def rule(t, ans, *arrays, nb: int = 0):
            return _batch_loop(lambda ti: one_jvp(k, ti, arrays), [arrays[k].ndim], [t])
        return rule

    return registry.register(
        name, forward=forward_rule, args=args, vjp=tuple(vjp_for(k) for k in range(n)),
        jvp=tuple(jvp_for(k) for k in range(n)) if has_jvp else (NOT_DECLARED,) * n,
        torch=_without_nb(function.apply), derivative=_texts(text, n), category=CATEGORY,
        doc=doc or f"torch.autograd.Function {function.__name__}", analytic=False, needs_nb=True, kink=kink, no_kink="" if kink else NO_KINK,
        domain=domain, probes=_probes(shapes, n), symbolic=NO_SYMBOLIC,
        shape=registry.UNKNOWN)
