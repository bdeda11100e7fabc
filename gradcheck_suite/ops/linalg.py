"""Linear algebra: matmul (the ``@`` operator), dot, outer, trace, diag, inv, det, solve.

Conventions (numpy's, except where said)
----------------------------------------
``matmul(x, y)``  numpy.matmul, i.e. ``x @ y``.  A 1-D left operand is a row vector and a
                  1-D right operand a column vector; the promoted axis is dropped from the
                  result (vector @ vector is the inner product, a scalar).  Operands of three
                  or more dimensions are stacks of matrices; the stack axes broadcast.
``dot(x, y)``     numpy.dot for 1-D and 2-D operands, where it equals matmul: vector·vector
                  (inner product), matrix·vector, vector·matrix, matrix·matrix.  A 0-D or a
                  >2-D operand is refused with a ValueError (use ``*`` for a scalar and
                  ``matmul``/``@`` for stacks: numpy.dot's sum-product over the last axis of
                  x and the second-to-last of y is rarely what a case means).
``outer(x, y)``   numpy.outer: both operands are flattened first, so the result is always
                  the matrix ``(x.size, y.size)`` with ``out[i, j] = x.flat[i] * y.flat[j]``.
``trace(x)``      the sum of the diagonal of the *last two* axes (numpy.trace's default is
                  the first two); a stack gives a stack of traces; rectangular allowed.
``diag(x)``       numpy.diag with k=0: 1-D → the square matrix with that diagonal, 2-D → its
                  diagonal (``min(n, m)`` entries).  Other ranks are refused.
``inv(a)``, ``det(a)``  of a square matrix or of a stack of them.
``solve(a, b)``   numpy 2: the ``x`` with ``a @ x = b``.  ``b`` is a vector only when it is
                  1-D — ``(M,)`` gives ``x`` of shape ``(..., M)`` — and otherwise a (stack
                  of) matrix ``(..., M, K)`` giving ``(..., M, K)``; stack axes broadcast.
                  (torch.linalg.solve would read ``b`` of shape ``(..., M)`` with
                  ``b.ndim == a.ndim - 1`` as a stack of vectors; our torch counterpart
                  spells the numpy meaning out.)

All are real-analytic where defined (matmul, dot, outer are bilinear, trace and diag
linear, det a polynomial, inv and solve rational), so none declares a kink.  In
particular det is differentiable at singular matrices too: its VJP uses the cofactor
matrix ``adj(a)ᵀ`` (computed from an SVD), which equals ``det(a)·a⁻ᵀ`` where ``a`` is
invertible and stays correct where it is not.  torch.linalg.det's own backward gives 0
at a matrix of rank n − 1 (wrong: the cofactor matrix is not 0 there), so the torch
counterpart of det differentiates a polynomial form of det at such points (see
``_torch_det``): ``hand_vs_torch`` then checks our rule against the right derivative, and
finite differences agree with both.  inv and solve at a singular matrix are
poles, not kinks: the forward fails there with a clear error.

Stacks and batch axes
---------------------
The stack axes broadcast among themselves, matrix cores do not, so the registry's
generic unbroadcast (which treats the whole core elementwise) is not used: every
primitive here has ``broadcasts=False``, undoes stack broadcasting inside its VJP rules
and declares ``needs_nb=True`` so that its forward can tell a 1-D operand from a stack
of them.  Rules place the leading batch axes of a cotangent/tangent in front of the
stack axes by padding the shorter stacks with size-1 axes *after* the batch axes
(:func:`_lift`).  JVP rules reuse the forward: the tangent is the batched argument and
the other arguments get size-1 batch axes.  The forward helpers are written with
operations numpy arrays and torch tensors share, so the torch counterparts use them
too (with torch's own solve) when they are handed batch axes.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from .lazy_torch import torch
from .registry import (BILINEAR, LINEAR, REAL, SAME, Domain, calls, contraction_cost, matrix_cost, register,
                       unbroadcast)

__all__: list[str] = []  # this module only registers primitives


#: square matrices, noise + 3·I: well conditioned
MATRIX = Domain(high=3.0, kind="matrix")
#: the probes of a product of two operands: matrices, vectors, both
PRODUCT_CALLS = calls([((3, 4), (4, 2)), ((3, 3), (3, 3)), ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,))])
#: the probes of a function of one square matrix
SQUARE_CALLS = calls([((3, 3),), ((2, 2),), ((2, 3, 3),)])


# ---- shared machinery: batch axes, stacks, vectors as matrices --------------------


def _lift(a: Any, nb: int, core_ndim: int) -> Any:
    """Insert size-1 axes after the ``nb`` leading batch axes so the core has ``core_ndim`` axes."""
    pad = core_ndim - (a.ndim - nb)
    if pad <= 0:
        return a
    return a.reshape(tuple(a.shape[:nb]) + (1,) * pad + tuple(a.shape[nb:]))


def _with_batch(a: np.ndarray, lead: int) -> np.ndarray:
    """``a`` with ``lead`` size-1 batch axes in front (an unbatched argument of a batched call)."""
    return a.reshape((1,) * lead + a.shape)


def _swap(a: Any) -> Any:
    """Transpose of the last two axes (a stack of matrices)."""
    return a.swapaxes(-1, -2) if isinstance(a, np.ndarray) else a.transpose(-1, -2)


def _core(a: Any, nb: int) -> int:
    return a.ndim - nb


def _square(op: str, a: Any, nb: int) -> None:
    """Refuse anything but a square matrix or a stack of them."""
    if _core(a, nb) < 2 or a.shape[-1] != a.shape[-2]:
        shape = tuple(a.shape[nb:])
        raise ValueError(f"{op} needs a square matrix (or a stack of them); got shape {shape}")


# ---- matmul and dot -----------------------------------------------------------------


def _product(a: Any, b: Any) -> Any:
    """``a @ b`` of stacks; a complex numpy product is computed by real BLAS products.

    numpy's stacked complex matmul is about 25 times slower than the real one (a complex ×
    real product over 100 times: the real side is cast inside the loop), and the
    finite-difference reference's complex step multiplies exactly such stacks.  The
    complex array is read as interleaved real/imaginary floats, so no part is copied:
    real ``a`` times complex ``b`` is ``a @ view(b)``; complex ``a`` times ``b`` is
    ``view(a) @ W`` with ``W[2j, 2l] = W[2j+1, 2l+1] = Re b``, ``W[2j, 2l+1] = Im b``,
    ``W[2j+1, 2l] = −Im b``, i.e. (ar + i·ai)(br + i·bi) = (ar·br − ai·bi) + i·(ar·bi + ai·br).
    """
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or (a.dtype.kind != "c" and b.dtype.kind != "c"):
        return a @ b
    ctype = np.result_type(a.dtype, b.dtype)
    ftype = np.finfo(ctype).dtype
    if a.dtype.kind != "c":
        wide_b = np.ascontiguousarray(b, dtype=ctype).view(ftype)           # (..., k, 2n)
        return (a.astype(ftype, copy=False) @ wide_b).view(ctype)
    wide_a = np.ascontiguousarray(a, dtype=ctype).view(ftype)               # (..., m, 2k)
    k, n = b.shape[-2], b.shape[-1]
    w = np.zeros(b.shape[:-2] + (2 * k, 2 * n), dtype=ftype)
    w[..., 0::2, 0::2] = b.real
    w[..., 1::2, 1::2] = b.real
    if b.dtype.kind == "c":
        w[..., 0::2, 1::2] = b.imag
        w[..., 1::2, 0::2] = -b.imag
    return (wide_a @ w).view(ctype)


def _matmul(x: Any, y: Any, nb: int = 0) -> Any:
    """numpy.matmul where both operands carry ``nb`` leading batch axes (numpy or torch)."""
    cx, cy = _core(x, nb), _core(y, nb)
    if cx < 1 or cy < 1:
        raise ValueError("matmul needs operands of at least 1 dimension (use * to multiply by a scalar)")
    xm = x[..., None, :] if cx == 1 else x  # a 1-D left operand is a row vector
    ym = y[..., :, None] if cy == 1 else y  # a 1-D right operand is a column vector
    if xm.shape[-1] != ym.shape[-2]:
        which = "length" if cy == 1 else "second-to-last axis"
        raise ValueError(f"matmul: the last axis of x has size {xm.shape[-1]} but the {which} "
                         f"of y has size {ym.shape[-2]}")
    core = max(xm.ndim, ym.ndim) - nb
    out = _product(_lift(xm, nb, core), _lift(ym, nb, core))
    if cx == 1 and cy == 1:
        return out[..., 0, 0]
    if cx == 1:
        return out[..., 0, :]
    return out[..., 0] if cy == 1 else out


def _matmul_shape(x: tuple[int, ...], y: tuple[int, ...], nb: int = 0) -> tuple[int, ...]:
    """The shape of :func:`_matmul`'s result: the stacks broadcast, a 1-D operand's axis dropped."""
    if not x or not y:
        raise ValueError("matmul needs operands of at least 1 dimension")
    xm = (1,) + tuple(x) if len(x) == 1 else tuple(x)
    ym = tuple(y) + (1,) if len(y) == 1 else tuple(y)
    if xm[-1] != ym[-2]:
        raise ValueError(f"matmul: shapes {x} and {y} do not fit")
    rows = (xm[-2],) if len(x) > 1 else ()
    cols = (ym[-1],) if len(y) > 1 else ()
    return tuple(np.broadcast_shapes(xm[:-2], ym[:-2])) + rows + cols


def _as_matrices(g: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cotangent, x and y of ``x @ y`` with the axes of 1-D operands put back."""
    if y.ndim == 1:
        g, y = g[..., None], y[:, None]
    if x.ndim == 1:
        g, x = g[..., None, :], x[None, :]
    return g, x, y


