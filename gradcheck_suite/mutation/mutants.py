"""Wrong derivative rules: what a mutant is, how it is built, installed and always restored.

A :class:`Mutant` is a plain description (primitive, ``vjp`` or ``jvp``, argument,
kind), so it can be sent to a worker process; :func:`mutated` builds the wrong
:class:`~gradcheck_suite.ops.registry.Primitive` from it and :func:`installed` swaps it
into the registry for the duration of a ``with`` block, restoring the original even
when the block raises.

The kinds (:data:`KINDS`):

``sign``       the rule's result with its sign flipped;
``scale2``     the rule's result times 2;
``zero``       the rule's result forced to zero;
``unbroadcast`` (``broadcasts=True`` primitives only) the "forgot to sum over the
               broadcast axes" bug.  VJP: the rule's result is reduced to the
               argument's shape by taking the *first slice* along every broadcast axis
               instead of summing, so the shape is right and only the values are wrong
               (the registry's ``unbroadcast`` then has nothing left to do).  JVP: the
               tangent reaches only the *first copy* of the broadcast argument — the
               contribution is zero outside index 0 of every axis the argument was
               stretched along.  The JVP mutant is the transpose of the VJP mutant, so
               the two stay consistent with each other as a real bug would.
``swap``       the rule called with its two differentiable tensor arguments in the
               other order (only where the swapped call has the same shapes, i.e.
               always for broadcasting primitives and for equal shapes otherwise);
``transpose``  the last two axes of the result swapped where they form a square matrix
               (batch axes never move).

A kind that cannot apply to a call (no broadcast axis, shapes that cannot be swapped, a
result that is not square) leaves that call's result unchanged; :class:`Firing` counts
the calls where it did apply, which is how the equivalence detector can say "never
applies" rather than only "same numbers".
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..ops import registry
from ..ops.registry import NotDifferentiable, Primitive

__all__ = ["KINDS", "RULES", "Mutant", "Firing", "mutants_of", "mutated", "installed", "swap_pair"]

#: every kind of wrong rule, in report order
KINDS = ("sign", "scale2", "zero", "unbroadcast", "swap", "transpose")
#: the two rule tables of a primitive
RULES = ("vjp", "jvp")
#: variadic primitives (concat, stack) are mutated at these argument positions
VARIADIC_POSITIONS = (0, 1)


@dataclass(frozen=True)
class Mutant:
    """One wrong rule: ``rule`` (``vjp``/``jvp``) of ``primitive`` for argument ``argnum``."""

    primitive: str
    rule: str
    argnum: int
    argument: str
    kind: str

    @property
    def label(self) -> str:
        return f"{self.primitive}.{self.rule}[{self.argument}]:{self.kind}"


@dataclass
class Firing:
    """How often a mutant's wrong rule ran, and how often its change actually applied."""

    calls: int = 0
    applied: int = 0


def _differentiable(prim: Primitive) -> list[int]:
    return [k for k, r in enumerate(prim.vjp) if not isinstance(r, NotDifferentiable)]


def swap_pair(prim: Primitive) -> tuple[int, int] | None:
    """The two differentiable tensor arguments a ``swap`` mutant exchanges, or None."""
    if prim.variadic:
        return None
    diff = _differentiable(prim)
    return (diff[0], diff[1]) if len(diff) == 2 else None


def _kinds_for(prim: Primitive) -> list[str]:
    kinds = ["sign", "scale2", "zero"]
    if prim.broadcasts:
        kinds.append("unbroadcast")
    if swap_pair(prim) is not None:
        kinds.append("swap")
    kinds.append("transpose")
    return kinds


def mutants_of(prim: Primitive, rules: Sequence[str] = RULES, kinds: Sequence[str] | None = None) -> list[Mutant]:
    """Every mutant of ``prim`` (arguments declared NOT_DIFFERENTIABLE have none)."""
    if prim.variadic:
        args = [(k, f"{prim.args[0]}[{k}]") for k in VARIADIC_POSITIONS
                if not isinstance(prim.vjp[0], NotDifferentiable)]
    else:
        args = [(k, prim.args[k]) for k in _differentiable(prim)]
    wanted = [k for k in _kinds_for(prim) if kinds is None or k in kinds]
    return [Mutant(prim.name, rule, k, arg, kind) for rule in RULES if rule in rules
            for k, arg in args for kind in wanted]


# ---- the changes ------------------------------------------------------------------


def _batch_count(seed: np.ndarray, core_ndim: int) -> int:
    return max(seed.ndim - core_ndim, 0)


def _first_slice(out: np.ndarray, g: np.ndarray, ans: np.ndarray, arg: np.ndarray) -> tuple[np.ndarray, bool]:
    """VJP ``unbroadcast``: reduce the broadcast axes by taking slice 0 instead of summing."""
    nbatch = _batch_count(g, ans.ndim)
    lead = ans.ndim - arg.ndim
    stretched = [i for i, n in enumerate(arg.shape) if n == 1 and ans.shape[lead + i] != 1]
    if (lead == 0 and not stretched) or 0 in ans.shape:
        return out, False
    try:
        full = np.broadcast_to(out, g.shape[:nbatch] + ans.shape)
    except ValueError:
        return out, False
    # leading axes are kept with size 1 (the registry's unbroadcast expects the output's rank)
    index = [slice(None)] * nbatch + [slice(0, 1)] * lead
    index += [slice(0, 1) if i in stretched else slice(None) for i in range(arg.ndim)]
    return np.array(full[tuple(index)]), True


