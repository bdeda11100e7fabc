"""Fuzzing the expression parser and the loader: the only exception is a located CaseError.

* random byte strings (read as Latin-1, and as UTF-8 with lone surrogates for the bytes
  that are not UTF-8) and random Python syntax trees of every kind of expression node,
  unparsed with :func:`ast.unparse`, fed to :func:`gradcheck_suite.expr.parse_expression`;
* random bytes as case files and random YAML documents (a case's structure with random
  keys and values) fed to the loader.
"""
from __future__ import annotations

import ast
import math

import yaml
from hypothesis import assume, given, strategies as st

from gradcheck_suite.errors import CaseError
from gradcheck_suite.expr import Origin, parse_expression
from gradcheck_suite.graph import Graph
from gradcheck_suite.loader import CASE_KEYS, GENERATOR_KEYS, load_file, load_text
from gradcheck_suite.ops import registry
from tests.robustness.fuzz import examples

ORIGIN = Origin(file="fuzz.yaml", case="fuzz", step="y", line=7, col=6)


def _graph() -> tuple[Graph, dict[str, int]]:
    graph = Graph()
    names = {}
    for name in ("x", "y", "M"):
        names[name] = graph.add("input", name=name, line=3, col=0, source=name).id
    return graph, names


def _parse_or_located_error(text: str) -> None:
    """Parse ``text``; a refusal must be a CaseError at a position inside the file, graph untouched."""
    graph, names = _graph()
    before = len(graph.nodes)
    try:
        parse_expression(text, graph, names, origin=ORIGIN)
    except CaseError as err:
        assert err.file == "fuzz.yaml" and (err.case, err.step) == ("fuzz", "y")
        assert err.line is not None and err.line >= ORIGIN.line, str(err)
        assert err.col is not None and err.col >= 1, str(err)
        assert str(err).startswith(f"fuzz.yaml:{err.line}:{err.col}: case 'fuzz', step 'y': ")
        assert "\n" not in err.message
        assert len(graph.nodes) == before
    else:
        assert len(graph.nodes) >= before


# ---- bytes ----------------------------------------------------------------------------


@examples(200)
@given(st.binary(max_size=200))
def test_random_bytes_as_latin1_text(data):
    _parse_or_located_error(data.decode("latin-1"))


@examples(200)
@given(st.binary(max_size=200))
def test_random_bytes_with_lone_surrogates(data):
    _parse_or_located_error(data.decode("utf-8", "surrogateescape"))


# ---- syntax trees of every kind -------------------------------------------------------

_NAMES = ["x", "y", "M", "pi", "e", "z", "sin", "exp", "where", "sum", "__import__", "os", "True", "None",
          "__builtins__", "eval", "print", "lambda_"]
_ATTRS = ["T", "real", "sum", "exp", "__class__", "__globals__", "shape"]
_BINOPS = [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult, ast.FloorDiv, ast.Mod, ast.LShift,
           ast.RShift, ast.BitOr, ast.BitAnd, ast.BitXor]
_UNARY = [ast.USub, ast.UAdd, ast.Not, ast.Invert]
_COMPARE = [ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In, ast.NotIn]
_CONSTANTS = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=False), st.text(max_size=5),
                       st.binary(max_size=3), st.booleans(), st.none(), st.just(...),
                       st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=1e6))
_CALLEES = st.sampled_from(list(registry.names()) + _NAMES)


def _name(ctx=None):
    return st.sampled_from(_NAMES).map(lambda n: ast.Name(id=n, ctx=ctx or ast.Load()))


def _leaf():
    return st.one_of(_name(), _CONSTANTS.map(lambda v: ast.Constant(value=v)))


def _comprehension(kind, e):
    gen = st.builds(lambda it, ifs: ast.comprehension(target=ast.Name(id="v", ctx=ast.Store()), iter=it,
                                                      ifs=ifs, is_async=0),
                    e, st.lists(e, max_size=1))
    if kind is ast.DictComp:
        return st.builds(lambda k, v, g: ast.DictComp(key=k, value=v, generators=[g]), e, e, gen)
    return st.builds(lambda elt, g: kind(elt=elt, generators=[g]), e, gen)


def _branches(e):
    exprs = st.lists(e, min_size=1, max_size=3)
    keyword = st.builds(ast.keyword, arg=st.sampled_from(["axis", "keepdims", "x", "bogus", None]), value=e)
    slice_ = st.builds(ast.Slice, lower=st.none() | e, upper=st.none() | e, step=st.none() | e)
    arguments = ast.arguments(posonlyargs=[], args=[ast.arg(arg="v")], kwonlyargs=[], kw_defaults=[],
                              defaults=[])
    return st.one_of(
        st.builds(ast.BinOp, left=e, op=st.sampled_from(_BINOPS).map(lambda k: k()), right=e),
        st.builds(ast.UnaryOp, op=st.sampled_from(_UNARY).map(lambda k: k()), operand=e),
        st.builds(ast.BoolOp, op=st.sampled_from([ast.And(), ast.Or()]), values=st.lists(e, min_size=2, max_size=3)),
        st.builds(lambda left, pairs: ast.Compare(left=left, ops=[k() for k, _ in pairs],
                                                  comparators=[c for _, c in pairs]),
                  e, st.lists(st.tuples(st.sampled_from(_COMPARE), e), min_size=1, max_size=3)),
        st.builds(ast.Call, func=_CALLEES.map(lambda n: ast.Name(id=n, ctx=ast.Load())) | e,
                  args=st.lists(e, max_size=3), keywords=st.lists(keyword, max_size=2)),
        st.builds(ast.Attribute, value=e, attr=st.sampled_from(_ATTRS), ctx=st.just(ast.Load())),
        st.builds(ast.Subscript, value=e, slice=e | slice_ | st.builds(ast.Tuple, elts=st.lists(e | slice_, max_size=3),
                                                                      ctx=st.just(ast.Load())),
                  ctx=st.just(ast.Load())),
        st.builds(ast.Starred, value=e, ctx=st.just(ast.Load())),
        st.builds(ast.List, elts=st.lists(e, max_size=3), ctx=st.just(ast.Load())),
        st.builds(ast.Tuple, elts=st.lists(e, max_size=3), ctx=st.just(ast.Load())),
        st.builds(ast.Set, elts=exprs),
        st.builds(lambda kv: ast.Dict(keys=[k for k, _ in kv], values=[v for _, v in kv]),
                  st.lists(st.tuples(e, e), max_size=2)),
        *(_comprehension(k, e) for k in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)),
        st.builds(lambda body: ast.Lambda(args=arguments, body=body), e),
        st.builds(ast.IfExp, test=e, body=e, orelse=e),
        st.builds(lambda v: ast.NamedExpr(target=ast.Name(id="z", ctx=ast.Store()), value=v), e),
        st.builds(lambda s, v: ast.JoinedStr(values=[ast.Constant(value=s),
                                                     ast.FormattedValue(value=v, conversion=-1, format_spec=None)]),
                  st.text(max_size=3), e),
        st.builds(ast.Await, value=e),
        st.builds(ast.Yield, value=st.none() | e),
        st.builds(ast.YieldFrom, value=e),
    )


