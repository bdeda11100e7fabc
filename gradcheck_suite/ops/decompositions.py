"""Matrix decompositions and least squares: eigenvectors, singular vectors, QR, pinv, lstsq.

A decomposition has several outputs, an expression one value, so each factor is its own
primitive — ``eigh_vectors(A)``, ``svd_u(A)``, ``svd_v(A)``, ``qr_q(A)``, ``qr_r(A)`` —
each recomputing the same factorisation (one LAPACK call per forward, cheap at the sizes of a
case).  The values (``eigvalsh``, ``svdvals``) are in :mod:`.linalg`.

Conventions (declared, so that numpy and torch agree)
------------------------------------------------------
Eigenvectors and singular vectors are unique only up to sign, and LAPACK's choice differs
between builds.  Every vector here is **canonicalised: its largest-|component| entry is
positive** (the first such entry where two tie).  A singular pair (uᵢ, vᵢ) flips together
(A = Σ sᵢ uᵢ vᵢᵀ), the sign taken from uᵢ: ``svd_u`` and ``svd_v`` describe one SVD.  QR is
the reduced one of a tall or square matrix of full column rank, canonicalised to a
**positive diagonal of R** — the unique QR, a smooth function of A.

* ``eigh_vectors(a)``  V with a = V·diag(λ)·Vᵀ, columns in the order of ``eigvalsh`` (ascending);
  like eigvalsh only the lower triangle is read and the gradient is symmetric (as torch's):
  build a symmetric matrix from your inputs.
* ``svd_u(a)``, ``svd_v(a)``  the thin SVD a = U·diag(s)·Vᵀ (s descending): U is (m, k), V is
  (n, k), k = min(m, n) — V, not numpy's Vh.
* ``qr_q(a)``, ``qr_r(a)``  a (m, n) with m ≥ n: Q (m, n) with orthonormal columns, R (n, n)
  upper triangular with a positive diagonal.
* ``pinv(a)``  the Moore–Penrose pseudo-inverse, differentiated at constant rank.
* ``lstsq(a, b)``  the x minimising ‖a·x − b‖ for a of full column rank (m ≥ n), computed
  from the QR of a; b is a vector only when 1-D (as ``solve``), stack axes broadcast.

Kinks
-----
Eigenvectors at a repeated eigenvalue and singular vectors at a repeated (or, for the
vectors of a rectangular matrix or the last pair, zero) singular value are not unique;
the sign convention jumps where the largest positive and the largest negative component
of a vector tie in size; QR, pinv and lstsq lose their derivative where a loses rank.
Each primitive's ``kink`` is the distance to the nearest of these.  None is analytic:
numpy's complex decompositions are the unitary (conjugating) ones, not holomorphic
extensions, so complex step is never used.

Second order: each declares ``vjp_tangent`` rules, the product rule over the factors of its VJP
with the factors' tangents from its own JVP rules (checked against torch's double backward).

The rules are the standard ones (Giles 2008; Townsend 2016 for the SVD; Walter and
Lehmann 2018 for QR; Golub and Pereyra 1973 for pinv), written batch-aware: ``g`` and ``t``
may carry leading batch axes in front of the stack axes, which right-aligned broadcasting
of the (unbatched) factors handles.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .lazy_torch import torch
from .linalg import MATRIX, SPD, SQUARE_CALLS, _lift, _smallest_gap, _smallest_singular_value, _square, _swap
from .registry import REAL, SAME, calls, matrix_cost, register, unbroadcast

__all__: list[str] = []  # this module only registers primitives

def _signs(vectors: Any) -> Any:
    """±1 per column: the sign of the column's largest-|component| entry (1 where it is 0)."""
    if isinstance(vectors, np.ndarray):
        real = np.real(vectors)
        top = np.take_along_axis(real, np.argmax(np.abs(real), axis=-2)[..., None, :], axis=-2)[..., 0, :]
        return np.where(top < 0, -1.0, 1.0)
    with torch.no_grad():
        top = torch.gather(vectors, -2, vectors.abs().argmax(dim=-2, keepdim=True))[..., 0, :]
        return torch.where(top < 0, -1.0, 1.0).to(vectors.dtype)


def _sign_tie(vectors: np.ndarray) -> float:
    """How far the convention is from flipping: min over columns of | max vᵢ − max (−vᵢ) |."""
    v = np.real(vectors)
    if not v.size:
        return float("inf")
    return float(np.min(np.abs(np.max(v, axis=-2) - np.max(-v, axis=-2))))


