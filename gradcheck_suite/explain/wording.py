"""The words of the answer key, the exercise sheet and the feedback, in English and Chinese.

Every heading and label any renderer prints comes from :data:`LABELS` (``labels(lang)``),
so ``--lang zh`` changes all of them at once; the sentences built from the model
(path sums, equations, where a claim is wrong) are here too, shared by the text,
Markdown, HTML and LaTeX renderers, which add only their own markup.  Blanked values
print as the blank.
"""
from __future__ import annotations

from .model import (BackwardRow, ClaimGrade, Explanation, JacobianChain, LocalTerm, PathSum, RouteRow,
                    Shown, format_number)

__all__ = ["LANGS", "LABELS", "labels", "SECTIONS", "SECTION_ORDER", "SHEET_SECTIONS", "sections",
           "product_symbol", "term_equation", "path_sum_symbolic", "path_sum_numbers", "chain_symbolic",
           "jacobian_name", "route_error", "route_label", "claim_where", "point_text", "partial",
           "seed_name", "heading", "CJK_FONT_STACK", "chain_note", "kind_label"]

#: the languages of the pages
LANGS = ("en", "zh")

#: fonts for the HTML pages: Latin first, then the common CJK families of each platform
CJK_FONT_STACK = ('system-ui,-apple-system,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei",'
                  '"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif')

#: the order of the sections of an answer key
SECTION_ORDER = ("decomposition", "forward", "backward", "symbolic", "jacobian", "closed", "hessian", "routes",
                 "claims", "graph", "stepsize")
