"""The expression language: accepted constructs build the right nodes, refused ones are located errors."""
import math
import string

import pytest
from hypothesis import given, settings, strategies as st

from gradcheck_suite.errors import CaseError, LimitError
from gradcheck_suite.expr import Limits, Origin, parse_expression
from gradcheck_suite.graph import Graph

ORIGIN = Origin(file="f.yaml", case="c", step="s", line=3, col=10)


def fresh_graph() -> tuple[Graph, dict[str, int]]:
    """Inputs x, w and a constant k, as a case would have them."""
    g = Graph()
    for name, op, table in (("x", "input", g.inputs), ("w", "input", g.inputs), ("k", "constant", g.constants)):
        table[name] = g.add(op, name=name).id
    return g, {**g.inputs, **g.constants}


def parse(text: str, origin: Origin = ORIGIN, **kw) -> tuple[Graph, int]:
    g, names = fresh_graph()
    return g, parse_expression(text, g, names, origin=origin, **kw)


def built(text: str) -> list[tuple[str, dict]]:
    """The (op, params) of every node the expression created (leaves of the case excluded)."""
    g, _ = parse(text)
    return [(n.op, n.params) for n in g.nodes[3:]]


def refused(text: str, **kw) -> CaseError:
    g, names = fresh_graph()
    before = len(g)
    with pytest.raises(CaseError) as info:
        parse_expression(text, g, names, origin=ORIGIN, **kw)
    assert len(g) == before, "a refused expression must leave the graph unchanged"
    return info.value


# ---- accepted constructs -------------------------------------------------------------

@pytest.mark.parametrize("text, op", [
    ("x + w", "add"), ("x - w", "sub"), ("x * w", "mul"), ("x / w", "div"), ("x ** w", "pow"),
    ("x @ w", "matmul"),
])
def test_binary_operators_map_to_primitives(text, op):
    assert built(text) == [(op, {})]


@pytest.mark.parametrize("text, op", [("-x", "neg"), ("+x", "pos")])
def test_unary_operators_map_to_primitives(text, op):
    assert built(text) == [(op, {})]


@pytest.mark.parametrize("symbol, op", [
    ("<", "less"), ("<=", "less_equal"), (">", "greater"), (">=", "greater_equal"),
    ("==", "equal"), ("!=", "not_equal"),
])
def test_comparisons_in_the_condition_of_where(symbol, op):
    assert [o for o, _ in built(f"where(x {symbol} w, x, w)")] == [op, "where"]


@pytest.mark.parametrize("text, params", [
    ("sum(x)", {}),
    ("sum(x, axis=0, keepdims=True)", {"axis": 0, "keepdims": True}),
    ("sum(x, 1, True)", {"axis": 1, "keepdims": True}),
    ("sum(x, axis=(0, -1))", {"axis": (0, -1)}),
    ("sum(x, axis=[0, 1])", {"axis": (0, 1)}),
    ("sum(x, axis=None)", {"axis": None}),
    ("sum(x=x, axis=-1)", {"axis": -1}),
    ("leaky_relu(x, -0.5)", {"negative_slope": -0.5}),
])
def test_calls_bind_positionals_then_parameters_then_keywords(text, params):
    assert built(text)[-1][1] == params


def test_call_keyword_names_a_tensor_argument():
    g, out = parse("where(y=w, condition=x > 0, x=x)")
    assert [g[a].name for a in g[out].args] == ["s.1", "x", "w"]


@pytest.mark.parametrize("text, n", [("concat([x, w, k], axis=0)", 3), ("stack((x, w), 1)", 2)])
def test_variadic_primitives_take_a_list(text, n):
    g, out = parse(text)
    assert len(g[out].args) == n and g[out].op == text.split("(")[0]


@pytest.mark.parametrize("text, index", [
    ("x[0]", 0), ("x[-1]", -1), ("x[1:3]", slice(1, 3, None)), ("x[::-1]", slice(None, None, -1)),
    ("x[None, ...]", (None, Ellipsis)), ("x[..., 0]", (Ellipsis, 0)), ("x[:, None]", (slice(None), None)),
    ("x[-2:, 1]", (slice(-2, None, None), 1)), ("x[None:2]", slice(None, 2, None)),
])
def test_subscripts_become_getitem(text, index):
    assert built(text) == [("getitem", {"index": index})]


def test_dot_T_is_transpose():
    assert built("x.T") == [("transpose", {"axes": None})]


