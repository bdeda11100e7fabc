"""The explanation object: one case's answer key as a tree of dataclasses.

Everything a renderer shows is in here, already computed from the engine's trace
(``gradcheck_suite.explain.build`` fills it in); renderers only format.  Every number
on the page is a :class:`Shown`, which knows whether it is a *derivative* value (an
upstream gradient, a local derivative, a contribution, a gradient, a Jacobian entry,
a closed-form derivative, a claimed answer) or a forward value.  :meth:`Explanation.blanked`
returns the exercise sheet: the same tree with every derivative value blanked, so no
renderer has to know what to hide.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Shown",
    "show",
    "format_number",
    "BLANK",
    "ForwardRow",
    "LocalTerm",
    "BackwardRow",
    "PathTerm",
    "PathSum",
    "JacobianFactor",
    "JacobianChain",
    "ClosedFormRow",
    "ClosedForm",
    "RouteRow",
    "ClaimGrade",
    "StepSizeSweep",
    "SymbolicRow",
    "SymbolicPass",
    "Explanation",
    "derivative_values",
]

#: what the exercise sheet prints in place of a derivative value
BLANK = "______"

#: arrays with more elements than this are summarised in the compact form
COMPACT_THRESHOLD = 12
#: matrices with at most this many rows and columns are shown as a grid
GRID_LIMIT = 12


def format_number(x: Any, digits: int = 6) -> str:
    """One number as the answer key prints it (``digits`` significant digits)."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    x = float(x)
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def _formatter(a: np.ndarray, digits: int, *, grid: bool = False):
    """How each element of ``a`` is written (what :func:`format_number` writes for a float): a function
    of the element as ``tolist`` gives it, without format_number's checks and conversions per call."""
    kind = a.dtype.kind
    if kind == "b":
        return str
    if kind in "iu" and not grid:
        return str
    spec = f".{digits}g"
    return lambda v: "0" if v == 0 else format(float(v), spec)


def _small_text(cells: list, ndim: int) -> str:
    """The compact text of a small 1-D or 2-D array from its formatted elements (nested like the array)."""
    if ndim == 1:
        return "[" + ", ".join(cells) + "]"
    return "[" + ", ".join("[" + ", ".join(row) + "]" for row in cells) + "]"


def _nested_text(x: list, shape: tuple[int, ...], hang: str, width: int, fmt, summary: bool) -> str:
    """numpy's ``array2string`` layout (separator ", ", two edge items, its wrapping rule for
    ``width``) of the nested list ``x``, each element written by ``fmt``: the same text, with the
    elements formatted in one pass instead of numpy's per-element dispatch (which took most of the
    answer key's formatting time).  ``shape`` is the array's (``x`` holds only the edges of a summary)."""
    cut = summary and 4 < shape[0]  # numpy: 2 * edgeitems < length
    items = x[:2] + x[-2:] if cut else x
    if len(shape) == 1:
        words = [fmt(v) for v in items]
        if cut:
            words.insert(2, "...")
        text, line, limit, prefix = "", hang, width - 1, len(hang)
        last = len(words) - 1
        for i, word in enumerate(words):
            if len(line) + len(word) > limit and len(line) > prefix:
                text += line.rstrip() + "\n"
                line = hang
            line += word if i == last else word + ", "
        text += line
    else:
        inner, sep = hang + " ", "," + "\n" * (len(shape) - 1)
        parts = [_nested_text(v, shape[1:], inner, width - 1, fmt, summary) for v in items]
        if cut:
            parts.insert(2, "...")
        text = hang + (sep + hang).join(parts)
    return "[" + text[len(hang):] + "]"


def _array_text(a: np.ndarray, *, compact: bool) -> str:
    """An array (ndim ≥ 1) as the page prints it: ``compact`` on one line with at most
    :data:`COMPACT_THRESHOLD` elements shown (two at each end of a longer axis), otherwise every element,
    ten significant digits, lines of at most 100 characters, as ``np.array2string`` lays them out."""
    if a.size == 0 or a.dtype.kind not in "biuf":
        return _numpy_text(a, compact=compact)
    fmt = _formatter(a, 4 if compact else 10)
    if compact and a.size <= COMPACT_THRESHOLD and a.ndim <= 2:
        rows = a.tolist()
        return _small_text([fmt(v) for v in rows] if a.ndim == 1 else [[fmt(v) for v in r] for r in rows], a.ndim)
    summary = compact and a.size > COMPACT_THRESHOLD
    text = _nested_text(_edges(a) if summary else a.tolist(), a.shape, " ", sys.maxsize if compact else 100,
                        fmt, summary)
    return text.replace("\n", "") if compact else text