#: the sections an exercise sheet keeps (no verdicts, harness rows or step sizes)
SHEET_SECTIONS = ("decomposition", "forward", "backward", "symbolic", "jacobian", "closed", "hessian", "graph")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "answer_key": "Answer key", "exercise": "Exercise",
        "sheet_intro": "Fill in every blank (______): each upstream gradient, local-derivative value, "
                       "contribution and gradient. The forward values and the local-derivative formulas are given.",
        "decomposition": "Decomposition into primitive steps", "forward": "Forward pass",
        "backward": "Backward pass (reverse order)",
        "symbolic": "Backward pass in symbols (the forms taught)", "jacobian": "Jacobian chain",
        "closed": "Closed form (fully expanded)", "routes": "Three routes agree", "claims": "Claimed derivatives",
        "graph": "Computation graph", "stepsize": "Step size of the finite difference",
        "dtype": "dtype", "inputs": "inputs", "constants": "constants", "output": "output", "at": "at",
        "node": "node", "primitive": "primitive", "as_operation": "as an operation", "from_text": "from the text",
        "step": "step", "expression": "expression", "shape": "shape", "value": "value",
        "upstream": "upstream", "to": "to", "local": "local derivative", "local_forward": "in the forward names",
        "its_value": "its value", "contribution": "contribution = upstream × local", "start": "start",
        "paths_intro": "Where a value feeds several nodes, its gradient is the sum over the paths:",
        "gradient": "gradient", "gradients": "Gradients", "jac": "Jacobian", "entries": "entries",
        "product": "product", "full_jacobian": "full Jacobian from the engine",
        "agree": "product and full Jacobian agree", "differ": "product and full Jacobian DIFFER",
        "max_diff": "max |difference|", "derivative": "derivative", "simplified": "simplified",
        "latex": "LaTeX", "at_point": "at the point", "chain_rule": "chain rule", "difference": "difference",
        "check": "check", "status": "status", "max_abs": "max abs err", "max_rel": "max rel err",
        "fd_est": "FD err est", "actual": "actual", "expected": "expected", "element": "element",
        "claim": "claim", "verdict": "verdict", "where": "where and by how much",
        "no_claims": "The case claims no derivatives (no expect:).",
        "graph_note": "see the HTML or Markdown page", "matrix": "Matrix form",
        "chain": "chain", "composed": "local derivatives along each path",
        "in_forward_names": "simplified in the forward nodes' names",
        "no_gradient": "no gradient sent to {names}: constant",
        "inner_note": "{names}: operations inside a step, named step.1, step.2, …",
        "stepsize_text": "|central difference − chain rule| for {what}; step used h = {h}, ε^(1/3) = {e}",
        "seed_scalar": "∂{o}/∂{o} = 1",
        "seed_vector": "{o} has shape {shape}: the reverse pass starts from the cotangent of ones, so each "
                       "upstream gradient is ∂(Σ{o})/∂node; the Jacobian chain shows every element",
        "seed_cotangent": "{o} has shape {shape}: the reverse pass starts from the cotangent you chose, "
                          "so each upstream gradient is ∂⟨c, {o}⟩/∂node",
        "routes_element": "actual and expected are the values at the element where the two routes differ most",
        "variant": "variant", "student": "student", "points": "points", "diagnosis": "diagnosis",
        "feedback": "Feedback", "summary": "Class summary", "case": "case", "input": "input",
        "right": "right", "wrong": "wrong", "number": "a number, not a formula", "shape_error": "shape error",
        "unreadable": "unreadable", "error": "error", "total": "total", "numbers": "numeric blanks",
        "crashed": "crashed", "timeout": "time limit", "missing": "missing function",
        "full_jacobians": "full Jacobians: --full",
        "flatten": "Jacobians of arrays are matrices: rows are the elements of {of}, columns those of {wrt}, "
                   "each flattened in row-major (C) order ({m}[0,0], {m}[0,1], …)",
        "local_scalar": "scalar", "local_elementwise": "elementwise", "local_jacobian": "Jacobian",
        "local_too large": "too large",
        "chain_scalar": "every step on the way from the inputs to the output is scalar: the backward pass is the chain",
        "node_word": "node", "hand_vs_torch": "chain rule vs torch", "hand_vs_fd": "chain rule vs FD",
        "torch_vs_fd": "torch vs FD", "expect_vs_torch": "claim vs torch",
        "hessian_vs_torch": "Hessian vs torch double backward", "hessian_vs_grad_fd": "Hessian vs FD of the gradient",
        "hessian_vs_fd": "Hessian vs second differences",
        "hessian": "Second order: the Hessian",
        "hessian_intro": "H[i, j] = ∂²{o}/∂i∂j by the engine's own second-order rules. Column j is one pass along "
                         "the input element j: every value moves by its tangent ∂node/∂j; what a node sends back "
                         "moves by ġ·(its local derivative) — ġ is how its upstream gradient moves — plus "
                         "g·(how its local derivative moves).",
        "hessian_locals": "Second local derivatives, in the forward names",
        "hessian_symbols": "The Hessian in symbols (the first derivatives above, differentiated once more)",
        "hessian_order": "rows and columns in the order",
        "hessian_along": "Column {x}: moving {x}", "hessian_tangents": "tangents",
        "hessian_g": "g = ∂{o}/∂node", "hessian_dg": "ġ = ∂²{o}/∂node∂{x}", "hessian_first": "ġ·local",
        "hessian_moved": "g·Δlocal", "hessian_sent": "sent back", "hessian_entries": "entries of column {x}",
        "newton": "One Newton step: Δ = −H⁻¹∇{o}",
        "newton_pd": "H is positive definite: the step goes downhill toward the minimum of the local quadratic model",
        "newton_not_pd": "H is not positive definite: the step goes to a stationary point of the quadratic model, "
                         "not necessarily downhill",
        "newton_outside": "the new point is outside the function's domain: {why}",
        "newton_not_finite": "{o} is not finite there",
        "hessian_not_scalar": "{o} is not a scalar: the answer key shows the Hessian of scalar outputs (the harness "
                              "checks wᵀf for the others)",
        "hessian_too_many": "{n} input elements: the answer key shows Hessians of 1 to {most} (the harness checks "
                            "it at any size)",
        "hessian_none": "no Hessian: {why}",
        "hessian_no_symbols": "Not written in symbols: sympy did not finish within {s} s.",
        "scalar": "scalar", "kind_input": "input", "kind_constant": "constant", "kind_literal": "literal",
    },
    "zh": {
        "answer_key": "答案", "exercise": "练习",
        "sheet_intro": "填写每个空白（______）：每个上游梯度、局部导数的值、贡献与梯度。前向计算的值和局部导数公式已给出。",
        "decomposition": "分解为基本运算", "forward": "前向计算", "backward": "反向传播（逆序）",
        "symbolic": "符号形式的反向传播（课堂上的写法）", "jacobian": "雅可比矩阵链",
        "closed": "闭式解（完全展开）", "routes": "三种方法一致", "claims": "所给出的导数",
        "graph": "计算图", "stepsize": "有限差分的步长",
        "dtype": "数据类型", "inputs": "输入", "constants": "常量", "output": "输出", "at": "取值",
        "node": "节点", "primitive": "基本运算", "as_operation": "运算", "from_text": "原文",
        "step": "步骤", "expression": "表达式", "shape": "形状", "value": "值",
        "upstream": "上游梯度", "to": "传给", "local": "局部导数", "local_forward": "用前向节点表示",
        "its_value": "其值", "contribution": "贡献 = 上游梯度 × 局部导数", "start": "起点",
        "paths_intro": "一个值流向多个节点时，它的梯度是各条路径之和：",
        "gradient": "梯度", "gradients": "梯度", "jac": "雅可比矩阵", "entries": "元素",
        "product": "乘积", "full_jacobian": "引擎算出的完整雅可比矩阵",
        "agree": "乘积与完整雅可比矩阵一致", "differ": "乘积与完整雅可比矩阵不一致",
        "max_diff": "最大差值", "derivative": "导数", "simplified": "化简后",
        "latex": "LaTeX", "at_point": "在该点的值", "chain_rule": "链式法则", "difference": "差值",
        "check": "检查", "status": "状态", "max_abs": "最大绝对误差", "max_rel": "最大相对误差",
        "fd_est": "有限差分误差估计", "actual": "实际值", "expected": "期望值", "element": "元素",
        "claim": "答案", "verdict": "判定", "where": "位置与差距",
        "no_claims": "本题没有给出导数（没有 expect:）。",
        "graph_note": "见 HTML 或 Markdown 页面", "matrix": "矩阵形式",
        "chain": "链式法则", "composed": "沿每条路径的局部导数",
        "in_forward_names": "用前向节点的名字化简",
        "no_gradient": "{names} 是常量，不传梯度",
        "inner_note": "{names}：一个步骤内部的运算，记作 step.1、step.2……",
        "stepsize_text": "{what} 的 |中心差分 − 链式法则|；所用步长 h = {h}，ε^(1/3) = {e}",
        "seed_scalar": "∂{o}/∂{o} = 1",
        "seed_vector": "{o} 的形状是 {shape}：反向传播从全 1 的余切向量开始，所以每个上游梯度是 ∂(Σ{o})/∂节点；"
                       "雅可比矩阵链给出每个元素",
        "seed_cotangent": "{o} 的形状是 {shape}：反向传播从所选的余切向量 c 开始，所以每个上游梯度是 ∂⟨c, {o}⟩/∂节点",
        "routes_element": "实际值与期望值取自两种方法相差最大的元素",
        "variant": "变体", "student": "学生", "points": "得分", "diagnosis": "诊断",
        "feedback": "反馈", "summary": "全班汇总", "case": "题目", "input": "输入",
        "right": "正确", "wrong": "错误", "number": "是一个数字，不是公式", "shape_error": "形状错误",
        "unreadable": "无法解析", "error": "出错", "total": "合计", "numbers": "数值空白",
        "crashed": "运行出错", "timeout": "超时", "missing": "缺少函数",
        "full_jacobians": "完整雅可比矩阵：--full",
        "flatten": "数组的雅可比矩阵写成矩阵：行是 {of} 的元素，列是 {wrt} 的元素，均按行优先（C）顺序展平"
                   "（{m}[0,0]、{m}[0,1]……）",
        "local_scalar": "标量", "local_elementwise": "逐元素", "local_jacobian": "雅可比矩阵",
        "local_too large": "太大",
        "chain_scalar": "从输入到输出的每一步都是标量：反向传播本身就是这条链",
        "node_word": "节点", "hand_vs_torch": "链式法则 vs torch", "hand_vs_fd": "链式法则 vs 有限差分",
        "torch_vs_fd": "torch vs 有限差分", "expect_vs_torch": "答案 vs torch",
        "hessian_vs_torch": "黑塞矩阵 vs torch 二阶反向", "hessian_vs_grad_fd": "黑塞矩阵 vs 梯度的有限差分",
        "hessian_vs_fd": "黑塞矩阵 vs 二阶差分",
        "hessian": "二阶：黑塞矩阵",
        "hessian_intro": "H[i, j] = ∂²{o}/∂i∂j，由引擎自己的二阶规则算出。第 j 列是沿输入元素 j 的一次传播：每个值按其切向量 "
                         "∂节点/∂j 移动；每个节点传回的量移动 ġ·(局部导数)——ġ 是其上游梯度的变化——再加 g·(局部导数的变化)。",
        "hessian_locals": "二阶局部导数（用前向节点的名字）",
        "hessian_symbols": "黑塞矩阵的符号形式（上面的一阶导数再求一次导）",
        "hessian_order": "行与列的顺序",
        "hessian_along": "第 {x} 列：移动 {x}", "hessian_tangents": "切向量",
        "hessian_g": "g = ∂{o}/∂节点", "hessian_dg": "ġ = ∂²{o}/∂节点∂{x}", "hessian_first": "ġ·局部导数",
        "hessian_moved": "g·局部导数的变化", "hessian_sent": "传回", "hessian_entries": "第 {x} 列的元素",
        "newton": "一步牛顿法：Δ = −H⁻¹∇{o}",
        "newton_pd": "H 正定：这一步沿下降方向走向局部二次模型的最小值",
        "newton_not_pd": "H 不是正定的：这一步走向二次模型的驻点，不一定是下降方向",
        "newton_outside": "新的点在函数的定义域之外：{why}",
        "newton_not_finite": "{o} 在那里不是有限值",
        "hessian_not_scalar": "{o} 不是标量：答案只给出标量输出的黑塞矩阵（其他输出由检查程序检查 wᵀf）",
        "hessian_too_many": "{n} 个输入元素：答案只给出 1 到 {most} 个元素的黑塞矩阵（检查程序对任何规模都检查）",
        "hessian_none": "没有黑塞矩阵：{why}",
        "hessian_no_symbols": "未写成符号形式：sympy 未在 {s} 秒内完成。",
        "scalar": "标量", "kind_input": "输入", "kind_constant": "常量", "kind_literal": "字面量",
    },
}