@pytest.mark.parametrize("text, value", [
    ("3", 3), ("2.5", 2.5), ("-2.5", -2.5), ("pi", math.pi), ("e", math.e), ("[1, -2]", [1, -2]),
    ("[[1, 2.5], [3, -4]]", [[1, 2.5], [3, -4]]),
])
def test_numbers_lists_pi_and_e_are_literal_nodes(text, value):
    g, out = parse(text)
    assert g[out].op == "literal" and g[out].value == value


def test_a_case_name_shadows_e():
    g = Graph()
    g.inputs["e"] = g.add("input", name="e").id
    assert parse_expression("e * 2", g, dict(g.inputs), origin=ORIGIN) == 2
    assert g[g[2].args[0]].op == "input"


def test_names_reuse_their_node():
    g, out = parse("w")
    assert out == g.inputs["w"] and len(g) == 3


# ---- node names, sources and positions ----------------------------------------------

def test_nodes_are_named_after_the_step_in_evaluation_order():
    g, out = parse("w * x + 1")
    assert [(n.name, n.source, n.step) for n in g.nodes[3:]] == [
        ("s.1", "w * x", "s"), ("1", "1", "s"), ("s", "w * x + 1", "s")]
    assert out == len(g) - 1


def test_node_positions_are_file_positions():
    g, _ = parse("w * x + exp(k)")
    positions = {n.source: (n.line, n.col) for n in g.nodes[3:]}
    assert positions == {"w * x": (3, 10), "exp(k)": (3, 18), "w * x + exp(k)": (3, 10)}


def test_positions_count_characters_not_bytes():
    g = Graph()
    g.inputs["σσ"] = g.add("input", name="σσ").id
    g.inputs["x"] = g.add("input", name="x").id
    parse_expression("σσ + exp(x)", g, dict(g.inputs), origin=ORIGIN)
    exp = next(n for n in g if n.op == "exp")
    assert (exp.line, exp.col, exp.source) == (3, 15, "exp(x)")


def test_block_scalar_positions_follow_the_lines():
    origin = Origin(file="f.yaml", case="c", step="s", line=5, col=7, block_indent=6)
    g, _ = parse("x +\n  exp(w)", origin=origin)
    exp = next(n for n in g if n.op == "exp")
    assert (exp.line, exp.col) == (6, 9)
    err = refused_at(origin, "x +\n  foo(w)")
    assert (err.line, err.col) == (6, 9)


def refused_at(origin: Origin, text: str) -> CaseError:
    g, names = fresh_graph()
    with pytest.raises(CaseError) as info:
        parse_expression(text, g, names, origin=origin)
    return info.value


# ---- refused constructs: message and location ------------------------------------------