def _first_copy(out: np.ndarray, t: np.ndarray, ans: np.ndarray, arg: np.ndarray) -> tuple[np.ndarray, bool]:
    """JVP ``unbroadcast``: the tangent reaches only index 0 of every axis ``arg`` was stretched along."""
    padded = (1,) * (ans.ndim - arg.ndim) + arg.shape
    stretched = [i for i, (n, m) in enumerate(zip(padded, ans.shape)) if n == 1 and m > 1]
    if not stretched:
        return out, False
    nbatch = _batch_count(t, ans.ndim)
    try:
        full = np.array(np.broadcast_to(out, t.shape[:nbatch] + ans.shape))
    except ValueError:
        return out, False
    for i in stretched:
        full[(slice(None),) * (nbatch + i) + (slice(1, None),)] = 0
    return full, True


def _transposed(out: np.ndarray, core_ndim: int) -> tuple[np.ndarray, bool]:
    """Swap the last two axes of ``out`` when its core (``core_ndim`` axes) ends in a square."""
    if core_ndim < 2 or out.ndim < 2 or out.shape[-1] != out.shape[-2] or out.shape[-1] < 2:
        return out, False
    return np.swapaxes(out, -1, -2), True


def _changed(mutant: Mutant, prim: Primitive, out: Any, seed: np.ndarray, ans: np.ndarray,
             args: tuple) -> tuple[np.ndarray, bool]:
    out = np.asarray(out)
    kind = mutant.kind
    if kind == "sign":
        return -out, True
    if kind == "scale2":
        return 2 * out, True
    if kind == "zero":
        return np.zeros_like(out), True
    arg = np.asarray(args[mutant.argnum])
    if kind == "unbroadcast":
        if mutant.rule == "vjp":
            return _first_slice(out, seed, ans, arg)
        return _first_copy(out, seed, ans, arg)
    if kind == "transpose":
        if mutant.rule == "vjp":  # the result has the argument's core (or the output's, before unbroadcast)
            return _transposed(out, out.ndim - _batch_count(seed, ans.ndim))
        core = ans.ndim if prim.broadcasts else arg.ndim  # the tangent's core; the result has ans's
        nbatch = _batch_count(seed, core)
        return _transposed(out, ans.ndim if out.ndim == nbatch + ans.ndim else 0)
    raise ValueError(f"unknown mutant kind {kind!r}")  # pragma: no cover - KINDS is closed


def _swappable(prim: Primitive, args: tuple, pair: tuple[int, int]) -> bool:
    i, j = pair
    if prim.broadcasts:
        return True
    return np.shape(args[i]) == np.shape(args[j])


def _wrong(rule: Callable[..., Any], prim: Primitive, mutant: Mutant, firing: Firing) -> Callable[..., Any]:
    pair = swap_pair(prim)

    def wrong_rule(seed, ans, *args, **params):
        if prim.variadic and params.get("argnum") != mutant.argnum:
            return rule(seed, ans, *args, **params)
        firing.calls += 1
        if mutant.kind == "swap":
            if pair is None or not _swappable(prim, args, pair):
                return rule(seed, ans, *args, **params)
            swapped = list(args)
            swapped[pair[0]], swapped[pair[1]] = args[pair[1]], args[pair[0]]
            firing.applied += 1
            return rule(seed, ans, *swapped, **params)
        out, applied = _changed(mutant, prim, rule(seed, ans, *args, **params), np.asarray(seed),
                                np.asarray(ans), args)
        firing.applied += int(applied)
        return out

    wrong_rule.__name__ = f"mutant_{mutant.kind}_{getattr(rule, '__name__', 'rule')}"
    return wrong_rule


def mutated(prim: Primitive, mutant: Mutant, firing: Firing | None = None) -> Primitive:
    """``prim`` with the rule ``mutant`` names replaced by the wrong one."""
    if mutant.primitive != prim.name:
        raise ValueError(f"mutant {mutant.label} does not belong to {prim.name}")
    table = list(getattr(prim, mutant.rule))
    slot = 0 if prim.variadic else mutant.argnum
    if isinstance(table[slot], NotDifferentiable):
        raise ValueError(f"{mutant.label}: the argument is declared NOT_DIFFERENTIABLE")
    table[slot] = _wrong(table[slot], prim, mutant, firing if firing is not None else Firing())
    return dataclasses.replace(prim, **{mutant.rule: tuple(table)})


@contextlib.contextmanager
def installed(mutant: Mutant, firing: Firing | None = None) -> Iterator[Primitive]:
    """Install ``mutant`` in the registry; the original primitive is back afterwards, always."""
    original = registry.get(mutant.primitive)
    registry.replace(mutant.primitive, mutated(original, mutant, firing))
    try:
        yield original
    finally:
        registry.replace(mutant.primitive, original)