def _matmul_vjp_x(g: np.ndarray, ans: np.ndarray, x: np.ndarray, y: np.ndarray, nb: int = 0) -> np.ndarray:
    lead = g.ndim - ans.ndim
    gm, xm, ym = _as_matrices(g, x, y)
    dx = gm @ _swap(ym)  # x̄ = ḡ @ yᵀ, then summed over the stack axes x was broadcast along
    return unbroadcast(dx, xm.shape, gm.ndim - lead).reshape(g.shape[:lead] + x.shape)


def _matmul_vjp_y(g: np.ndarray, ans: np.ndarray, x: np.ndarray, y: np.ndarray, nb: int = 0) -> np.ndarray:
    lead = g.ndim - ans.ndim
    gm, xm, ym = _as_matrices(g, x, y)
    dy = _swap(xm) @ gm  # ȳ = xᵀ @ ḡ
    return unbroadcast(dy, ym.shape, gm.ndim - lead).reshape(g.shape[:lead] + y.shape)


def _matmul_jvp_x(t: np.ndarray, ans: np.ndarray, x: np.ndarray, y: np.ndarray, nb: int = 0) -> np.ndarray:
    lead = t.ndim - x.ndim
    return _matmul(t, _with_batch(y, lead), lead)  # d(x @ y) = dx @ y


def _matmul_jvp_y(t: np.ndarray, ans: np.ndarray, x: np.ndarray, y: np.ndarray, nb: int = 0) -> np.ndarray:
    lead = t.ndim - y.ndim
    return _matmul(_with_batch(x, lead), t, lead)  # d(x @ y) = x @ dy


register(
    "matmul",
    forward=_matmul,
    args=("x", "y"),
    vjp=(_matmul_vjp_x, _matmul_vjp_y),
    jvp=(_matmul_jvp_x, _matmul_jvp_y),
    second_order=BILINEAR,  # the product rule on the VJP rules
    torch=lambda x, y, nb=0: torch.matmul(x, y) if nb == 0 else _matmul(x, y, nb),
    derivative=("∂({x} @ {y})/∂{x} · ḡ = ḡ @ {y}ᵀ", "∂({x} @ {y})/∂{y} · ḡ = {x}ᵀ @ ḡ"),
    category="operators",
    doc="x @ y (numpy.matmul): 1-D operands are row/column vectors, stack axes broadcast",
    needs_nb=True,
    domain=REAL,
    probes=PRODUCT_CALLS + calls([((2, 3, 3), (3, 3)), ((3, 3), (2, 3, 3)), ((2, 3, 4), (4, 2))]),
    symbolic=lambda sp, x, y, **_: x * y,
    shape=_matmul_shape,
    cost=contraction_cost,
)