REFUSED = [
    # (text, fragment of the message, where the error points: the first occurrence of this text)
    ("x.exp()", "method calls such as '.exp(...)' are not allowed; write exp(...)", "x.exp()"),
    ("f()(1)", "only a primitive can be called, by its name", "f()(1)"),
    ("sigmoidd(x)", "unknown primitive 'sigmoidd' (did you mean 'sigmoid'?)", "sigmoidd"),
    ("x(1)", "'x' is a value, not a primitive", "x("),
    ("xx + 1", "unknown name 'xx' (did you mean 'x'?)", "xx"),
    ("exp + x", "'exp' is a primitive; call it: exp(...)", "exp"),
    ("x.shape", "attribute '.shape' is not allowed (only '.T' is)", "x.shape"),
    ("x.exp", "attribute '.exp' is not allowed (only '.T' is); write exp(...)", "x.exp"),
    ("x.__class__", "dunder names such as '__class__' are not allowed", "x.__class__"),
    ("__import__('os')", "dunder names such as '__import__' are not allowed", "__import__"),
    ("x.__class__()", "dunder names such as '__class__' are not allowed", "x.__class__"),
    ("lambda: x", "lambda expressions are not allowed", "lambda"),
    ("[v for v in x]", "comprehensions are not allowed", "[v for"),
    ("{v for v in x}", "comprehensions are not allowed", "{v"),
    ("{v: v for v in x}", "comprehensions are not allowed", "{v"),
    ("sum(v for v in x)", "comprehensions (generator expressions) are not allowed", "(v for"),
    ("x and w", "boolean operators (and, or, not) are not allowed; use where(condition, a, b)", "x and"),
    ("x or w", "boolean operators (and, or, not) are not allowed", "x or"),
    ("not x", "boolean operators (and, or, not) are not allowed", "not"),
    ("f'{x}'", "f-strings are not allowed", "f'"),
    ("exp(*x)", "starred arguments (*x) are not allowed", "*x"),
    ("sum(**x)", "'**' arguments are not allowed", "x)"),
    ("(y := x)", "assignment expressions (:=) are not allowed", "y :="),
    ("x if w else k", "conditional expressions (a if c else b) are not allowed; use where(c, a, b)", "x if"),
    ("{1: x}", "dict literals are not allowed", "{1"),
    ("{x, w}", "set literals are not allowed", "{x"),
    ("'text'", "strings are not allowed in an expression", "'text'"),
    ("b'x' + x", "strings are not allowed in an expression", "b'x'"),
    ("x // w", "operator '//' is not supported", "x //"),
    ("x % w", "operator '%' is not supported", "x %"),
    ("~x", "operator '~' is not supported", "~x"),
    ("x > 0", "comparisons are only allowed as the condition of where(...)", "x > 0"),
    ("where(x > 0, x > 1, w)", "comparisons are only allowed as the condition of where(...)", "x > 1"),
    ("where(0 < x < 1, x, w)", "chained comparisons (a < b < c) are not allowed", "0 < x"),
    ("where(x is w, x, w)", "comparison 'is' is not supported", "x is"),
    ("where(x in w, x, w)", "comparison 'in' is not supported", "x in"),
    ("exp(x, axis=0)", "exp() has no argument 'axis'", "0)"),
    ("sum(x, axs=0)", "sum() has no argument 'axs' (did you mean 'axis'?)", "0)"),
    ("exp()", "exp() is missing argument 'x' (signature: exp(x))", "exp()"),
    ("where(x > 0, x)", "where() is missing argument 'y'", "where"),
    ("exp(x, w)", "exp() takes at most 1 positional argument (x); got 2", "exp"),
    ("sum(x, 0, axis=1)", "sum() got argument 'axis' twice", "1)"),
    ("sum(x, axis=w)", "parameter 'axis' of sum() must be a literal", "w)"),
    ("sum(x, axis=(0.5,))", "parameter 'axis' of sum() must hold integer literals", "0.5"),
    ("sum(x, axis='0')", "parameter 'axis' of sum() must be a literal", "'0'"),
    ("True + x", "True is only allowed as a parameter value", "True"),
    ("None * x", "None is only allowed as a parameter value", "None"),
    ("x[w]", "indices must be integer literals, slices, None or ...; 'w' is not", "w]"),
    ("x[w:]", "indices must be integer literals, slices, None or ...; 'w' is not", "w:"),
    ("x[0.5]", "indices must be integer literals, slices, None or ...; '0.5' is not", "0.5"),
    ("concat(x)", "concat() takes a list of expressions as its first argument", "x)"),
    ("stack([])", "stack() takes a list of expressions as its first argument", "[]"),
    ("[x, 1]", "an array literal holds only numbers; combine expressions with stack", "x,"),
    ("[[1, 2], [3]]", "array literal is not rectangular", "[3]"),
    ("[]", "an array literal cannot be empty", "[]"),
    ("(x, w)", "a tuple is not a value", "(x, w)"),
    ("1j * x", "complex numbers are not supported", "1j"),
    ("... + x", "'...' is only allowed inside [ ]", "..."),
    ("(yield x)", "yield is not allowed", "yield"),
    ("x +", "invalid syntax", None),
    ("x w", "invalid syntax", "x w"),
    ("exp(x", "'(' is never closed", "(x"),
    ("x)", "unmatched ')'", ")"),
    ("exp(x]", "unmatched ']'", "]"),
    ("", "empty expression", None),
]


@pytest.mark.parametrize("text, message, at", REFUSED, ids=[r[0] or "empty" for r in REFUSED])
def test_refused_constructs_are_located_errors(text, message, at):
    err = refused(text)
    assert message in err.message
    assert (err.file, err.case, err.step) == ("f.yaml", "c", "s")
    assert err.line == 3
    if at is not None:
        assert err.col == ORIGIN.col + text.index(at), str(err)
    else:  # the error sits somewhere inside the expression
        assert ORIGIN.col <= err.col <= ORIGIN.col + len(text)
    assert str(err).startswith(f"f.yaml:3:{err.col}: case 'c', step 's': ")


def test_invalid_syntax_at_the_end_points_at_the_end():
    err = refused("x + ")
    assert err.col == ORIGIN.col + len("x + ")