def labels(lang: str = "en") -> dict[str, str]:
    """Every label in ``lang`` (English for an unknown language)."""
    return LABELS.get(lang, LABELS["en"])


#: English section titles (kept for callers that want them without numbers)
SECTIONS = {k: LABELS["en"][k] for k in SECTION_ORDER}


def sections(ex: Explanation) -> list[tuple[str, str]]:
    """The sections this page shows, in order, numbered: [(key, "1. Decomposition …"), …]."""
    keys = SHEET_SECTIONS if ex.blank else SECTION_ORDER
    if ex.hessian is None:
        keys = tuple(k for k in keys if k != "hessian")
    if not ex.blank and not ex.routes and ex.routes_note == "skipped":
        keys = tuple(k for k in keys if k != "routes")
    lab = labels(ex.lang)
    return [(k, f"{i}. {lab[k]}") for i, k in enumerate(keys, 1)]


def heading(ex: Explanation) -> str:
    """``Answer key: CASE — title`` or ``Exercise: CASE — title``."""
    lab = labels(ex.lang)
    head = f"{lab['exercise'] if ex.blank else lab['answer_key']}: {ex.case}"
    return head + (f" — {ex.title}" if ex.title else "")


def seed_name(ex: Explanation) -> str:
    """What each upstream gradient is the gradient *of*: ``y`` (scalar) or ``Σy``."""
    return ex.output if not ex.output_shape or ex.output_size == 1 else f"Σ{ex.output}"