def _dot(x: Any, y: Any, nb: int = 0) -> Any:
    """numpy.dot for 1-D and 2-D operands (where it equals matmul); other ranks are refused."""
    for name, a in (("x", x), ("y", y)):
        if not 1 <= _core(a, nb) <= 2:
            raise ValueError(f"dot takes 1-D or 2-D operands, but {name} has {_core(a, nb)} dimension(s) "
                             "(use * for a scalar, matmul / @ for stacks of matrices)")
    return _matmul(x, y, nb)


register(
    "dot",
    forward=_dot,
    args=("x", "y"),
    vjp=(_matmul_vjp_x, _matmul_vjp_y),  # on 1-D/2-D operands dot is matmul
    jvp=(_matmul_jvp_x, _matmul_jvp_y),
    second_order=BILINEAR,
    torch=lambda x, y, nb=0: torch.matmul(x, y) if nb == 0 else _dot(x, y, nb),
    derivative=("∂dot({x}, {y})/∂{x} · ḡ = ḡ @ {y}ᵀ", "∂dot({x}, {y})/∂{y} · ḡ = {x}ᵀ @ ḡ"),
    category="linalg",
    doc="vector·vector (inner product), matrix·vector, vector·matrix, matrix·matrix; 1-D/2-D only",
    needs_nb=True,
    domain=REAL,
    probes=PRODUCT_CALLS,
    symbolic=lambda sp, x, y, **_: x * y,
    shape=_matmul_shape,
    cost=contraction_cost,
)


# ---- outer ------------------------------------------------------------------------


def _flat(a: Any, nb: int) -> Any:
    """``a`` with its core flattened to one axis (numpy.outer flattens its operands)."""
    return a.reshape(tuple(a.shape[:nb]) + (math.prod(a.shape[nb:]),))


def _outer(x: Any, y: Any, nb: int = 0) -> Any:
    return _flat(x, nb)[..., :, None] * _flat(y, nb)[..., None, :]


def _outer_vjp_x(g: np.ndarray, ans: np.ndarray, x: np.ndarray, y: np.ndarray, nb: int = 0) -> np.ndarray:
    lead = g.ndim - ans.ndim
    return (g @ y.reshape(-1)).reshape(g.shape[:lead] + x.shape)  # x̄ = ḡ @ y


def _outer_vjp_y(g: np.ndarray, ans: np.ndarray, x: np.ndarray, y: np.ndarray, nb: int = 0) -> np.ndarray:
    lead = g.ndim - ans.ndim
    return (x.reshape(-1) @ g).reshape(g.shape[:lead] + y.shape)  # ȳ = ḡᵀ @ x


register(
    "outer",
    forward=_outer,
    args=("x", "y"),
    vjp=(_outer_vjp_x, _outer_vjp_y),
    jvp=(lambda t, ans, x, y, nb=0: _outer(t, _with_batch(y, t.ndim - x.ndim), t.ndim - x.ndim),
         lambda t, ans, x, y, nb=0: _outer(_with_batch(x, t.ndim - y.ndim), t, t.ndim - y.ndim)),
    second_order=BILINEAR,
    torch=lambda x, y, nb=0: torch.outer(x.reshape(-1), y.reshape(-1)) if nb == 0 else _outer(x, y, nb),
    derivative=("∂outer({x}, {y})/∂{x} · ḡ = ḡ @ {y}", "∂outer({x}, {y})/∂{y} · ḡ = ḡᵀ @ {x}"),
    category="linalg",
    doc="outer product of the flattened operands (numpy.outer): shape (x.size, y.size)",
    needs_nb=True,
    domain=REAL,
    probes=calls([((3,), (4,)), ((3,), (3,)), ((2, 2), (3,)), ((2, 2), (2, 2))]),
    symbolic=lambda sp, x, y, **_: x * y,
    shape=lambda x, y, nb=0: (math.prod(x), math.prod(y)),
)


# ---- trace and diag ---------------------------------------------------------------


def _trace(x: Any, nb: int = 0) -> Any:
    if _core(x, nb) < 2:
        raise ValueError(f"trace needs a matrix (or a stack of them); got {_core(x, nb)} dimension(s)")
    return np.trace(x, axis1=-2, axis2=-1)


def _trace_vjp(g: np.ndarray, ans: np.ndarray, x: np.ndarray, nb: int = 0) -> np.ndarray:
    return g[..., None, None] * np.eye(x.shape[-2], x.shape[-1], dtype=g.dtype)  # ∂tr(x)/∂x = I


register(
    "trace",
    forward=_trace,
    args=("x",),
    vjp=(_trace_vjp,),
    jvp=(lambda t, ans, x, nb=0: np.trace(t, axis1=-2, axis2=-1),),
    second_order=LINEAR,
    torch=lambda x, nb=0: torch.diagonal(x, dim1=-2, dim2=-1).sum(-1),
    derivative=("∂tr({x})/∂{x} = I",),
    category="linalg",
    doc="sum of the diagonal of the last two axes (a stack gives a stack of traces)",
    needs_nb=True,
    domain=REAL,
    probes=calls([((3, 3),), ((3, 4),), ((2, 3, 3),)]),
    symbolic=lambda sp, x, **_: x,
    shape=lambda x, nb=0: tuple(x[:-2]),
)


def _embed_diagonal(d: np.ndarray, n: int, m: int) -> np.ndarray:
    """Zeros of shape d's leading axes + (n, m) with ``d`` (last axis min(n, m)) on the diagonal."""
    out = np.zeros(d.shape[:-1] + (n, m), dtype=d.dtype)
    i = np.arange(min(n, m))
    out[..., i, i] = d
    return out