def _edges(a: np.ndarray) -> list:
    """``a.tolist()`` of only the elements a summary shows (two at each end of every longer axis)."""
    for axis, n in enumerate(a.shape):
        if n > 4:
            a = np.concatenate([a[(slice(None),) * axis + (slice(0, 2),)], a[(slice(None),) * axis + (slice(-2, None),)]],
                               axis=axis)
    return a.tolist()


def _numpy_text(a: np.ndarray, *, compact: bool) -> str:
    """numpy's own layout, for what :func:`_array_text` does not write itself (empty or other dtypes)."""
    if a.dtype == np.bool_:
        fmt = {"bool": lambda v: str(bool(v))}
    else:
        digits = 4 if compact else 10
        fmt = {"float_kind": lambda v: format_number(v, digits), "int_kind": lambda v: str(v)}
    return np.array2string(
        a,
        separator=", ",
        formatter=fmt,
        threshold=COMPACT_THRESHOLD if compact else sys.maxsize,
        edgeitems=2,
        max_line_width=sys.maxsize if compact else 100,
    ).replace("\n", "" if compact else "\n")


@dataclass(frozen=True)
class Shown:
    """A number or an array as the page shows it.

    ``compact`` fits on one line; ``full`` lists every element (shown on demand: given as
    the array, it is formatted the first time a renderer asks, since most are never shown);
    ``derivative`` marks a value the exercise sheet blanks; ``blank`` is set on the sheet.
    """

    compact: str
    every: str | np.ndarray = field(compare=False, repr=False)
    shape: tuple[int, ...] = ()
    derivative: bool = False
    blank: bool = False
    grid: tuple[tuple[str, ...], ...] | None = None  # a small matrix, cell by cell

    @property
    def full(self) -> str:
        """Every element (the array is formatted on first use, then kept)."""
        if not isinstance(self.every, str):
            object.__setattr__(self, "every", _array_text(self.every, compact=False))
        return self.every

    @property
    def elided(self) -> bool:
        """True when the compact text leaves elements out (then "every element" is worth a click)."""
        return "..." in self.compact

    @property
    def text(self) -> str:
        """The compact text, or the blank on the exercise sheet."""
        return BLANK if self.blank else self.compact

    @property
    def full_text(self) -> str:
        return BLANK if self.blank else self.full

    @property
    def is_scalar(self) -> bool:
        return self.shape == () or int(np.prod(self.shape)) == 1

    @property
    def shape_text(self) -> str:
        return "scalar" if self.shape == () else "×".join(str(s) for s in self.shape)

    def blanked(self) -> "Shown":
        return dataclasses.replace(self, blank=True) if self.derivative else self


def show(value: Any, *, derivative: bool = False) -> Shown:
    """Format a value for the page."""
    a = np.asarray(value)
    if a.ndim == 0:
        text = format_number(a.item())
        full = repr(float(a)) if a.dtype.kind == "f" else str(a.item())
        return Shown(text, full, (), derivative)
    grid = None
    if a.ndim == 2 and a.shape[0] <= GRID_LIMIT and a.shape[1] <= GRID_LIMIT and a.dtype != np.bool_:
        fmt = _formatter(a, 4, grid=True)
        cells = [[fmt(v) for v in row] for row in a.tolist()]
        grid = tuple(map(tuple, cells))
        small = 0 < a.size <= COMPACT_THRESHOLD and a.dtype.kind == "f"
        compact = _small_text(cells, 2) if small else _array_text(a, compact=True)  # the same cells
    else:
        compact = _array_text(a, compact=True)
    full = np.array(a)  # a copy: formatted only if a renderer asks for every element
    return Shown(compact, full, tuple(a.shape), derivative, grid=grid)


# ---- sections -----------------------------------------------------------------------


@dataclass
class ForwardRow:
    """One node of the decomposition and its forward value.

    ``kind`` is ``input``, ``constant``, ``literal`` or ``step`` (a node that ends a
    named step) or ``inner`` (a node inside a step).  ``expression`` writes the node in
    terms of its arguments' names (``y.2 = exp(y.1)``); ``source`` is the case text.
    """

    node_id: int
    name: str
    op: str
    kind: str
    expression: str
    source: str
    args: tuple[int, ...]
    value: Shown
    gradient: Shown | None = None  # upstream gradient reaching this node (None: none flows)
    consumers: int = 0