def partial(of: str, wrt: str) -> str:
    """``∂of/∂wrt`` (``∂(Σy)/∂wrt`` for a sum)."""
    if of.startswith("Σ"):
        of = f"({of})"
    return f"∂{of}/∂{wrt}"


_SYMBOL = {"scalar": "×", "elementwise": "⊙", "jacobian": "·", "too large": "·"}


def product_symbol(term: LocalTerm) -> str:
    """× for scalars, ⊙ for an elementwise local derivative, · for a Jacobian (a VJP)."""
    return _SYMBOL.get(term.local_kind, "·")


def term_equation(row: BackwardRow, term: LocalTerm) -> str:
    """``upstream × local = contribution`` with the numbers (the matrix formula for large locals)."""
    if term.local is None and term.matrix:
        return f"{term.matrix} = {term.contribution.text}"  # a VJP too big to show as a Jacobian
    local = term.local.text if term.local is not None else "J"
    return f"{row.upstream.text} {product_symbol(term)} {local} = {term.contribution.text}"


def path_sum_symbolic(ps: PathSum) -> str:
    """``∂z/∂x = ∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x``."""
    terms = " + ".join(f"{partial(ps.output, t.consumer)}·{partial(t.consumer, ps.name)}" for t in ps.terms)
    return f"{partial(ps.output, ps.name)} = {terms}"