def _inverse_gaps(values: np.ndarray) -> np.ndarray:
    """F with Fᵢⱼ = 1/(valuesⱼ − valuesᵢ) off the diagonal and 0 on it."""
    diff = values[..., None, :] - values[..., :, None]
    off = ~np.eye(values.shape[-1], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(off, 1.0 / np.where(off, diff, 1.0), 0.0)


# ---- eigh_vectors ---------------------------------------------------------------------------


def _eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(a)
    return values, vectors * _signs(vectors)[..., None, :]


def _eigh_vectors(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _square("eigh_vectors", a, nb)
    return _eigh(a)[1]


def _eigh_vectors_vjp(g, ans, a, nb=0):
    # ā = V (F ∘ skew(Vᵀ ḡ)) Vᵀ with skew(X) = (X − Xᵀ)/2, Fᵢⱼ = 1/(λⱼ − λᵢ): symmetric
    values, v = _eigh(a)
    vtg = _swap(v) @ g
    return v @ (_inverse_gaps(values) * (vtg - _swap(vtg)) / 2) @ _swap(v)


def _eigh_vectors_jvp(t, ans, a, nb=0):
    # dV = V (F ∘ (Vᵀ da V)): each eigenvector turns towards the others by ⟨vᵢ, da vⱼ⟩/(λⱼ − λᵢ)
    values, v = _eigh(a)
    return v @ (_inverse_gaps(values) * (_swap(v) @ t @ v))


def _eigh_vectors_vjp_tangent(g, ans, dans, dargs, a, nb=0):
    # the change of V (F ∘ K) Vᵀ, K = skew(Vᵀḡ), when a moves by da — symmetrised, since the VJP is the
    # gradient of the function of a's symmetric part: dV by the JVP, dλᵢ = vᵢᵀ da vᵢ, dFᵢⱼ = −(dλⱼ − dλᵢ)·Fᵢⱼ²
    values, v = _eigh(a)
    da = (dargs[0] + _swap(dargs[0])) / 2
    dv = _eigh_vectors_jvp(da, ans, a)
    dvalues = np.einsum("...ji,...jk,...ki->...i", v, da, v)
    f = _inverse_gaps(values)
    df = -(dvalues[..., None, :] - dvalues[..., :, None]) * f * f
    vtg, dvtg = _swap(v) @ g, _swap(dv) @ g
    k, dk = (vtg - _swap(vtg)) / 2, (dvtg - _swap(dvtg)) / 2
    inner = f * k
    return dv @ inner @ _swap(v) + v @ (df * k + f * dk) @ _swap(v) + v @ inner @ _swap(dv)


def _torch_eigh_vectors(a, nb=0):
    vectors = torch.linalg.eigh(a).eigenvectors
    return vectors * _signs(vectors)[..., None, :]


def _eigh_kink(a, nb=0) -> float:
    values, vectors = _eigh(np.real(np.asarray(a)))
    return min(_smallest_gap(values), _sign_tie(vectors))



# ---- shape rules (budget.static_shapes: every intermediate bounded before anything runs) ------


def _thin(a: tuple[int, ...]) -> int:
    """k = min(m, n): the number of singular pairs of a (m, n) matrix."""
    return min(a[-2:])


def _lstsq_shape(a: tuple[int, ...], b: tuple[int, ...], nb: int = 0) -> tuple[int, ...]:
    """x of a (..., m, n) and b (m,) → (..., n); b (..., m, k) → (stack axes broadcast, n, k)."""
    if len(a) < 2 or not b or b[-1 if len(b) == 1 else -2] != a[-2]:
        raise ValueError(f"lstsq: a {a} and b {b} do not fit (b's rows must be a's {a[-2:-1]})")
    if len(b) == 1:
        return tuple(a[:-2]) + (a[-1],)
    return tuple(np.broadcast_shapes(a[:-2], b[:-2])) + (a[-1], b[-1])

register(
    "eigh_vectors",
    forward=_eigh_vectors,
    args=("a",),
    vjp=(_eigh_vectors_vjp,),
    jvp=(_eigh_vectors_jvp,),
    second_order=(_eigh_vectors_vjp_tangent,),
    torch=_torch_eigh_vectors,
    derivative=("∂V/∂{a} · ḡ = V (F ∘ skew(Vᵀ ḡ)) Vᵀ, V = {out}, Fᵢⱼ = 1/(λⱼ − λᵢ), skew(X) = (X − Xᵀ)/2",),
    category="linalg",
    doc="the eigenvectors (columns, ascending eigenvalues as eigvalsh) of a symmetric matrix, each with its "
        "largest-|component| entry positive; only the lower triangle is read and the gradient is symmetric "
        "(as torch's): build a symmetric matrix from your inputs; repeated eigenvalues are kinks",
    analytic=False,
    kink=_eigh_kink,
    needs_nb=True,
    domain=SPD,
    probes=SQUARE_CALLS,
    symbolic="none shown: the eigenvector of a 1×1 matrix is the constant [1]",
    shape=SAME,
    cost=matrix_cost,
)


# ---- svd_u, svd_v -----------------------------------------------------------------------------


def _svd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The thin SVD as U, s, V (not Vh), each pair signed by its uᵢ."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    signs = _signs(u)[..., None, :]
    return u * signs, s, _swap(vh) * signs


def _svd_check(op: str, a: Any, nb: int) -> None:
    if np.ndim(a) - nb < 2:
        raise ValueError(f"{op} needs a matrix (or a stack of them), not shape {tuple(np.shape(a)[nb:])}")


def _svd_u(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _svd_check("svd_u", a, nb)
    return _svd(a)[0]


def _svd_v(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _svd_check("svd_v", a, nb)
    return _svd(a)[2]


def _svd_vjp(a: np.ndarray, g_u: np.ndarray | None, g_v: np.ndarray | None) -> np.ndarray:
    """ā of the thin SVD for cotangents of U or of V (Townsend 2016):

    ā = U [(F ∘ (UᵀŪ − ŪᵀU)) S + S (F ∘ (VᵀV̄ − V̄ᵀV))] Vᵀ + (I − UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ),
    Fᵢⱼ = 1/(sⱼ² − sᵢ²).
    """
    u, s, v = _svd(a)
    f = _inverse_gaps(s * s)
    if g_u is not None:
        utg = _swap(u) @ g_u
        inner = (f * (utg - _swap(utg))) * s[..., None, :]
        outside = (g_u - u @ utg) / s[..., None, :]  # (I − UUᵀ) Ū S⁻¹
        return u @ inner @ _swap(v) + outside @ _swap(v)
    vtg = _swap(v) @ g_v
    inner = s[..., :, None] * (f * (vtg - _swap(vtg)))
    outside = (g_v - v @ vtg) / s[..., None, :]  # (I − VVᵀ) V̄ S⁻¹
    return u @ inner @ _swap(v) + u @ _swap(outside)


def _svd_jvp(a: np.ndarray, t: np.ndarray, which: str) -> np.ndarray:
    """dU = U (F ∘ (dP S + S dPᵀ)) + (I − UUᵀ) da V S⁻¹, dV = V (F ∘ (S dP + dPᵀ S)) + (I − VVᵀ) daᵀ U S⁻¹,
    with dP = Uᵀ da V (from d(a aᵀ) and d(aᵀ a))."""
    u, s, v = _svd(a)
    f = _inverse_gaps(s * s)
    if which == "u":
        dav = t @ v
        dp = _swap(u) @ dav
        return u @ (f * (dp * s[..., None, :] + s[..., :, None] * _swap(dp))) + (dav - u @ dp) / s[..., None, :]
    datu = _swap(t) @ u
    dp_t = _swap(v) @ datu  # dPᵀ
    return v @ (f * (s[..., :, None] * _swap(dp_t) + dp_t * s[..., None, :])) + (datu - v @ dp_t) / s[..., None, :]


def _svd_vjp_tangent(a: np.ndarray, g: np.ndarray, da: np.ndarray, which: str) -> np.ndarray:
    """The change of :func:`_svd_vjp` (cotangent ``g`` of U or of V) when a moves by da: the product
    rule over U, s, V (their tangents by the JVP rules, dsᵢ = uᵢᵀ da vᵢ) and F (dFᵢⱼ = −2(sⱼdsⱼ − sᵢdsᵢ)·Fᵢⱼ²)."""
    u, s, v = _svd(a)
    du, dv = _svd_jvp(a, da, "u"), _svd_jvp(a, da, "v")
    ds = np.einsum("...ji,...jk,...ki->...i", u, da, v)
    f = _inverse_gaps(s * s)
    e = s * ds
    df = -2 * (e[..., None, :] - e[..., :, None]) * f * f
    own, down = (u, du) if which == "u" else (v, dv)
    otg = _swap(own) @ g
    j = otg - _swap(otg)
    dotg = _swap(down) @ g
    dj = dotg - _swap(dotg)
    rest = g - own @ otg  # the part of g outside the span of U (or V)
    outside = rest / s[..., None, :]
    doutside = -(down @ otg + own @ dotg) / s[..., None, :] - rest * (ds / (s * s))[..., None, :]
    if which == "u":
        inner = (f * j) * s[..., None, :]
        dinner = (df * j + f * dj) * s[..., None, :] + (f * j) * ds[..., None, :]
        return (du @ inner @ _swap(v) + u @ dinner @ _swap(v) + u @ inner @ _swap(dv)
                + doutside @ _swap(v) + outside @ _swap(dv))
    inner = s[..., :, None] * (f * j)
    dinner = ds[..., :, None] * (f * j) + s[..., :, None] * (df * j + f * dj)
    return (du @ inner @ _swap(v) + u @ dinner @ _swap(v) + u @ inner @ _swap(dv)
            + du @ _swap(outside) + u @ _swap(doutside))


def _torch_svd(a):
    u, s, vh = torch.linalg.svd(a, full_matrices=False)
    signs = _signs(u)[..., None, :]
    return u * signs, vh.transpose(-1, -2) * signs


def _svd_kink(a, nb=0) -> float:
    """Repeated or zero singular values, or a tie in the sign convention of some uᵢ."""
    u, s, _ = _svd(np.real(np.asarray(a)))
    smallest = float(np.min(s)) if s.size else float("inf")
    return min(_smallest_gap(s), smallest, _sign_tie(u))


_SVD_DOC = ("of the thin SVD a = U·diag(s)·Vᵀ (s descending, k = min(m, n) columns), each pair (uᵢ, vᵢ) "
            "signed so that uᵢ's largest-|component| entry is positive; repeated or zero singular values are kinks")
_SVD_PROBES = SQUARE_CALLS + calls([((4, 3),), ((3, 4),), ((2, 4, 2),)])

register(
    "svd_u",
    forward=_svd_u,
    args=("a",),
    vjp=(lambda g, ans, a, nb=0: _svd_vjp(a, g, None),),
    jvp=(lambda t, ans, a, nb=0: _svd_jvp(a, t, "u"),),
    second_order=(lambda g, ans, dans, dargs, a, nb=0: _svd_vjp_tangent(a, g, dargs[0], "u"),),
    torch=lambda a, nb=0: _torch_svd(a)[0],
    derivative=("∂U/∂{a} · ḡ = U (F ∘ (Uᵀḡ − ḡᵀU)) S Vᵀ + (I − UUᵀ) ḡ S⁻¹ Vᵀ, U = {out}, Fᵢⱼ = 1/(sⱼ² − sᵢ²)",),
    category="linalg",
    doc="U, the left singular vectors (m, k) " + _SVD_DOC,
    analytic=False,
    kink=_svd_kink,
    needs_nb=True,
    domain=MATRIX,
    probes=_SVD_PROBES,
    symbolic="none shown: the singular vector of a 1×1 matrix is the constant ±1",
    shape=lambda a, nb=0: tuple(a[:-1]) + (_thin(a),),
    cost=matrix_cost,
)

register(
    "svd_v",
    forward=_svd_v,
    args=("a",),
    vjp=(lambda g, ans, a, nb=0: _svd_vjp(a, None, g),),
    jvp=(lambda t, ans, a, nb=0: _svd_jvp(a, t, "v"),),
    second_order=(lambda g, ans, dans, dargs, a, nb=0: _svd_vjp_tangent(a, g, dargs[0], "v"),),
    torch=lambda a, nb=0: _torch_svd(a)[1],
    derivative=("∂V/∂{a} · ḡ = U S (F ∘ (Vᵀḡ − ḡᵀV)) Vᵀ + U S⁻¹ ḡᵀ (I − VVᵀ), V = {out}, Fᵢⱼ = 1/(sⱼ² − sᵢ²)",),
    category="linalg",
    doc="V, the right singular vectors (n, k) — not numpy's Vh — " + _SVD_DOC,
    analytic=False,
    kink=_svd_kink,
    needs_nb=True,
    domain=MATRIX,
    probes=_SVD_PROBES,
    symbolic="none shown: the singular vector of a 1×1 matrix is the constant ±1",
    shape=lambda a, nb=0: tuple(a[:-2]) + (a[-1], _thin(a)),
    cost=matrix_cost,
)


# ---- qr_q, qr_r ---------------------------------------------------------------------------------


def _qr(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reduced QR with a positive diagonal of R."""
    q, r = np.linalg.qr(a)
    signs = np.where(np.real(np.diagonal(r, axis1=-2, axis2=-1)) < 0, -1.0, 1.0)
    return q * signs[..., None, :], r * signs[..., :, None]


def _qr_check(op: str, a: Any, nb: int) -> None:
    core = tuple(np.shape(a)[nb:])
    if len(core) < 2 or core[-2] < core[-1]:
        raise ValueError(f"{op} needs a tall or square matrix (m ≥ n, or a stack of them), not shape {core}")


def _qr_q(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _qr_check("qr_q", a, nb)
    return _qr(a)[0]


def _qr_r(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _qr_check("qr_r", a, nb)
    return _qr(a)[1]


def _copyltu(m: np.ndarray) -> np.ndarray:
    """The symmetric matrix with m's lower triangle (diagonal included)."""
    low = np.tril(m, -1)
    return low + _swap(low) + m * np.eye(m.shape[-1])


def _qr_vjp(a: np.ndarray, g_q: np.ndarray | None, g_r: np.ndarray | None) -> np.ndarray:
    # M = R R̄ᵀ − Q̄ᵀ Q, ā = (Q̄ + Q copyltu(M)) R⁻ᵀ (Walter and Lehmann 2018)
    q, r = _qr(a)
    if g_q is None:
        m, g_q = r @ _swap(g_r), np.zeros_like(q)
    else:
        m = -(_swap(g_q) @ q)
    return (g_q + q @ _copyltu(m)) @ _swap(np.linalg.inv(r))


def _qr_jvp(a: np.ndarray, t: np.ndarray, which: str) -> np.ndarray:
    # X = Qᵀ da R⁻¹, Ω = tril(X, −1) − tril(X, −1)ᵀ (QᵀdQ, skew), dR = (X − Ω) R, dQ = QΩ + (I − QQᵀ) da R⁻¹
    q, r = _qr(a)
    da_rinv = t @ np.linalg.inv(r)
    x = _swap(q) @ da_rinv
    low = np.tril(x, -1)
    omega = low - _swap(low)
    if which == "r":
        return (x - omega) @ r
    return q @ omega + da_rinv - q @ x


def _qr_vjp_tangent(a: np.ndarray, g: np.ndarray, da: np.ndarray, which: str) -> np.ndarray:
    """The change of :func:`_qr_vjp` (cotangent ``g`` of Q or of R) when a moves by da: the product rule
    over Q, R (tangents by the JVP rules) and R⁻ᵀ (d R⁻ᵀ = −R⁻ᵀ dRᵀ R⁻ᵀ); copyltu is linear."""
    q, r = _qr(a)
    dq, dr = _qr_jvp(a, da, "q"), _qr_jvp(a, da, "r")
    rinv_t = _swap(np.linalg.inv(r))
    if which == "q":  # ā = (ḡ − Q copyltu(ḡᵀQ)) R⁻ᵀ
        left = g - q @ _copyltu(_swap(g) @ q)
        dleft = -(dq @ _copyltu(_swap(g) @ q)) - q @ _copyltu(_swap(g) @ dq)
    else:  # ā = Q copyltu(R ḡᵀ) R⁻ᵀ
        left = q @ _copyltu(r @ _swap(g))
        dleft = dq @ _copyltu(r @ _swap(g)) + q @ _copyltu(dr @ _swap(g))
    return dleft @ rinv_t - left @ rinv_t @ _swap(dr) @ rinv_t


def _torch_qr(a):
    q, r = torch.linalg.qr(a)
    with torch.no_grad():
        signs = torch.where(torch.diagonal(r, dim1=-2, dim2=-1) < 0, -1.0, 1.0).to(a.dtype)
    return q * signs[..., None, :], r * signs[..., :, None]


def _qr_kink(a, nb=0) -> float:
    """Rank deficiency: the smallest |Rᵢᵢ| (where the positive-diagonal convention breaks)."""
    r = np.linalg.qr(np.real(np.asarray(a)), mode="r")
    d = np.abs(np.diagonal(r, axis1=-2, axis2=-1))
    return float(np.min(d)) if d.size else float("inf")


_QR_PROBES = SQUARE_CALLS + calls([((4, 3),), ((2, 4, 2),)])

register(
    "qr_q",
    forward=_qr_q,
    args=("a",),
    vjp=(lambda g, ans, a, nb=0: _qr_vjp(a, g, None),),
    jvp=(lambda t, ans, a, nb=0: _qr_jvp(a, t, "q"),),
    second_order=(lambda g, ans, dans, dargs, a, nb=0: _qr_vjp_tangent(a, g, dargs[0], "q"),),
    torch=lambda a, nb=0: _torch_qr(a)[0],
    derivative=("∂Q/∂{a} · ḡ = (ḡ − Q copyltu(ḡᵀQ)) R⁻ᵀ, Q = {out}, copyltu = symmetric from the lower triangle",),
    category="linalg",
    doc="Q (m, n) of the reduced QR of a tall or square matrix of full column rank, R's diagonal made "
        "positive (the unique QR); a rank-deficient matrix is a kink",
    analytic=False,
    kink=_qr_kink,
    needs_nb=True,
    domain=MATRIX,
    probes=_QR_PROBES,
    symbolic="none shown: the Q of a 1×1 matrix is its sign",
    shape=SAME,
    cost=matrix_cost,
)

register(
    "qr_r",
    forward=_qr_r,
    args=("a",),
    vjp=(lambda g, ans, a, nb=0: _qr_vjp(a, None, g),),
    jvp=(lambda t, ans, a, nb=0: _qr_jvp(a, t, "r"),),
    second_order=(lambda g, ans, dans, dargs, a, nb=0: _qr_vjp_tangent(a, g, dargs[0], "r"),),
    torch=lambda a, nb=0: _torch_qr(a)[1],
    derivative=("∂R/∂{a} · ḡ = Q copyltu(R ḡᵀ) R⁻ᵀ, R = {out}, copyltu = symmetric from the lower triangle",),
    category="linalg",
    doc="R (n, n), upper triangular with a positive diagonal, of the reduced QR of a tall or square matrix "
        "of full column rank; a rank-deficient matrix is a kink",
    analytic=False,
    kink=_qr_kink,
    needs_nb=True,
    domain=MATRIX,
    probes=_QR_PROBES,
    symbolic=lambda sp, a, **_: sp.Abs(a),
    shape=lambda a, nb=0: tuple(a[:-2]) + (a[-1], a[-1]),
    cost=matrix_cost,
)


# ---- pinv -----------------------------------------------------------------------------------------


def _pinv(a: np.ndarray, nb: int = 0) -> np.ndarray:
    _svd_check("pinv", a, nb)
    return np.linalg.pinv(a)


def _pinv_vjp(g, ans, a, nb=0):
    # ā = −Pᵀ ḡ Pᵀ + (I − aP) ḡᵀ P Pᵀ + Pᵀ P ḡᵀ (I − Pa), P = a⁺
    p, pt, gt = ans, _swap(ans), _swap(g)
    left = gt @ p @ pt
    right = pt @ p @ gt
    return -(pt @ g @ pt) + (left - a @ (p @ left)) + (right - (right @ p) @ a)


def _pinv_jvp(t, ans, a, nb=0):
    # dP = −P da P + P Pᵀ daᵀ (I − aP) + (I − Pa) daᵀ Pᵀ P (Golub and Pereyra 1973)
    p, pt, tt = ans, _swap(ans), _swap(t)
    left = p @ pt @ tt
    right = tt @ pt @ p
    return -(p @ t @ p) + (left - (left @ a) @ p) + (right - p @ (a @ right))


def _pinv_vjp_tangent(g, ans, dans, dargs, a, nb=0):
    # the product rule on the VJP, a polynomial in P, Pᵀ and a; dP by the JVP rule
    da = dargs[0]
    p, pt, gt = ans, _swap(ans), _swap(g)
    dp = _pinv_jvp(da, ans, a)
    dpt = _swap(dp)
    left, right = gt @ p @ pt, pt @ p @ gt
    dleft, dright = gt @ (dp @ pt + p @ dpt), (dpt @ p + pt @ dp) @ gt
    return (-(dpt @ g @ pt + pt @ g @ dpt)
            + dleft - (da @ p + a @ dp) @ left - a @ (p @ dleft)
            + dright - dright @ p @ a - right @ (dp @ a + p @ da))


register(
    "pinv",
    forward=_pinv,
    args=("a",),
    vjp=(_pinv_vjp,),
    jvp=(_pinv_jvp,),
    second_order=(_pinv_vjp_tangent,),
    torch=lambda a, nb=0: torch.linalg.pinv(a),
    derivative=("∂{a}⁺/∂{a} · ḡ = −Pᵀ ḡ Pᵀ + (I − {a}P) ḡᵀ P Pᵀ + Pᵀ P ḡᵀ (I − P{a}), P = {out}",),
    category="linalg",
    doc="the Moore–Penrose pseudo-inverse (n, m) of a matrix (m, n) or of each matrix of a stack; "
        "differentiable where the rank does not change: a full-rank matrix, whose smallest singular value "
        "is its distance to the kink",
    analytic=False,
    kink=_smallest_singular_value,
    needs_nb=True,
    domain=MATRIX,
    probes=SQUARE_CALLS + calls([((4, 3),), ((3, 4),), ((2, 2, 3),)]),
    symbolic=lambda sp, a, **_: 1 / a,
    shape=lambda a, nb=0: tuple(a[:-2]) + (a[-1], a[-2]),
    cost=matrix_cost,
)


# ---- lstsq ------------------------------------------------------------------------------------------


def _lstsq_shapes(a: Any, b: Any, nb: int) -> None:
    _qr_check("lstsq", a, nb)
    cb = np.ndim(b) - nb
    if cb < 1:
        raise ValueError("lstsq: b must be a vector (M,) or a matrix (..., M, K); got a scalar")
    rows = np.shape(b)[-1] if cb == 1 else np.shape(b)[-2]
    if rows != np.shape(a)[-2]:
        what = "length" if cb == 1 else "number of rows"
        raise ValueError(f"lstsq: a has {np.shape(a)[-2]} rows but b has {what} {rows}")


def _as_columns(b: Any, vector: bool, nb: int, core: int) -> Any:
    """b as a (stack of) matrix with ``core`` axes after its ``nb`` batch axes."""
    return _lift(b[..., None] if vector else b, nb, core)


def _lstsq(a: np.ndarray, b: np.ndarray, nb: int = 0) -> np.ndarray:
    _lstsq_shapes(a, b, nb)
    vector = np.ndim(b) - nb == 1
    core = max(np.ndim(a), np.ndim(b) + vector) - nb
    q, r = np.linalg.qr(_lift(a, nb, core))
    diagonal = np.abs(np.diagonal(r, axis1=-2, axis2=-1))
    if diagonal.size and np.any(diagonal <= np.finfo(np.float64).eps * max(a.shape[-2:]) * np.max(diagonal)):
        raise ValueError("lstsq needs a matrix a of full column rank (its columns are linearly dependent: "
                         "the least-squares solution is not unique)")
    x = np.linalg.solve(r, _swap(q) @ _as_columns(b, vector, nb, core))  # R x = Qᵀ b
    return x[..., 0] if vector else x


def _lstsq_parts(g, ans, a, b):
    """Cotangent, solution and residual as matrices lifted to one core rank; a lifted; the core rank."""
    vector = b.ndim == 1
    core = max(a.ndim, b.ndim + vector)
    lead = g.ndim - ans.ndim
    gm = _lift(g[..., None] if vector else g, lead, core)
    xm = _lift(ans[..., None] if vector else ans, 0, core)
    am = _lift(a, 0, core)
    residual = _as_columns(b, vector, 0, core) - am @ xm
    return gm, xm, am, residual, core


def _lstsq_vjp_a(g, ans, a, b, nb=0):
    # z = (aᵀa)⁻¹ x̄, ā = r zᵀ − a z xᵀ with r = b − a x
    gm, xm, am, residual, core = _lstsq_parts(g, ans, a, b)
    z = np.linalg.solve(_swap(am) @ am, gm)
    return unbroadcast(residual @ _swap(z) - am @ z @ _swap(xm), a.shape, core)


def _lstsq_vjp_b(g, ans, a, b, nb=0):
    # b̄ = a (aᵀa)⁻¹ x̄ = a⁺ᵀ x̄
    gm, _, am, _, core = _lstsq_parts(g, ans, a, b)
    bbar = am @ np.linalg.solve(_swap(am) @ am, gm)
    lead = g.ndim - ans.ndim
    shape = b.shape + (1,) if b.ndim == 1 else b.shape
    return unbroadcast(bbar, shape, core).reshape(g.shape[:lead] + b.shape)


def _lstsq_jvp_a(t, ans, a, b, nb=0):
    # aᵀa dx = daᵀ r − aᵀ da x (the normal equations, differentiated)
    lead = t.ndim - a.ndim
    vector = b.ndim == 1
    core = max(a.ndim, b.ndim + vector)
    xm = _lift(ans[..., None] if vector else ans, 0, core)
    am = _lift(a, 0, core)
    tm = _lift(t, lead, core)
    residual = _as_columns(b, vector, 0, core) - am @ xm
    dx = np.linalg.solve(_swap(am) @ am, _swap(tm) @ residual - _swap(am) @ (tm @ xm))
    return dx[..., 0] if vector else dx


def _lstsq_jvp_b(t, ans, a, b, nb=0):
    # dx = (aᵀa)⁻¹ aᵀ db
    lead = t.ndim - b.ndim
    vector = b.ndim == 1
    core = max(a.ndim, b.ndim + vector)
    am = _lift(a, 0, core)
    dx = np.linalg.solve(_swap(am) @ am, _swap(am) @ _as_columns(t, vector, lead, core))
    return dx[..., 0] if vector else dx


def _lstsq_tangents(g, ans, dans, dargs, a, b):
    """z, dz, the residual r and dr, x and dx, a and da (matrices lifted to one core, batch axes in front
    of the tangents), the core rank: what the change of both VJP rules needs."""
    vector = b.ndim == 1
    core = max(a.ndim, b.ndim + vector)
    lead = dans.ndim - ans.ndim
    gm, xm, am, residual, _ = _lstsq_parts(g, ans, a, b)
    dxm = _lift(dans[..., None] if vector else dans, lead, core)
    da = np.zeros(dans.shape[:lead] + am.shape) if dargs[0] is None else _lift(dargs[0], lead, core)
    db = 0.0 if dargs[1] is None else _as_columns(dargs[1], vector, lead, core)
    gram = _swap(am) @ am
    z = np.linalg.solve(gram, gm)
    dz = -np.linalg.solve(gram, (_swap(da) @ am + _swap(am) @ da) @ z)  # d(aᵀa)⁻¹ = −(aᵀa)⁻¹ d(aᵀa) (aᵀa)⁻¹
    dresidual = db - da @ xm - am @ dxm
    return z, dz, residual, dresidual, xm, dxm, am, da, core


def _lstsq_vjp_tangent_a(g, ans, dans, dargs, a, b, nb=0):
    # d(r zᵀ − a z xᵀ)
    z, dz, r, dr, xm, dxm, am, da, core = _lstsq_tangents(g, ans, dans, dargs, a, b)
    change = dr @ _swap(z) + r @ _swap(dz) - (da @ z + am @ dz) @ _swap(xm) - am @ z @ _swap(dxm)
    return unbroadcast(change, a.shape, core)


def _lstsq_vjp_tangent_b(g, ans, dans, dargs, a, b, nb=0):
    # d(a z)
    z, dz, _, _, _, _, am, da, core = _lstsq_tangents(g, ans, dans, dargs, a, b)
    lead = dans.ndim - ans.ndim
    shape = b.shape + (1,) if b.ndim == 1 else b.shape
    return unbroadcast(da @ z + am @ dz, shape, core).reshape(dans.shape[:lead] + b.shape)


def _torch_lstsq(a, b, nb=0):
    _lstsq_shapes(a, b, nb)
    vector = b.dim() - nb == 1
    core = max(a.dim(), b.dim() + vector) - nb
    am, bm = _lift(a, nb, core), _as_columns(b, vector, nb, core)
    x = torch.linalg.lstsq(am, bm).solution
    return x[..., 0] if vector else x


def _lstsq_kink(a, b, nb=0) -> float:
    return _smallest_singular_value(a)


register(
    "lstsq",
    forward=_lstsq,
    args=("a", "b"),
    vjp=(_lstsq_vjp_a, _lstsq_vjp_b),
    jvp=(_lstsq_jvp_a, _lstsq_jvp_b),
    second_order=(_lstsq_vjp_tangent_a, _lstsq_vjp_tangent_b),
    torch=_torch_lstsq,
    derivative=("∂lstsq({a}, {b})/∂{a} · ḡ = r zᵀ − {a} z {out}ᵀ, z = ({a}ᵀ{a})⁻¹ ḡ, r = {b} − {a}·{out}",
                "∂lstsq({a}, {b})/∂{b} · ḡ = {a} ({a}ᵀ{a})⁻¹ ḡ"),
    category="linalg",
    doc="the least-squares solution x of a @ x ≈ b for a (m, n) of full column rank (m ≥ n), from a's QR; "
        "b is a vector only when 1-D (M,), else a matrix (..., M, K); stack axes broadcast; "
        "a rank-deficient a is a kink",
    analytic=False,
    kink=_lstsq_kink,
    needs_nb=True,
    domain=(MATRIX, REAL),
    probes=calls([((4, 3), (4,)), ((4, 2), (4, 3)), ((3, 3), (3, 3)), ((2, 4, 3), (4, 2)), ((3, 2), (2, 3, 1))]),
    symbolic=lambda sp, a, b, **_: b / a,
    shape=_lstsq_shape,
    cost=matrix_cost,
)