@dataclass
class LocalTerm:
    """What one node sends back to one argument: upstream × local derivative."""

    arg_id: int
    arg_name: str
    argpos: int
    formula: str
    local: Shown | None  # None: too large to show
    local_kind: str  # "scalar", "elementwise", "jacobian", "too large"
    contribution: Shown
    taught: str = ""  # the local derivative in the forward nodes' names: "y·(1 − y)"
    matrix: str = ""  # the contribution as a matrix formula: "Bᵀ·δy"


@dataclass
class BackwardRow:
    """One node of the reverse pass, visited in reverse order."""

    node_id: int
    name: str
    op: str
    expression: str
    upstream: Shown
    terms: list[LocalTerm] = field(default_factory=list)
    constant_args: list[str] = field(default_factory=list)


@dataclass
class PathTerm:
    """One path into a value that feeds several nodes: ∂z/∂u · ∂u/∂x."""

    consumer: str
    argpos: int
    upstream: Shown  # ∂z/∂u
    local: Shown | None  # ∂u/∂x
    contribution: Shown


@dataclass
class PathSum:
    """∂z/∂x = Σ over the consumers u of x of ∂z/∂u · ∂u/∂x, with the numbers."""

    name: str
    output: str
    terms: list[PathTerm]
    total: Shown


@dataclass
class JacobianFactor:
    """J_of(wrt): one step's Jacobian matrix (rows: elements of ``of``)."""

    of: str
    wrt: str
    rows: int
    cols: int
    matrix: Shown
    formula: str = ""  # the Jacobian as a matrix formula: "diag(1 − u²)·A" ("" when none is known)


@dataclass
class JacobianChain:
    """J_y(v) = J_y(u) · J_u(v) for one input, and the check against the full Jacobian."""

    input: str
    output: str
    factors: list[JacobianFactor]
    product: Shown
    full: Shown
    max_abs_diff: float
    agree: bool


@dataclass
class ClosedFormRow:
    """The symbolic derivative with respect to one input, at the point."""

    input: str
    text: str
    latex: str
    value: Shown
    chain_rule: Shown
    abs_diff: float
    mathml: str = ""


@dataclass
class ClosedForm:
    """The function and its derivatives in closed form (scalar cases), or why not."""

    function_text: str = ""
    function_latex: str = ""
    function_mathml: str = ""
    rows: list[ClosedFormRow] = field(default_factory=list)
    note: str = ""


@dataclass
class RouteRow:
    """One row of the harness table: a route compared with another."""

    dtype: str
    input: str
    check: str
    status: str
    max_abs_err: float | None
    max_rel_err: float | None
    fd_err_est: float | None
    actual: Shown | None
    expected: Shown | None
    message: str = ""
    element: str = ""  # which element actual and expected are taken at (the worst one)


@dataclass
class ClaimGrade:
    """A claimed derivative graded right, wrong or error, with where and by how much."""

    case: str
    input: str
    claim: str
    verdict: str  # one of grade.VERDICTS
    claimed: Shown | None = None
    correct: Shown | None = None
    worst_index: str = ""
    claimed_at_worst: Shown | None = None
    correct_at_worst: Shown | None = None
    abs_diff: float | None = None
    rel_diff: float | None = None
    wrong_elements: int = 0
    total_elements: int = 0
    message: str = ""
    source: str = "expect"  # "expect" (case file) or the answers file's name
    diagnosis: str = ""     # the usual mistake this looks like: "missing the path through v", …
    diagnosis_kind: str = ""  # gradebook.DIAGNOSIS_KINDS, or a code verdict (crashed, timeout, missing, unreadable)
    points: float = 0.0
    max_points: float = 1.0
    kind: str = "formula"   # "formula" (a derivative), "value" (a numeric blank), "code" (a student's function)

    @property
    def right(self) -> bool:
        return self.verdict == "right"


@dataclass
class StepSizeSweep:
    """Finite-difference error against the step h for one input element."""

    input: str
    index: str
    steps: list[float]
    errors: list[float]
    step_used: float
    eps_cube_root: float
    reference: str = "chain rule"


