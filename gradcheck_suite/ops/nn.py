"""Neural-network primitives: softmax and log_softmax along ``axis`` (default -1).

``axis`` arrives normalised to a tuple of negative axes, so ``g``/``t`` with leading
batch axes pass through the rules.  The forwards subtract the max of the *real* part
(held constant), which keeps them stable and holomorphic, so complex step is allowed.
"""
from __future__ import annotations

import numpy as np
from .lazy_torch import F, torch
from .registry import REAL, SAME, calls, reduced_shape, register

__all__: list[str] = []  # this module only registers primitives


def _shifted(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """x minus the max of its real part over ``axis`` (a constant shift; non-finite → 0)."""
    if x.size == 0:
        return x
    shift = np.max(np.real(x), axis=axis, keepdims=True)
    return x - np.where(np.isfinite(shift), shift, 0.0)


def _softmax(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    e = np.exp(_shifted(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    z = _shifted(x, axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _torch_log_softmax(x: torch.Tensor, axis: tuple[int, ...]) -> torch.Tensor:
    if len(axis) == 1:
        return torch.log_softmax(x, dim=axis[0])
    if not axis:  # over no axis: every element is its own group
        return x - x
    return x - torch.logsumexp(x, dim=axis, keepdim=True)


def _torch_softmax(x: torch.Tensor, axis: tuple[int, ...]) -> torch.Tensor:
    if len(axis) == 1:
        return torch.softmax(x, dim=axis[0])
    return torch.exp(_torch_log_softmax(x, axis))


# ---- softmax family -------------------------------------------------------------------

register(
    "softmax",
    forward=_softmax,
    args=("x",),
    params={"axis": -1},
    param_kinds={"axis": "axis"},
    # ∂s_i/∂x_j = s_i(δ_ij − s_j), so (Jᵀg)_j = s_j (g_j − Σ_i g_i s_i)
    vjp=(lambda g, ans, x, axis: ans * (g - np.sum(g * ans, axis=axis, keepdims=True)),),
    jvp=(lambda t, ans, x, axis: ans * (t - np.sum(t * ans, axis=axis, keepdims=True)),),
    # the VJP s·(g − Σ g s) when s moves by its tangent ṡ: ṡ·(g − Σ g s) − s·Σ g ṡ
    second_order=(lambda g, ans, dans, dargs, x, axis: dans * (g - np.sum(g * ans, axis=axis, keepdims=True))
                  - ans * np.sum(g * dans, axis=axis, keepdims=True),),
    torch=_torch_softmax,
    derivative=("∂sᵢ/∂{x}ⱼ = sᵢ(δᵢⱼ − sⱼ)   (s = softmax({x}))",),
    category="nn",
    doc="exp(x) / Σ exp(x) along axis (computed stably)",
    domain=REAL,
    probes=calls([((4,),), ((3, 4),)]) + calls([((3, 3),)], {"axis": 0}) + calls([((2, 3, 3),)], {"axis": 1}),
    symbolic=lambda sp, x, **_: sp.Integer(1),
    shape=SAME,
)

register(
    "log_softmax",
    forward=_log_softmax,
    args=("x",),
    params={"axis": -1},
    param_kinds={"axis": "axis"},
    # ∂(log s)_i/∂x_j = δ_ij − s_j, so (Jᵀg)_j = g_j − s_j Σ_i g_i
    vjp=(lambda g, ans, x, axis: g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True),),
    jvp=(lambda t, ans, x, axis: t - np.sum(np.exp(ans) * t, axis=axis, keepdims=True),),
    # the VJP g − e^ans·Σg when ans moves by its tangent: −e^ans·ȧns·Σg
    second_order=(lambda g, ans, dans, dargs, x, axis: -np.exp(ans) * dans * np.sum(g, axis=axis, keepdims=True),),
    torch=_torch_log_softmax,
    derivative=("∂log sᵢ/∂{x}ⱼ = δᵢⱼ − sⱼ   (s = softmax({x}))",),
    category="nn",
    doc="x − logsumexp(x) along axis: the log of softmax, computed stably",
    domain=REAL,
    probes=calls([((4,),), ((3, 4),)]) + calls([((3, 3),)], {"axis": 0}) + calls([((2, 3, 3),)], {"axis": 1}),
    symbolic=lambda sp, x, **_: sp.Integer(0),
    shape=SAME,
)


# ---- normalisation ----------------------------------------------------------------------


def _one_axis(name: str, axis: tuple[int, ...]) -> int:
    if len(axis) != 1:
        raise ValueError(f"{name} normalises along one axis, not {len(axis)}")
    return axis[0]


def _length(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """√Σx·x along ``axis`` (keepdims), holomorphic (x·x, not |x|²)."""
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=True))


def _clamped_length(x: np.ndarray, axis: tuple[int, ...], eps: float) -> np.ndarray:
    """max(‖x‖, eps), the divisor of torch's normalize (chosen on the real part)."""
    n = _length(x, axis)
    return np.where(np.real(n) > eps, n, eps)


def _normalize(x: np.ndarray, axis: tuple[int, ...], eps: float) -> np.ndarray:
    _one_axis("normalize", axis)
    return x / _clamped_length(x, axis, eps)


def _normalize_rule(g: np.ndarray, ans: np.ndarray, x: np.ndarray, axis: tuple[int, ...], eps: float) -> np.ndarray:
    # y = x/‖x‖: ∂y/∂x = (I − y yᵀ)/‖x‖, symmetric, so the VJP and the JVP are the same formula;
    # where ‖x‖ ≤ eps, y = x/eps and the derivative is I/eps
    n = _length(x, axis)
    inside = n > eps
    projected = (g - ans * np.sum(g * ans, axis=axis, keepdims=True)) / np.where(inside, n, 1.0)
    return np.where(inside, projected, g / eps)


def _normalize_tangent(g, ans, dans, dargs, x, axis, eps):
    """The VJP (g − y⟨g, y⟩)/n (n = ‖x‖ > eps) when x, y and n move: (−ẏ⟨g, y⟩ − y⟨g, ẏ⟩)/n − VJP·ṅ/n²
    with ṅ = ⟨y, ẋ⟩; where n ≤ eps the VJP g/eps does not move."""
    n = _length(x, axis)
    inside = n > eps
    safe = np.where(inside, n, 1.0)
    dot = lambda p, q: np.sum(p * q, axis=axis, keepdims=True)  # noqa: E731
    dn = dot(ans, dargs[0])
    moved = -(dans * dot(g, ans) + ans * dot(g, dans)) / safe - (g - ans * dot(g, ans)) * dn / (safe * safe)
    return np.where(inside, moved, 0.0)


def _smallest_gap_to_eps(x: np.ndarray, axis: tuple[int, ...], eps: float, **_: object) -> float:
    """How far the smallest length along ``axis`` is from eps, where the divisor switches."""
    if np.size(x) == 0:
        return float("inf")
    return float(np.min(np.abs(np.real(_length(np.asarray(x), axis)) - eps)))


register(
    "normalize",
    forward=_normalize,
    args=("x",),
    params={"axis": -1, "eps": 1e-12},
    param_kinds={"axis": "axis"},
    vjp=(lambda g, ans, x, axis, eps: _normalize_rule(g, ans, x, axis, eps),),
    jvp=(lambda t, ans, x, axis, eps: _normalize_rule(t, ans, x, axis, eps),),
    second_order=(_normalize_tangent,),
    torch=lambda x, axis, eps: F.normalize(x, p=2.0, dim=_one_axis("normalize", axis), eps=eps),
    derivative=("∂({x}/‖{x}‖)/∂{x} = (I − y yᵀ)/‖{x}‖  (y = {out}; I/eps where ‖{x}‖ ≤ eps)",),
    category="nn",
    doc="x/max(‖x‖, eps) along one axis (L2 normalisation, as torch.nn.functional.normalize); "
        "the divisor switches to eps below eps, a kink",
    kink=_smallest_gap_to_eps,
    domain=REAL,
    probes=calls([((4,),), ((3, 4),), ((2, 3, 3),)]) + calls([((3, 3),), ((3, 4),)], {"axis": 0}),
    symbolic=lambda sp, x, **_: sp.sign(x),
    shape=SAME,
)


def _cosine_parts(x1, x2, axis, eps):
    """u = x1/max(‖x1‖, eps), v likewise, their norms and c = Σ u·v (keepdims)."""
    n1, n2 = _clamped_length(x1, axis, eps), _clamped_length(x2, axis, eps)
    u, v = x1 / n1, x2 / n2
    return u, v, n1, n2, np.sum(u * v, axis=axis, keepdims=True)


def _cosine(x1: np.ndarray, x2: np.ndarray, axis: tuple[int, ...], eps: float, nb: int = 0) -> np.ndarray:
    _one_axis("cosine_similarity", axis)
    if np.shape(x1)[nb:] != np.shape(x2)[nb:]:  # the batch axes in front may differ (size 1)
        raise ValueError(f"cosine_similarity needs arguments of the same shape, not {np.shape(x1)[nb:]} "
                         f"and {np.shape(x2)[nb:]}")
    return np.squeeze(_cosine_parts(x1, x2, axis, eps)[4], axis=axis)


def _cosine_slope(k: int, x1, x2, axis, eps) -> np.ndarray:
    # ∂c/∂x1 = (v − c·u)/‖x1‖ and ∂c/∂x2 = (u − c·v)/‖x2‖ (lengths above eps)
    u, v, n1, n2, c = _cosine_parts(x1, x2, axis, eps)
    return (v - c * u) / n1 if k == 0 else (u - c * v) / n2


def _unit_tangent(x, dx, axis, eps):
    """u = x/max(‖x‖, eps) and its norm n, and how both move with x: u̇ = (ẋ − u⟨u, ẋ⟩)/n, ṅ = ⟨u, ẋ⟩ above
    eps; u̇ = ẋ/eps, ṅ = 0 below."""
    n = _clamped_length(x, axis, eps)
    u = x / n
    if dx is None:
        return u, n, 0.0, 0.0
    inside = np.real(_length(x, axis)) > eps
    dn = np.where(inside, np.sum(u * dx, axis=axis, keepdims=True), 0.0)
    return u, n, (dx - u * dn) / n, dn


def _cosine_tangent(k: int):
    """The VJP ḡ·(v − c·u)/‖x1‖ (k = 0; swapped for k = 1) when u, v, c and ‖x1‖ move (ċ = ȧns)."""

    def rule(g, ans, dans, dargs, x1, x2, axis, eps, nb=0):
        u, n1, du, dn1 = _unit_tangent(x1, dargs[0], axis, eps)
        v, n2, dv, dn2 = _unit_tangent(x2, dargs[1], axis, eps)
        if k == 1:
            u, n1, du, dn1, v, dv = v, n2, dv, dn2, u, du
        c, dc = np.expand_dims(ans, axis), np.expand_dims(dans, axis)
        slope = (v - c * u) / n1
        return np.expand_dims(g, axis) * ((dv - dc * u - c * du) / n1 - slope * dn1 / n1)

    return rule


def _cosine_vjp(k: int):
    return lambda g, ans, x1, x2, axis, eps, nb=0: np.expand_dims(g, axis) * _cosine_slope(k, x1, x2, axis, eps)


def _cosine_jvp(k: int):
    return lambda t, ans, x1, x2, axis, eps, nb=0: np.sum(t * _cosine_slope(k, x1, x2, axis, eps), axis=axis)


register(
    "cosine_similarity",
    forward=_cosine,
    args=("x1", "x2"),
    params={"axis": -1, "eps": 1e-8},
    param_kinds={"axis": "axis"},
    vjp=(_cosine_vjp(0), _cosine_vjp(1)),
    jvp=(_cosine_jvp(0), _cosine_jvp(1)),
    second_order=(_cosine_tangent(0), _cosine_tangent(1)),
    torch=lambda x1, x2, axis, eps, nb=0: F.cosine_similarity(x1, x2, dim=_one_axis("cosine_similarity", axis), eps=eps),
    derivative=("∂cos({x1}, {x2})/∂{x1} = ({x2}/‖{x2}‖ − {out}·{x1}/‖{x1}‖)/‖{x1}‖",
                "∂cos({x1}, {x2})/∂{x2} = ({x1}/‖{x1}‖ − {out}·{x2}/‖{x2}‖)/‖{x2}‖"),
    category="nn",
    doc="Σ x1·x2/(‖x1‖·‖x2‖) along one axis, each length at least eps (as torch); "
        "x1 and x2 have the same shape; kinks where a length reaches eps",
    needs_nb=True,
    kink=lambda x1, x2, axis, eps, nb=0: min(_smallest_gap_to_eps(x1, axis, eps), _smallest_gap_to_eps(x2, axis, eps)),
    domain=REAL,
    probes=calls([((4,), (4,)), ((3, 4), (3, 4)), ((2, 3, 3), (2, 3, 3))]) + calls([((3, 3), (3, 3))], {"axis": 0}),
    symbolic="none shown: the cosine of two one-element vectors is ±1, its derivative 0",
    shape=lambda x1, x2, axis, eps, nb=0: reduced_shape(tuple(np.broadcast_shapes(x1, x2)), axis),
)