EXPRESSIONS = st.recursive(_leaf(), _branches, max_leaves=12)


@examples(300)
@given(EXPRESSIONS)
def test_random_syntax_trees(tree):
    try:
        text = ast.unparse(ast.fix_missing_locations(tree))
    except (ValueError, TypeError, AttributeError, RecursionError):  # a tree unparse cannot write
        assume(False)
    _parse_or_located_error(text)


@examples(100)
@given(EXPRESSIONS, st.sampled_from(["{}", "({})", "{}\n", "\n  {}", "# c\n{}", "{} # c"]))
def test_random_syntax_trees_in_layouts(tree, layout):
    try:
        text = ast.unparse(ast.fix_missing_locations(tree))
    except (ValueError, TypeError, AttributeError, RecursionError):
        assume(False)
    _parse_or_located_error(layout.format(text))


# ---- the loader -----------------------------------------------------------------------


def _located(errors, file: str) -> None:
    for err in errors:
        assert isinstance(err, CaseError), repr(err)
        assert err.file == file
        assert str(err).startswith(file + ":")
        assert "\n" not in str(err)


@examples(150)
@given(st.binary(max_size=300))
def test_random_bytes_as_case_files(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "case.yaml"
    path.write_bytes(data)
    cases, errors = load_file(path)
    _located(errors, str(path))
    assert len(cases) + len(errors) >= 1


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(),
                     st.text(max_size=8), st.sampled_from(["sin(x)", "x @ x", "sum(x)", "-inf", ".nan", "y"]))
_VALUES = st.recursive(_SCALARS, lambda v: st.lists(v, max_size=4) | st.dictionaries(st.text(max_size=6), v,
                                                                                        max_size=3),
                       max_leaves=10)
_KEYS = st.sampled_from(CASE_KEYS + ("cases", "input", "step", "expr_", "nmae")) | st.text(max_size=6)
_GENERATOR = st.dictionaries(st.sampled_from(GENERATOR_KEYS + ("sead", "size")),
                             st.one_of(_VALUES, st.lists(st.integers(-3, 5), max_size=3)), max_size=5)
_INPUT_VALUES = st.one_of(st.floats(), st.lists(st.floats(-5, 5), min_size=1, max_size=4), _GENERATOR, _VALUES)


@st.composite
def case_documents(draw):
    """A case's structure with random changes: values of the wrong kind, unknown keys, odd numbers."""
    doc = {"name": draw(st.sampled_from(["ok", "a.b-c", "1", "bad name", ""]) | st.text(max_size=6)),
           "inputs": draw(st.dictionaries(st.sampled_from(["x", "y", "w", "1x", "__x", "if"]) | st.text(max_size=4),
                                          _INPUT_VALUES, max_size=3)),
           "expr": draw(st.sampled_from(["sum(x)", "sin(x) * y", "x @ w", "sum(x ** 2)", "", "x +"]) | st.text(max_size=10))}
    for key in draw(st.lists(_KEYS, max_size=4)):
        doc[key] = draw(_VALUES)
    for key in draw(st.lists(st.sampled_from(list(doc)), max_size=2)):
        doc.pop(key, None)
    return doc


@examples(200)
@given(case_documents(), st.booleans(), st.booleans())
def test_random_yaml_documents_give_cases_or_located_errors(doc, flow, wrap):
    data = {"cases": [doc, {"name": "fine", "inputs": {"x": 1.5}, "expr": "sin(x)"}]} if wrap else doc
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True, sort_keys=False)
    cases, errors = load_text(text, "doc.yaml")
    _located(errors, "doc.yaml")
    for err in errors:
        if err.message.startswith("the file is empty"):
            continue
        assert err.line is not None, str(err)
    for case in cases:
        assert all(math.isfinite(v) for s in case.inputs.values() if s.literal is not None
                   for v in ([s.literal] if isinstance(s.literal, float) else _flat(s.literal)))
    if wrap:  # one bad case never stops the good one beside it
        assert "fine" in [c.name for c in cases] or any("duplicate" in e.message or e.case is None for e in errors)


def _flat(value):
    if isinstance(value, list):
        for v in value:
            yield from _flat(v)
    else:
        yield value