def test_use_before_definition_is_named():
    g, names = fresh_graph()
    with pytest.raises(CaseError, match="'z' is used before the step that defines it"):
        parse_expression("x + z", g, names, origin=ORIGIN, later=("z",))


def test_expect_claims_are_named_by_key():
    origin = Origin(file="f.yaml", case="c", key="expect.x", line=9, col=8)
    err = refused_at(origin, "x * (1 - xx)")
    assert str(err) == "f.yaml:9:17: case 'c', key 'expect.x': unknown name 'xx' (did you mean 'x'?)"


# ---- limits ------------------------------------------------------------------------

def test_a_900_term_sum_works():
    g, out = parse(" + ".join(["x"] * 900))
    assert len(g) == 3 + 899 and g[out].name == "s" and g[out].op == "add"
    assert g[out - 1].name == "s.898"


@pytest.mark.parametrize("text", [
    " + ".join(["x"] * 5000),
    " * ".join(["x"] * 1500),
    "exp(" * 500 + "x" + ")" * 500,
    "(" * 500 + "x" + ")" * 500,
    "-" * 5000 + "x",
    "x" + "[0]" * 5000,
    "**".join(["x"] * 5000),
])
def test_huge_expressions_are_limit_errors_not_recursion_errors(text):
    err = refused(text)
    assert isinstance(err, LimitError) and "split" in err.message


def test_500_unary_minus_deep_works():
    g, out = parse("-" * 500 + "x")
    assert g[out].op == "neg" and len(g) == 3 + 500


@pytest.mark.parametrize("limits, text, message", [
    (Limits(max_length=10), "x + w + x + w", "expression is 13 characters long; the limit is 10"),
    (Limits(max_depth=3), "x + w + x + w", "expression nests deeper than 3 levels"),
    (Limits(max_brackets=2), "exp(exp(exp(x)))", "brackets nest more than 2 deep"),
])
def test_limits_are_configurable(limits, text, message):
    err = refused(text, limits=limits)
    assert isinstance(err, LimitError) and message in err.message


# ---- property: nothing but CaseError ------------------------------------------------------

EXPRESSION_CHARS = string.ascii_letters[:12] + string.digits + " +-*/@()[]{},.:<>=!~%&|^'\"_\\#\n\t;?$`"


def atoms():
    return st.sampled_from(["x", "w", "k", "1", "2.5", "pi", "e", "True", "None", "...", "'s'", "xx", "1j",
                            "[1, 2]", "[x]", "()", "__class__"])


def expressions():
    """Random expressions over a grammar with accepted and refused constructs mixed."""
    def extend(inner):
        pair = st.tuples(inner, inner)
        return st.one_of(
            pair.map(lambda p: f"({p[0]} + {p[1]})"),
            st.tuples(inner, st.sampled_from(["*", "/", "**", "@", "//", "<", "and", "if x else", "=="]), inner)
            .map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            st.tuples(st.sampled_from(["exp", "sum", "where", "concat", "sigmoidd", "x", "getitem"]),
                      st.lists(inner, max_size=3),
                      st.sampled_from(["", ", axis=0", ", keepdims=True", ", axis=x", ", foo=1"]))
            .map(lambda t: f"{t[0]}({', '.join(t[1])}{t[2]})"),
            inner.map(lambda a: f"-{a}"),
            inner.map(lambda a: f"not {a}"),
            st.tuples(inner, st.sampled_from(["[0]", "[1:2]", "[None, ...]", "[x]", ".T", ".exp", "[::-1]"]))
            .map(lambda t: f"{t[0]}{t[1]}"),
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"),
            inner.map(lambda a: f"lambda: {a}"),
        )
    return st.recursive(atoms(), extend, max_leaves=12)


def parses_or_case_error(text: str) -> None:
    g, names = fresh_graph()
    try:
        out = parse_expression(text, g, names, origin=ORIGIN)
    except CaseError as err:
        assert err.file == "f.yaml" and err.line is not None and err.col is not None
        assert "\n" not in str(err)
        return
    assert 0 <= out < len(g)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=EXPRESSION_CHARS, max_size=40))
def test_random_text_gives_a_graph_or_a_case_error(text):
    parses_or_case_error(text)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=30))
def test_random_unicode_gives_a_graph_or_a_case_error(text):
    parses_or_case_error(text)


@settings(max_examples=300, deadline=None)
@given(expressions())
def test_random_expressions_give_a_graph_or_a_case_error(text):
    parses_or_case_error(text)