def _diag(x: Any, nb: int = 0) -> Any:
    core = _core(x, nb)
    if core == 1:
        return _embed_diagonal(x, x.shape[-1], x.shape[-1])
    if core == 2:
        return np.diagonal(x, axis1=-2, axis2=-1).copy()
    raise ValueError(f"diag takes a 1-D array (→ a diagonal matrix) or a 2-D array (→ its diagonal); "
                     f"got {core} dimension(s)")


def _diag_vjp(g: np.ndarray, ans: np.ndarray, x: np.ndarray, nb: int = 0) -> np.ndarray:
    if x.ndim == 1:
        return np.diagonal(g, axis1=-2, axis2=-1).copy()  # x̄ = diagonal of ḡ
    return _embed_diagonal(g, *x.shape)  # x̄ = diag(ḡ)


def _torch_diag(x: torch.Tensor, nb: int = 0) -> torch.Tensor:
    if nb == 0:
        return torch.diag(x)
    return torch.diag_embed(x) if _core(x, nb) == 1 else torch.diagonal(x, dim1=-2, dim2=-1)


register(
    "diag",
    forward=_diag,
    args=("x",),
    vjp=(_diag_vjp,),
    jvp=(lambda t, ans, x, nb=0: _diag(t, t.ndim - x.ndim),),
    second_order=LINEAR,
    torch=_torch_diag,
    derivative=("∂diag({x})/∂{x} · ḡ = diag(ḡ)",),
    category="linalg",
    doc="1-D → the square matrix with that diagonal; 2-D → its diagonal (numpy.diag, k=0)",
    needs_nb=True,
    domain=REAL,
    probes=calls([((3,),), ((3, 3),), ((3, 4),)]),
    symbolic=lambda sp, x, **_: x,
    shape=lambda x, nb=0: (x[0], x[0]) if len(x) == 1 else (min(x),),
)


# ---- inv and det ------------------------------------------------------------------