@dataclass
class SymbolicRow:
    """∂out/∂input in symbols: the chain, the local derivatives along each path, simplified."""

    input: str
    output: str
    chain: str        # ∂v/∂w·∂w/∂g·∂g/∂f·∂f/∂x
    composed: str     # (−1/w²)·1·g·(−1)
    taught: str       # the same without factors 1
    simplified: str   # v·(1 − v)
    taught_latex: str = ""
    simplified_latex: str = ""
    mathml: str = ""
    note: str = ""


@dataclass
class SymbolicPass:
    """The backward pass in symbols: local derivatives in forward names, each input's derivative,
    and for array steps the matrix formulas δarg = … with shapes."""

    locals: list[tuple[str, str, str]] = field(default_factory=list)
    rows: list[SymbolicRow] = field(default_factory=list)
    note: str = ""
    matrix: list[tuple[str, str]] = field(default_factory=list)  # (δu = Bᵀ·δy, shape)
    matrix_note: str = ""


@dataclass
class Explanation:
    """The whole answer key for one case."""

    case: str
    title: str
    description: str
    file: str
    dtype: str
    inputs: list[str]
    constants: list[str]
    steps: list[tuple[str, str]]  # as written in the case
    output: str
    output_shape: tuple[int, ...]
    forward: list[ForwardRow]
    backward: list[BackwardRow]
    backward_seed: str
    path_sums: list[PathSum]
    gradients: dict[str, Shown]
    chains: list[JacobianChain]
    chain_note: str
    closed_form: ClosedForm
    routes: list[RouteRow]
    routes_note: str
    claims: list[ClaimGrade]
    stepsize: StepSizeSweep | None
    stepsize_note: str = ""
    blank: bool = False
    symbolic: SymbolicPass = field(default_factory=SymbolicPass)
    lang: str = "en"
    variant: str = ""           # the variant seed of this sheet ("" for the case's own point)
    inner_nodes: list[str] = field(default_factory=list)
    flatten_note: str = ""
    hessian: Any = None  # a .hessian.HessianSection (order 2), or None

    @property
    def output_size(self) -> int:
        return int(np.prod(self.output_shape)) if self.output_shape else 1

    def _repr_html_(self) -> str:
        """Jupyter shows the answer key inline (the fragment with its own style)."""
        from .html import notebook_html
        return notebook_html(self)

    def row(self, name: str) -> ForwardRow:
        """The forward row of the node called ``name``."""
        for r in self.forward:
            if r.name == name:
                return r
        raise KeyError(name)

    def blanked(self) -> "Explanation":
        """The exercise sheet: every derivative value blanked, forward values kept."""
        out = _blank(self)
        out.blank = True
        out.routes, out.claims, out.stepsize = [], [], None
        return out


def _blank(obj: Any) -> Any:
    if isinstance(obj, Shown):
        return obj.blanked()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: _blank(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        new = dataclasses.replace(obj, **changes)
        if isinstance(new, ClaimGrade):
            new.claim = BLANK
            new.verdict = "—"
            new.message = ""
        if isinstance(new, RouteRow):
            new.message = ""
        if isinstance(new, ClosedFormRow):
            new.text = BLANK
            new.latex = BLANK
            new.mathml = ""
        if isinstance(new, SymbolicRow):
            new.composed = new.taught = new.simplified = new.taught_latex = new.simplified_latex = BLANK
            new.mathml = ""
        if isinstance(new, SymbolicPass):
            new.matrix = [(line.split(" = ", 1)[0] + " = " + BLANK, shape) for line, shape in new.matrix]
        if isinstance(new, JacobianChain):
            new.agree = True
        if isinstance(new, JacobianFactor):
            new.formula = BLANK if new.formula else ""
        if isinstance(new, LocalTerm):
            new.matrix = BLANK if new.matrix else ""
        return new
    if isinstance(obj, list):
        return [_blank(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_blank(v) for v in obj)
    if isinstance(obj, dict):
        return {k: _blank(v) for k, v in obj.items()}
    return obj


def derivative_values(obj: Any) -> list[Shown]:
    """Every derivative :class:`Shown` in a model tree (the values the sheet blanks)."""
    found: list[Shown] = []
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Shown):
            if o.derivative:
                found.append(o)
        elif dataclasses.is_dataclass(o) and not isinstance(o, type):
            stack.extend(getattr(o, f.name) for f in dataclasses.fields(o))
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
    return found