def _factor(s: Shown | None) -> str:
    if s is None:
        return "J"
    return f"({s.text})" if s.text.startswith("-") or not s.is_scalar else s.text


def path_sum_numbers(ps: PathSum) -> str:
    """``= (a)(b) + (c)(d) = e + f = total`` (the products only where every factor is a scalar)."""
    scalar = all(t.upstream.is_scalar and t.local is not None and t.local.is_scalar for t in ps.terms)
    pieces = []
    if scalar:
        pieces.append(" + ".join(f"{_factor(t.upstream)}·{_factor(t.local)}" for t in ps.terms))
    pieces.append(" + ".join(_factor(t.contribution) for t in ps.terms))
    pieces.append(ps.total.text)
    return "= " + " = ".join(pieces)


def jacobian_name(of: str, wrt: str) -> str:
    """``J_of(wrt)`` as the tutorial writes it."""
    return f"J_{of}({wrt})"


def chain_symbolic(chain: JacobianChain) -> str:
    """``J_y(v) = J_y(u) · J_u(v)``, and ``= B·diag(1 − u²)·A`` when every link has a formula."""
    right = " · ".join(jacobian_name(f.of, f.wrt) for f in chain.factors)
    text = f"{jacobian_name(chain.output, chain.input)} = {right}"
    if chain.factors and all(f.formula for f in chain.factors):
        text += " = " + "·".join(f.formula for f in chain.factors if f.formula != "I")
    return text


def route_error(value: float | None) -> str:
    return "—" if value is None else format_number(value, 3)


def claim_where(g: ClaimGrade) -> str:
    """Where and by how much a claim differs (or why it could not be graded), and the diagnosis."""
    text = g.message
    if g.verdict == "wrong" and g.abs_diff is not None and g.claimed_at_worst is not None:
        text = (f"at {g.worst_index}: claimed {g.claimed_at_worst.text}, correct {g.correct_at_worst.text}; "
                f"off by {format_number(g.abs_diff, 3)} (relative {format_number(g.rel_diff, 3)}); "
                f"{g.wrong_elements} of {g.total_elements} wrong")
    elif g.verdict == "right" and g.claimed is not None and g.correct is not None:
        text = f"claimed {g.claimed.text}, chain rule {g.correct.text}; {g.message}"
    if g.diagnosis:
        text = f"{g.diagnosis} — {text}" if text else g.diagnosis
    return text


def point_text(ex: Explanation) -> str:
    """``x = 0.5, w = 2`` — the point, for scalar leaves (arrays are in the forward table)."""
    parts = []
    for r in ex.forward:
        if r.kind in ("input", "constant") and r.value.is_scalar:
            parts.append(f"{r.name} = {r.value.text}")
    return ", ".join(parts)


def kind_label(ex: Explanation, kind: str) -> str:
    return labels(ex.lang).get(f"kind_{kind}", kind)


def route_label(r: RouteRow, lang: str = "en") -> str:
    """What a harness check compares, in words (``chain rule vs FD``)."""
    return labels(lang).get(r.check, r.check)


def chain_note(ex: Explanation) -> str:
    """The Jacobian-chain note in the page's language."""
    from .chains import SCALAR_NOTE

    return labels(ex.lang)["chain_scalar"] if ex.chain_note == SCALAR_NOTE else ex.chain_note