def _inv(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _square("inv", a, nb)
    return np.linalg.inv(a)


register(
    "inv",
    forward=_inv,
    args=("a",),
    vjp=(lambda g, ans, a, nb=0: -(_swap(ans) @ g @ _swap(ans)),),  # ā = −a⁻ᵀ ḡ a⁻ᵀ
    jvp=(lambda t, ans, a, nb=0: -(ans @ t @ ans),),  # d(a⁻¹) = −a⁻¹ da a⁻¹
    # the VJP −Aᵀ ḡ Aᵀ (A = a⁻¹) when A moves by Ȧ: −(Ȧᵀ ḡ Aᵀ + Aᵀ ḡ Ȧᵀ)
    second_order=(lambda g, ans, dans, dargs, a, nb=0: -(_swap(dans) @ g @ _swap(ans) + _swap(ans) @ g @ _swap(dans)),),
    torch=lambda a, nb=0: torch.linalg.inv(a),
    derivative=("∂{a}⁻¹/∂{a} · ḡ = −{out}ᵀ ḡ {out}ᵀ",),
    category="linalg",
    doc="inverse of a square matrix (or of each matrix of a stack)",
    needs_nb=True,
    domain=MATRIX,
    probes=SQUARE_CALLS,
    symbolic=lambda sp, a, **_: 1 / a,
    shape=SAME,
    cost=matrix_cost,
)


def _det(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _square("det", a, nb)
    return np.linalg.det(a)


def _cofactor(a: np.ndarray) -> np.ndarray:
    """The cofactor matrix adj(a)ᵀ = ∂det(a)/∂a, also where ``a`` is singular.

    With a = U·diag(s)·Vh: adj(a)ᵀ = det(U)·det(Vh) · U·diag(Π_{j≠i} s_j)·Vh; the
    products leave s_i out by prefix × suffix products, so nothing is divided by zero.
    """
    n = a.shape[-1]
    if n == 0:
        return np.zeros_like(a)
    u, s, vh = np.linalg.svd(a)
    one = np.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    before = np.cumprod(np.concatenate([one, s[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([one, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * ((u * (before * after)[..., None, :]) @ vh)


def _cofactor_tangent(a: np.ndarray, da: np.ndarray) -> np.ndarray:
    """How the cofactor matrix adj(a)ᵀ changes when ``a`` moves by ``da`` (leading batch axes),
    also where ``a`` is singular.

    With a = U·S·Vᵀ, adj(a)ᵀ = det(U)·det(V)·U·adj(S)ᵀ·Vᵀ, so its change is the same
    sandwich of the change of adj(S)ᵀ in the direction M = Uᵀ·da·V.  For a diagonal S:
    d adj(S)ᵀᵢᵢ = Σ_{k≠i} Mₖₖ·Π_{m≠i,k} sₘ and d adj(S)ᵀᵢₖ = −Mₖᵢ·Π_{m≠i,k} sₘ (i ≠ k) —
    the second derivatives of det are products of n − 2 singular values, never a division.
    """
    n = a.shape[-1]
    u, s, vh = np.linalg.svd(a)
    i, k, m = np.ogrid[:n, :n, :n]
    rest = np.prod(np.where((m == i) | (m == k), 1.0, s[..., None, None, :]), axis=-1) * (1 - np.eye(n))
    mm = _swap(u) @ da @ _swap(vh)
    inner = np.einsum("...ik,...kk->...i", rest, mm)[..., None] * np.eye(n) - _swap(mm) * rest
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * (u @ inner @ vh)


def _torch_det(a: torch.Tensor) -> torch.Tensor:
    """det on torch tensors, differentiated by torch.autograd correctly at singular matrices too.

    torch.linalg.det's backward gives 0 at a matrix of rank n − 1, where the derivative (the
    cofactor matrix) is not 0.  There — and only there — det is written as the Faddeev–LeVerrier
    recursion (M_k = a·M_{k−1} + c_{n−k+1}·I, c_{n−k} = −tr(a·M_k)/k, det = (−1)ⁿ·c_0): matmuls
    and traces, a polynomial that autograd differentiates exactly, and that shares nothing with
    our SVD-based rule.  Everywhere else it is torch.linalg.det.
    """
    n = a.shape[-1]
    plain = torch.linalg.det(a)
    if n < 2 or a.device.type == "meta":
        return plain
    with torch.no_grad():
        singular = torch.linalg.matrix_rank(a) < n
    if not bool(singular.any()):
        return plain
    eye = torch.eye(n, dtype=a.dtype, device=a.device)
    m = torch.zeros_like(a)
    c = torch.ones(a.shape[:-2], dtype=a.dtype, device=a.device)
    for k in range(1, n + 1):
        m = a @ m + c[..., None, None] * eye
        c = -torch.diagonal(a @ m, dim1=-2, dim2=-1).sum(-1) / k
    return torch.where(singular, (-1) ** n * c, plain)


register(
    "det",
    forward=_det,
    args=("a",),
    vjp=(lambda g, ans, a, nb=0: g[..., None, None] * _cofactor(a),),  # ā = ḡ·adj(a)ᵀ
    jvp=(lambda t, ans, a, nb=0: np.sum(_cofactor(a) * t, axis=(-2, -1)),),  # d det = ⟨adj(a)ᵀ, da⟩
    second_order=(lambda g, ans, dans, dargs, a, nb=0: g[..., None, None] * _cofactor_tangent(a, dargs[0]),),
    torch=lambda a, nb=0: _torch_det(a),
    derivative=("∂det({a})/∂{a} = adj({a})ᵀ = det({a})·{a}⁻ᵀ",),
    category="linalg",
    doc="determinant of a square matrix (or of each matrix of a stack)",
    needs_nb=True,
    domain=MATRIX,
    probes=SQUARE_CALLS,
    symbolic=lambda sp, a, **_: a,
    shape=lambda a, nb=0: tuple(a[:-2]),
    cost=matrix_cost,
)


# ---- solve ------------------------------------------------------------------------


def _solve(a: Any, b: Any, nb: int = 0, linalg_solve: Callable[[Any, Any], Any] = np.linalg.solve) -> Any:
    """numpy 2's solve(a, b) where both carry ``nb`` leading batch axes (numpy or torch)."""
    _square("solve", a, nb)
    cb = _core(b, nb)
    if cb < 1:
        raise ValueError("solve: b must be a vector (M,) or a matrix (..., M, K); got a scalar")
    bm = b[..., None] if cb == 1 else b  # a 1-D b is one right-hand side
    if bm.shape[-2] != a.shape[-1]:
        what = "length" if cb == 1 else "number of rows"
        raise ValueError(f"solve: a is {a.shape[-1]}×{a.shape[-1]} but b has {what} {bm.shape[-2]}")
    core = max(_core(a, nb), bm.ndim - nb)
    x = linalg_solve(_lift(a, nb, core), _lift(bm, nb, core))
    return x[..., 0] if cb == 1 else x


def _solve_b_bar(g: np.ndarray, ans: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """b̄ = a⁻ᵀ ḡ in matrix form (before unbroadcasting), the solution as matrices, batch count."""
    lead = g.ndim - ans.ndim
    gm, xm = (g[..., None], ans[..., None]) if b.ndim == 1 else (g, ans)
    return np.linalg.solve(_swap(a), gm), xm, lead


def _solve_vjp_a(g: np.ndarray, ans: np.ndarray, a: np.ndarray, b: np.ndarray, nb: int = 0) -> np.ndarray:
    bbar, xm, lead = _solve_b_bar(g, ans, a, b)
    da = -(bbar @ _swap(xm))  # ā = −b̄ xᵀ
    return unbroadcast(da, a.shape, bbar.ndim - lead)


def _solve_vjp_b(g: np.ndarray, ans: np.ndarray, a: np.ndarray, b: np.ndarray, nb: int = 0) -> np.ndarray:
    bbar, xm, lead = _solve_b_bar(g, ans, a, b)
    bm_shape = b.shape + (1,) if b.ndim == 1 else b.shape
    return unbroadcast(bbar, bm_shape, bbar.ndim - lead).reshape(g.shape[:lead] + b.shape)


def _solve_jvp_a(t: np.ndarray, ans: np.ndarray, a: np.ndarray, b: np.ndarray, nb: int = 0) -> np.ndarray:
    lead = t.ndim - a.ndim  # dx = −a⁻¹ (da @ x)
    xm = ans[..., None] if b.ndim == 1 else ans  # solutions as columns, like the right-hand sides
    dx = -_solve(_with_batch(a, lead), _matmul(t, _with_batch(xm, lead), lead), lead)
    return dx[..., 0] if b.ndim == 1 else dx


def _solve_jvp_b(t: np.ndarray, ans: np.ndarray, a: np.ndarray, b: np.ndarray, nb: int = 0) -> np.ndarray:
    lead = t.ndim - b.ndim  # dx = a⁻¹ db
    return _solve(_with_batch(a, lead), t, lead)


def _solve_tangents(g, ans, dans, dargs, a, b):
    """How ā = −b̄ xᵀ and b̄ = a⁻ᵀ ḡ change when a, b move (x = ans moves by ȧns): d b̄ = −a⁻ᵀ ȧᵀ b̄,
    d ā = −(d b̄) xᵀ − b̄ ẋᵀ; in matrix form, before unbroadcasting, and the batch count."""
    bbar, xm, _ = _solve_b_bar(g, ans, a, b)
    lead = dans.ndim - ans.ndim
    dxm = dans[..., None] if b.ndim == 1 else dans
    da_bar = -(bbar @ _swap(dxm))
    if dargs[0] is None:
        return None, da_bar, lead
    dbbar = -np.linalg.solve(_swap(a), _swap(dargs[0]) @ bbar)
    return dbbar, da_bar - dbbar @ _swap(xm), lead


def _solve_tangent_a(g, ans, dans, dargs, a, b, nb=0):
    _, da_bar, lead = _solve_tangents(g, ans, dans, dargs, a, b)
    return unbroadcast(da_bar, a.shape, da_bar.ndim - lead)


def _solve_tangent_b(g, ans, dans, dargs, a, b, nb=0):
    db_bar, _, lead = _solve_tangents(g, ans, dans, dargs, a, b)
    if dargs[0] is None:  # only b moved: b̄ = a⁻ᵀ ḡ does not depend on b
        return 0.0
    bm_shape = b.shape + (1,) if b.ndim == 1 else b.shape
    return unbroadcast(db_bar, bm_shape, db_bar.ndim - lead).reshape(db_bar.shape[:lead] + b.shape)


register(
    "solve",
    forward=_solve,
    args=("a", "b"),
    vjp=(_solve_vjp_a, _solve_vjp_b),
    jvp=(_solve_jvp_a, _solve_jvp_b),
    second_order=(_solve_tangent_a, _solve_tangent_b),
    torch=lambda a, b, nb=0: _solve(a, b, nb, torch.linalg.solve),
    derivative=("∂solve({a}, {b})/∂{a} · ḡ = −({a}⁻ᵀ ḡ) {out}ᵀ", "∂solve({a}, {b})/∂{b} · ḡ = {a}⁻ᵀ ḡ"),
    category="linalg",
    doc="x with a @ x = b (numpy 2: b is a vector only when 1-D, else a matrix (..., M, K))",
    needs_nb=True,
    domain=(MATRIX, REAL),
    probes=calls([((3, 3), (3,)), ((3, 3), (3, 2)), ((3, 3), (3, 3)), ((2, 3, 3), (2, 3, 2)), ((2, 3, 3), (3, 3))]),
    symbolic=lambda sp, a, b, **_: b / a,
    shape=lambda a, b, nb=0: tuple(b) if len(b) == 1 else tuple(np.broadcast_shapes(a[:-2], b[:-2])) + tuple(b[-2:]),
    cost=matrix_cost,
)


# ---- log-determinants, matrix powers, Cholesky -------------------------------------------

#: symmetric positive definite matrices B·Bᵀ/n + I (logdet, cholesky)
SPD = Domain(high=1.0, kind="spd")


def _inv_t(a: np.ndarray) -> np.ndarray:
    """a⁻ᵀ, the derivative of log|det a| (stacks too)."""
    return _swap(np.linalg.inv(a))


def _inv_t_tangent(g, ans, dans, dargs, a, nb=0):
    """The VJP ḡ·a⁻ᵀ of log|det a| when a moves by ȧ: −ḡ·a⁻ᵀ ȧᵀ a⁻ᵀ."""
    inv_t = _inv_t(a)
    return -g[..., None, None] * (inv_t @ _swap(dargs[0]) @ inv_t)


def _logdet(a: np.ndarray, nb: int = 0) -> np.ndarray:
    """log det a: nan where det a < 0 and −inf where it is 0 (as torch.logdet)."""
    _square("logdet", a, nb)
    if np.iscomplexobj(a):
        return np.log(np.linalg.det(a))  # holomorphic: complex step
    sign, logabs = np.linalg.slogdet(a)
    return np.where(sign > 0, logabs, np.where(sign == 0, -np.inf, np.nan))


register(
    "logdet",
    forward=_logdet,
    args=("a",),
    vjp=(lambda g, ans, a, nb=0: g[..., None, None] * _inv_t(a),),  # ā = ḡ·a⁻ᵀ
    jvp=(lambda t, ans, a, nb=0: np.sum(_inv_t(a) * t, axis=(-2, -1)),),  # d log det = tr(a⁻¹ da)
    second_order=(_inv_t_tangent,),
    torch=lambda a, nb=0: torch.logdet(a),
    derivative=("∂log det({a})/∂{a} = {a}⁻ᵀ",),
    category="linalg",
    doc="log det a of a square matrix with a positive determinant (nan for a negative one, as torch)",
    needs_nb=True,
    domain=SPD,
    probes=SQUARE_CALLS,
    symbolic=lambda sp, a, **_: sp.log(a),
    shape=lambda a, nb=0: tuple(a[:-2]),
    cost=matrix_cost,
)


def _smallest_singular_value(a: np.ndarray, nb: int = 0) -> float:
    """How far a is from singular (det = 0, where log|det| has no derivative)."""
    s = np.linalg.svd(np.real(np.asarray(a)), compute_uv=False)
    return float(np.min(s)) if s.size else float("inf")


def _slogdet(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _square("slogdet", a, nb)
    return np.linalg.slogdet(a)[1]


register(
    "slogdet",
    forward=_slogdet,
    args=("a",),
    vjp=(lambda g, ans, a, nb=0: g[..., None, None] * _inv_t(a),),  # ā = ḡ·a⁻ᵀ, whatever the sign
    jvp=(lambda t, ans, a, nb=0: np.sum(_inv_t(a) * t, axis=(-2, -1)),),
    second_order=(_inv_t_tangent,),
    torch=lambda a, nb=0: torch.linalg.slogdet(a).logabsdet,
    derivative=("∂log|det({a})|/∂{a} = {a}⁻ᵀ",),
    category="linalg",
    doc="log |det a| (the logabsdet of numpy's and torch's slogdet; the sign is constant nearby); "
        "a singular matrix is its kink",
    analytic=False,
    kink=_smallest_singular_value,
    needs_nb=True,
    domain=MATRIX,
    probes=SQUARE_CALLS,
    symbolic=lambda sp, a, **_: sp.log(sp.Abs(a)),
    shape=lambda a, nb=0: tuple(a[:-2]),
    cost=matrix_cost,
)


def _power(a: np.ndarray, n: int, nb: int = 0) -> np.ndarray:
    _square("matrix_power", a, nb)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"matrix_power needs a whole exponent n ≥ 0, not {n!r}")
    return np.linalg.matrix_power(a, int(n))


def _power_terms(left: np.ndarray, middle: np.ndarray, right: np.ndarray, n: int) -> np.ndarray:
    """Σ_{k<n} left^k · middle · right^(n−1−k): the derivative of a product of n factors."""
    total = np.zeros(np.broadcast_shapes(middle.shape, left.shape), dtype=np.result_type(left, middle))
    for k in range(n):
        total = total + np.linalg.matrix_power(left, k) @ middle @ np.linalg.matrix_power(right, n - 1 - k)
    return total


def _power_tangent(g, ans, dans, dargs, a, n, nb=0):
    """The VJP Σ_k Pᵏ ḡ Pⁿ⁻¹⁻ᵏ (P = aᵀ) when P moves by Ṗ = ȧᵀ: Σ_k d(Pᵏ) ḡ Pⁿ⁻¹⁻ᵏ + Pᵏ ḡ d(Pⁿ⁻¹⁻ᵏ),
    with d(Pᵏ) = d(Pᵏ⁻¹)·P + Pᵏ⁻¹·Ṗ (the running product rule)."""
    p, dp = _swap(a), _swap(dargs[0])
    powers, tangents = [np.broadcast_to(np.eye(a.shape[-1]), a.shape)], [np.zeros_like(dp)]
    for _ in range(1, n):
        tangents.append(tangents[-1] @ p + powers[-1] @ dp)
        powers.append(powers[-1] @ p)
    total = np.zeros_like(dp)
    for k in range(n):
        total = total + tangents[k] @ g @ powers[n - 1 - k] + powers[k] @ g @ tangents[n - 1 - k]
    return total


register(
    "matrix_power",
    forward=_power,
    args=("a",),
    params={"n": 2},
    # d(aⁿ) = Σ_k aᵏ da aⁿ⁻¹⁻ᵏ, so ā = Σ_k (aᵀ)ᵏ ḡ (aᵀ)ⁿ⁻¹⁻ᵏ
    vjp=(lambda g, ans, a, n, nb=0: _power_terms(_swap(a), g, _swap(a), n),),
    jvp=(lambda t, ans, a, n, nb=0: _power_terms(a, t, a, n),),
    second_order=(_power_tangent,),
    torch=lambda a, n, nb=0: torch.linalg.matrix_power(a, n),
    derivative=("∂{a}ⁿ/∂{a} · ḡ = Σ_k ({a}ᵀ)ᵏ ḡ ({a}ᵀ)ⁿ⁻¹⁻ᵏ",),
    category="linalg",
    doc="the n-th power a·a·…·a of a square matrix, n a whole number ≥ 0 (a⁰ = I)",
    needs_nb=True,
    domain=MATRIX,
    probes=SQUARE_CALLS + calls([((3, 3),), ((2, 3, 3),)], {"n": 3}) + calls([((3, 3),)], {"n": 1}),
    symbolic=lambda sp, a, n=2, **_: a ** n,
    shape=SAME,
    cost=lambda out, a, n, nb=0: matrix_cost(out, a) * max(int(n), 1),
)


def _phi(x: np.ndarray) -> np.ndarray:
    """The lower triangle of x with its diagonal halved."""
    n = x.shape[-1]
    return np.tril(x) - 0.5 * (x * np.eye(n))


def _cholesky(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _square("cholesky", a, nb)
    return np.linalg.cholesky(a)


def _cholesky_vjp(g, ans, a, nb=0):
    # ā = sym(L⁻ᵀ Φ(Lᵀ ḡ) L⁻¹) (Murray 2016; symmetric, as torch's)
    inv = np.linalg.inv(ans)
    s = _swap(inv) @ _phi(_swap(ans) @ g) @ inv
    return 0.5 * (s + _swap(s))


def _cholesky_jvp(t, ans, a, nb=0):
    # dL = L Φ(L⁻¹ da L⁻ᵀ), for a symmetric da (torch's forward mode takes t as it is)
    inv = np.linalg.inv(ans)
    return ans @ _phi(inv @ t @ _swap(inv))


def _cholesky_tangent(g, ans, dans, dargs, a, nb=0):
    """The VJP sym(L⁻ᵀ Φ(Lᵀ ḡ) L⁻¹) when L moves.  L̇ is taken for the symmetric part of ȧ (as torch's
    backward, which symmetrises: torch's Hessian sees only sym(ȧ)); d(L⁻¹) = −L⁻¹ L̇ L⁻¹."""
    inv = np.linalg.inv(ans)
    da = dargs[0]
    dl = ans @ _phi(inv @ (0.5 * (da + _swap(da))) @ _swap(inv))
    dinv = -(inv @ dl @ inv)
    core = _phi(_swap(ans) @ g)
    s = _swap(dinv) @ core @ inv + _swap(inv) @ _phi(_swap(dl) @ g) @ inv + _swap(inv) @ core @ dinv
    return 0.5 * (s + _swap(s))


register(
    "cholesky",
    forward=_cholesky,
    args=("a",),
    vjp=(_cholesky_vjp,),
    jvp=(_cholesky_jvp,),
    second_order=(_cholesky_tangent,),
    torch=lambda a, nb=0: torch.linalg.cholesky(a),
    derivative=("∂chol({a})/∂{a} · ḡ = sym(L⁻ᵀ Φ(Lᵀ ḡ) L⁻¹), L = {out}, Φ = lower triangle with half diagonal",),
    category="linalg",
    doc="the lower-triangular L with L·Lᵀ = a, a symmetric positive definite; the VJP is symmetrised and "
        "the JVP assumes a symmetric tangent (both as torch's): build a symmetric (e.g. B·Bᵀ + I) from "
        "your inputs, since finite differences of the raw matrix see that only its lower triangle is read",
    analytic=False,
    no_kink="smooth on the positive definite matrices; numpy's complex Cholesky is the Hermitian one, not the "
            "holomorphic extension, so complex step is not allowed",
    needs_nb=True,
    domain=SPD,
    probes=SQUARE_CALLS,
    symbolic=lambda sp, a, **_: sp.sqrt(a),
    shape=SAME,
    cost=matrix_cost,
)


# ---- spectra: eigenvalues of a symmetric matrix, singular values ------------------------------


def _eigvalsh(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _square("eigvalsh", a, nb)
    return np.linalg.eigvalsh(a)


def _smallest_gap(values: np.ndarray) -> float:
    """The smallest gap between neighbouring sorted values (0 where two coincide: a kink)."""
    v = np.sort(np.real(values), axis=-1)
    gaps = np.diff(v, axis=-1)
    return float(np.min(gaps)) if gaps.size else float("inf")


def _eigvecs(a: np.ndarray) -> np.ndarray:
    return np.linalg.eigh(a)[1]


def _gap_inverses(values: np.ndarray) -> np.ndarray:
    """F[..., i, j] = 1/(values_j − values_i) for i ≠ j, 0 on the diagonal (the eigenvector derivative's
    weights; infinite at a repeated value, which is a kink of the first order already)."""
    gaps = values[..., None, :] - values[..., :, None]
    n = values.shape[-1]
    return np.where(np.eye(n, dtype=bool), 0.0, 1.0 / np.where(np.eye(n, dtype=bool), 1.0, gaps))


def _eigvalsh_tangent(g, ans, dans, dargs, a, nb=0):
    """The VJP V diag(ḡ) Vᵀ when the eigenvectors move: V̇ = V (F ∘ Vᵀ sym(ȧ) V), F = 1/(λⱼ − λᵢ), so
    d(V D Vᵀ) = V (Ω D + D Ωᵀ) Vᵀ with Ω = F ∘ Vᵀ sym(ȧ) V (sym: torch's backward is symmetric too)."""
    v = _eigvecs(a)
    da = dargs[0]
    omega = _gap_inverses(ans) * (_swap(v) @ (0.5 * (da + _swap(da))) @ v)
    d = g[..., None, :]  # Ω D scales the columns of Ω by ḡ
    return v @ (omega * d + _swap(omega * d)) @ _swap(v)


register(
    "eigvalsh",
    forward=_eigvalsh,
    args=("a",),
    # dλᵢ = vᵢᵀ da vᵢ, so ā = V diag(ḡ) Vᵀ
    vjp=(lambda g, ans, a, nb=0: (_eigvecs(a) * g[..., None, :]) @ _swap(_eigvecs(a)),),
    jvp=(lambda t, ans, a, nb=0: np.einsum("...ji,...jk,...ki->...i", _eigvecs(a), t, _eigvecs(a)),),
    second_order=(_eigvalsh_tangent,),
    torch=lambda a, nb=0: torch.linalg.eigvalsh(a),
    derivative=("∂λᵢ/∂{a} = vᵢ vᵢᵀ (vᵢ the i-th eigenvector): ā = V diag(ḡ) Vᵀ",),
    category="linalg",
    doc="the eigenvalues of a symmetric matrix, ascending (eigh's values); only the lower triangle is "
        "read, while the gradient is symmetric (as torch's): build a symmetric matrix from your inputs, "
        "e.g. (S + Sᵀ)/2; repeated eigenvalues are kinks",
    analytic=False,
    kink=lambda a, nb=0: _smallest_gap(np.linalg.eigvalsh(np.real(a))),
    needs_nb=True,
    domain=SPD,
    probes=SQUARE_CALLS,
    symbolic=lambda sp, a, **_: a,
    shape=lambda a, nb=0: tuple(a[:-1]),
    cost=matrix_cost,
)


def _svdvals(a: np.ndarray, nb: int = 0) -> np.ndarray:
    if np.ndim(a) - nb < 2:
        raise ValueError(f"svdvals needs a matrix (or a stack of them), not shape {np.shape(a)[nb:]}")
    return np.linalg.svd(a, compute_uv=False)


def _thin_svd(a: np.ndarray):
    return np.linalg.svd(a, full_matrices=False)


def _svdvals_vjp(g, ans, a, nb=0):
    u, _, vh = _thin_svd(a)  # dsᵢ = uᵢᵀ da vᵢ, so ā = U diag(ḡ) Vᵀ
    return (u * g[..., None, :]) @ vh


def _svdvals_jvp(t, ans, a, nb=0):
    u, _, vh = _thin_svd(a)
    return np.einsum("...ji,...jk,...ik->...i", u, t, vh)


def _svdvals_tangent(g, ans, dans, dargs, a, nb=0):
    """The VJP U diag(ḡ) Vᵀ when the singular vectors move (thin SVD, k = min(m, n)): with P = Uᵀ ȧ V and
    F = 1/(sⱼ² − sᵢ²), U̇ = U (F ∘ (P S + S Pᵀ)) + (I − U Uᵀ) ȧ V S⁻¹ and
    V̇ = V (F ∘ (S P + Pᵀ S)) + (I − V Vᵀ) ȧᵀ U S⁻¹ (the last terms only for a rectangular a)."""
    u, s, vh = _thin_svd(a)
    v, da = _swap(vh), dargs[0]
    p = _swap(u) @ da @ v
    f = _gap_inverses(s * s)
    sd = s[..., None, :]  # X·S scales the columns of X by s, S·X (= (Xᵀ·S)ᵀ) its rows
    du = u @ (f * (p * sd + _swap(p * sd)))
    dv = v @ (f * (_swap(_swap(p) * sd) + _swap(p) * sd))
    if a.shape[-2] > s.shape[-1]:
        du = du + (da @ v - u @ p) / sd
    if a.shape[-1] > s.shape[-1]:
        dv = dv + (_swap(da) @ u - v @ _swap(p)) / sd
    gd = g[..., None, :]
    return (du * gd) @ vh + (u * gd) @ _swap(dv)


def _svd_kink(a, nb=0) -> float:
    s = np.linalg.svd(np.real(np.asarray(a)), compute_uv=False)
    return min(_smallest_gap(s), float(np.min(s)) if s.size else float("inf"))


register(
    "svdvals",
    forward=_svdvals,
    args=("a",),
    vjp=(_svdvals_vjp,),
    jvp=(_svdvals_jvp,),
    second_order=(_svdvals_tangent,),
    torch=lambda a, nb=0: torch.linalg.svdvals(a),
    derivative=("∂sᵢ/∂{a} = uᵢ vᵢᵀ (the i-th singular vectors): ā = U diag(ḡ) Vᵀ",),
    category="linalg",
    doc="the singular values of a matrix, descending; repeated or zero singular values are kinks",
    analytic=False,
    kink=_svd_kink,
    needs_nb=True,
    domain=MATRIX,
    probes=SQUARE_CALLS + calls([((3, 4),), ((4, 2),)]),
    symbolic=lambda sp, a, **_: sp.Abs(a),
    shape=lambda a, nb=0: tuple(a[:-2]) + (min(a[-2:]),),
    cost=matrix_cost,
)
