"""The expression language: case-file text → nodes of an expression graph.

An expression is Python expression syntax, parsed with :func:`ast.parse` and walked
through a whitelist.  Nothing is ever evaluated, executed or compiled to code: every
accepted construct becomes a node of a :class:`~gradcheck_suite.graph.Graph`, anything
else is a :class:`~gradcheck_suite.errors.CaseError` that names the file, the case, the
step, the line and the column.

What is accepted (``docs/case-format.md`` is the user's version of this list):

* ``+ - * / ** @`` → add, sub, mul, div, pow, matmul; unary ``-``/``+`` → neg, pos;
* calls of registered primitives, looked up in the registry at parse time: the first
  ``len(args)`` positionals are tensor arguments, further positionals fill the
  parameters in declaration order, keywords name either; parameters are literals;
  variadic primitives (concat, stack) take a list or tuple of expressions first;
* comparisons ``< <= > >= == !=`` → less, less_equal, greater, greater_equal, equal,
  not_equal, only as the condition (first argument) of ``where(...)``;
* numbers, lists of numbers (array literals), ``pi`` and ``e`` → ``literal`` nodes;
* subscripts with literal ints, slices, ``None``, ``...`` or tuples of these → getitem;
* ``.T`` → transpose with ``axes=None``;
* names of inputs, constants and earlier steps (no new node: the name's node is reused).

Node names: the node that ends step ``s`` is named ``s``; the other nodes made for it
are ``s.1``, ``s.2``, … in evaluation order; literal nodes are named by their source
text.  The walk uses an explicit stack, so long expressions never meet Python's
recursion limit; :class:`Limits` bounds length and nesting with a clear
:class:`~gradcheck_suite.errors.LimitError`.
"""
from __future__ import annotations

import ast
import math
import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Collection, Mapping

from .case import MAX_DIMENSIONS
from .errors import CaseError, LimitError, suggest
from .graph import Graph
from .ops import registry
from .untrusted import UNSAFE_CHARACTERS

__all__ = [
    "Limits",
    "DEFAULT_LIMITS",
    "Origin",
    "NAMED_CONSTANTS",
    "BINARY_OPERATORS",
    "UNARY_OPERATORS",
    "COMPARISONS",
    "parse_expression",
]


@dataclass(frozen=True)
class Limits:
    """Bounds on one expression; beyond them parsing stops with a LimitError.

    ``max_length`` counts characters; ``max_depth`` is the nesting depth of the
    expression tree (a sum of n terms is n − 1 levels deep, so a 900-term sum fits the
    default); ``max_brackets`` is how deep brackets may nest (Python's own parser stops
    at 200).
    """

    max_length: int = 20_000
    max_depth: int = 1_000
    max_brackets: int = 100


DEFAULT_LIMITS = Limits()

#: names that mean a number wherever a value is expected
NAMED_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

#: binary operator → primitive
BINARY_OPERATORS: dict[type, tuple[str, str]] = {
    ast.Add: ("+", "add"),
    ast.Sub: ("-", "sub"),
    ast.Mult: ("*", "mul"),
    ast.Div: ("/", "div"),
    ast.Pow: ("**", "pow"),
    ast.MatMult: ("@", "matmul"),
}

#: unary operator → primitive
UNARY_OPERATORS: dict[type, tuple[str, str]] = {
    ast.USub: ("-", "neg"),
    ast.UAdd: ("+", "pos"),
}

#: comparison operator → primitive (only as the condition of where)
COMPARISONS: dict[type, tuple[str, str]] = {
    ast.Lt: ("<", "less"),
    ast.LtE: ("<=", "less_equal"),
    ast.Gt: (">", "greater"),
    ast.GtE: (">=", "greater_equal"),
    ast.Eq: ("==", "equal"),
    ast.NotEq: ("!=", "not_equal"),
}

#: characters refused anywhere in an expression (controls, invisible and bidi characters, surrogates)
CONTROL_CHARACTERS = UNSAFE_CHARACTERS
#: a line break with the blanks around it (a sub-expression's source is kept on one line)
_LINE_BREAK = re.compile(r"[ \t]*\n\s*")
#: the characters the bracket check of an expression looks at
_BRACKET_SCAN = re.compile(r"[()\[\]{}'\"#\n]")

#: the largest finite float: a larger integer literal is the case's mistake, not a primitive's
_FLOAT_MAX = 1.7976931348623157e308

_OTHER_OPERATORS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Invert: "~",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}

# constructs refused with a sentence of their own (everything else gets a generic one)
_REFUSED: dict[type, str] = {
    ast.Lambda: "lambda expressions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions (generator expressions) are not allowed",
    ast.BoolOp: "boolean operators (and, or, not) are not allowed; use where(condition, a, b)",
    ast.JoinedStr: "f-strings are not allowed: an expression holds no text",
    ast.FormattedValue: "f-strings are not allowed: an expression holds no text",
    ast.Starred: "starred arguments (*x) are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed; give the value its own step",
    ast.IfExp: "conditional expressions (a if c else b) are not allowed; use where(c, a, b)",
    ast.Dict: "dict literals are not allowed",
    ast.Set: "set literals are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Slice: "a slice is only allowed inside [ ]",
}


@dataclass(frozen=True)
class Origin:
    """Where an expression's text sits: file, case, step (or key) and position.

    ``line``/``col`` (1-based) are those of the expression's first character.  For a
    YAML block scalar (``|``) ``block_indent`` is the indentation of its lines: line k
    of the expression is then line ``line + k`` of the file, shifted by the indent.
    """

    file: str | None = None
    case: str | None = None
    step: str | None = None
    key: str | None = None
    line: int = 1
    col: int = 1
    block_indent: int | None = None

    @property
    def label(self) -> str:
        """The name the nodes of this expression are named after."""
        return self.step or self.key or "expr"

    def locate(self, k: int, c: int) -> tuple[int, int]:
        """File position of character ``c`` (0-based) on line ``k`` (0-based) of the text."""
        if self.block_indent is not None:
            return self.line + k, self.block_indent + c + 1
        if k == 0:
            return self.line, self.col + c
        return self.line + k, c + 1  # a folded multi-line scalar: best effort

    def error(self, message: str, k: int = 0, c: int = 0, *, kind: type[CaseError] = CaseError) -> CaseError:
        line, col = self.locate(k, c)
        return kind(message, file=self.file, line=line, col=col, case=self.case,
                    step=self.step, key=self.key)


# a node under construction: its AST, its nesting depth, whether it may be a comparison
_Visit = tuple[ast.AST, int, bool]
_Finish = Callable[[list[int]], int]


def parse_expression(text: str, graph: Graph, names: Mapping[str, int], *, origin: Origin = Origin(),
                     limits: Limits = DEFAULT_LIMITS, later: Collection[str] = ()) -> int:
    """Parse ``text`` and append its nodes to ``graph``; return the id of its result node.

    ``names`` maps every name the expression may use (inputs, constants, earlier
    steps) to its node id; ``later`` holds names defined after this expression (for a
    clearer error).  Raises :class:`CaseError` (or :class:`LimitError`) located by
    ``origin``; the graph is left unchanged on error.
    """
    builder = _Builder(text, graph, names, origin, limits, later)
    mark = len(graph.nodes)
    try:
        return builder.build()
    except CaseError:
        del graph.nodes[mark:]
        raise


class _Builder:
    """One expression's walk: an explicit stack of visits and finishes, no recursion."""

    def __init__(self, text: str, graph: Graph, names: Mapping[str, int], origin: Origin,
                 limits: Limits, later: Collection[str]) -> None:
        self.text = text
        self.graph = graph
        self.names = names
        self.origin = origin
        self.limits = limits
        self.later = set(later)
        self.lines = text.split("\n")
        self.wrapped = "(\n" + text + "\n)"
        self.wrapped_lines = self.wrapped.split("\n")
        self.line_starts = [0]
        for line in self.wrapped_lines[:-1]:
            self.line_starts.append(self.line_starts[-1] + len(line) + 1)
        self.count = 0
        self.root: ast.AST | None = None
        # one ASCII line (most expressions): an AST position on line 2 of the wrapped text is then
        # the index of a character of ``text``, and its file position is a sum (see _add, _source)
        self.one_line = "\n" not in text and text.isascii()
        self.line0, self.col0 = origin.locate(0, 0)

    # ---- locations ------------------------------------------------------------

    def _error(self, message: str, node: ast.AST | None = None, *,
               kind: type[CaseError] = CaseError) -> CaseError:
        if node is None or not hasattr(node, "lineno"):
            return self.origin.error(message, kind=kind)
        return self._error_at(message, node.lineno, node.col_offset, kind=kind, in_bytes=True)

    def _error_at(self, message: str, lineno: int, offset: int, *, kind: type[CaseError] = CaseError,
                  in_bytes: bool = False) -> CaseError:
        k, c = self._text_position(lineno, offset, in_bytes)
        return self.origin.error(message, k, c, kind=kind)

    def _text_position(self, lineno: int, offset: int, in_bytes: bool) -> tuple[int, int]:
        """(line, char) in the user's text of a position in the wrapped text."""
        k = lineno - 2  # line 1 of the wrapped text is the added "("
        if k < 0:
            return 0, 0
        if k >= len(self.lines):
            return len(self.lines) - 1, len(self.lines[-1])
        line = self.lines[k]
        if in_bytes and not line.isascii():
            offset = len(line.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore"))
        return k, max(0, min(offset, len(line)))

    def _char(self, lineno: int, offset: int) -> int:
        """Character offset in the wrapped text of an AST position (``offset`` in UTF-8 bytes)."""
        line = self.wrapped_lines[lineno - 1]
        if not line.isascii():
            offset = len(line.encode("utf-8")[:offset].decode("utf-8", "ignore"))
        return self.line_starts[lineno - 1] + offset

    def _source(self, node: ast.AST) -> str:
        """The text of a sub-expression (like ast.get_source_segment, without its per-call scan)."""
        if self.one_line and node.lineno == 2 and getattr(node, "end_lineno", None) == 2:
            return self.text[node.col_offset:node.end_col_offset]
        if getattr(node, "end_lineno", None) is None:
            return ""
        text = self.wrapped[self._char(node.lineno, node.col_offset):
                            self._char(node.end_lineno, node.end_col_offset)]
        return _LINE_BREAK.sub(" ", text) if "\n" in text else text  # messages quote it on one line

    # ---- entry ----------------------------------------------------------------

    def build(self) -> int:
        self._check_text()
        tree = self._parse()
        self._refuse_dunders(tree)
        self.root = tree.body
        return self._walk(tree.body)

    def _refuse_dunders(self, tree: ast.AST) -> None:
        """Name the first ``__dunder__`` of the text, wherever it sits.

        The walk meets the outermost construct first, so ``__import__('os').system('ls')``
        would be refused as a method call; the dunder is what the reader must be told about.
        (:func:`ast.walk` is iterative: no recursion limit.)
        """
        if "__" not in self.text and self.text.isascii():  # (the parser folds other characters to '_' too)
            return
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id.startswith("__"):
                found.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, node.id))
            elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
                # located where `value.__attr` starts; of x.__a.__b the inner (shorter) one is first
                found.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, node.attr))
        if found:
            lineno, offset, _, _, name = min(found)
            raise self._error_at(f"dunder names such as {name!r} are not allowed", lineno, offset, in_bytes=True)

    def _check_text(self) -> None:
        text, limits = self.text, self.limits
        if not text.strip():
            raise self.origin.error("empty expression")
        if len(text) > limits.max_length:
            raise self.origin.error(
                f"expression is {len(text):,} characters long; the limit is {limits.max_length:,} "
                "(split it into several steps)", kind=LimitError)
        # control characters (even in a comment) would reach terminals and reports through
        # messages that quote the text: ESC sequences, carriage returns, bidi overrides
        bad = CONTROL_CHARACTERS.search(text)  # (never a line break: the first hit is the first line's)
        if bad:
            k = text.count("\n", 0, bad.start())
            c = bad.start() - (text.rfind("\n", 0, bad.start()) + 1)
            raise self.origin.error(f"control character U+{ord(bad.group()):04X} is not allowed in an "
                                    "expression", k, c)
        # brackets: balanced, and not nested beyond the limit (Python's parser gives up at 200); only
        # the characters that matter are visited: brackets, quotes, '#' and line breaks
        opened: list[tuple[str, int, int]] = []
        quote = ""
        comment = False
        k = start = 0
        for m in _BRACKET_SCAN.finditer(text):
            ch, at = m.group(), m.start()
            if ch == "\n":
                k, start, comment = k + 1, at + 1, False
            elif comment:
                continue
            elif quote:
                if ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch == "#":
                comment = True
            elif ch in "([{":
                opened.append((ch, k, at - start))
                if len(opened) > limits.max_brackets:
                    raise self.origin.error(
                        f"brackets nest more than {limits.max_brackets} deep; "
                        "split the expression into several steps", k, at - start, kind=LimitError)
            else:
                if not opened or "([{".index(opened[-1][0]) != ")]}".index(ch):
                    raise self.origin.error(f"unmatched {ch!r}", k, at - start)
                opened.pop()
        if opened:
            ch, k, c = opened[-1]
            raise self.origin.error(f"{ch!r} is never closed", k, c)

    def _parse(self) -> ast.Expression:
        try:
            with warnings.catch_warnings():  # e.g. "invalid escape sequence" in a refused string
                warnings.simplefilter("ignore")
                return ast.parse(self.wrapped, mode="eval")
        except SyntaxError as exc:
            message = (exc.msg or "invalid syntax").split("\n")[0]
            if not message.startswith("invalid syntax"):
                message = f"invalid syntax: {message}"
            raise self._error_at(message, exc.lineno or 0, (exc.offset or 1) - 1) from None
        except (RecursionError, MemoryError):
            raise self.origin.error(
                "expression is nested too deeply for Python's parser (a chain of about 2,000 operators "
                f"or more); the limit is {self.limits.max_depth:,} levels: split it into several steps",
                kind=LimitError) from None
        except ValueError as exc:  # null bytes, unencodable characters
            raise self.origin.error(f"unreadable expression: {exc}") from None

    def _walk(self, root: ast.AST) -> int:
        """Post-order over the tensor sub-expressions with an explicit stack.

        The stack holds visits ``(node, depth, compare_ok)`` and finishes ``(finish, n)``: a finish
        builds its node from the ids of its ``n`` children, the last ``n`` results."""
        results: list[int] = []
        stack: list[tuple] = [(root, 1, False)]
        max_depth = self.limits.max_depth
        while stack:
            item = stack.pop()
            if len(item) == 2:  # a finish
                finish, n = item
                args = results[-n:]
                del results[-n:]
                results.append(finish(args))
                continue
            node, depth, compare_ok = item
            if depth > max_depth:
                raise self._error(
                    f"expression nests deeper than {max_depth:,} levels (each operator, call "
                    "or subscript is one level; a sum of n terms is n − 1 levels): split it into steps",
                    node, kind=LimitError)
            children, finish = self._plan(node, compare_ok)
            if not children:  # a leaf of the walk: built at once, as its finish would be next
                results.append(finish([]))
                continue
            stack.append((finish, len(children)))
            depth += 1
            for child, child_compare_ok in reversed(children):
                stack.append((child, depth, child_compare_ok))
        return results[0]

    # ---- making nodes ---------------------------------------------------------

    def _new(self, op: str, args: list[int], params: dict[str, Any], node: ast.AST) -> int:
        if node is self.root:
            name = self.origin.label
        else:
            self.count += 1
            name = f"{self.origin.label}.{self.count}"
        return self._add(op, args, params, node, name)

    def _literal(self, value: Any, node: ast.AST) -> int:
        name = self.origin.label if node is self.root else self._source(node)
        return self._add("literal", [], {}, node, name, value=value)

    def _add(self, op: str, args: list[int], params: dict[str, Any], node: ast.AST, name: str,
             value: Any = None) -> int:
        if self.one_line and node.lineno == 2:
            line, col = self.line0, self.col0 + min(node.col_offset, len(self.text))
        else:
            k, c = self._text_position(node.lineno, node.col_offset, True)
            line, col = self.origin.locate(k, c)
        created = self.graph.add(op, tuple(args), params=params, name=name, step=self.origin.label,
                                 source=self._source(node), line=line, col=col, value=value)
        return created.id

    def _primitive(self, name: str, node: ast.AST) -> registry.Primitive:
        prim = registry.lookup(name)
        if prim is None:
            raise self._error(f"primitive {name!r} is not registered", node)
        return prim

    # ---- the whitelist --------------------------------------------------------

    def _plan(self, node: ast.AST, compare_ok: bool) -> tuple[list[tuple[ast.AST, bool]], _Finish]:
        """Check one node; return its tensor children and how to build it from their ids."""
        if isinstance(node, ast.BinOp):
            return self._plan_binop(node)
        if isinstance(node, ast.UnaryOp):
            return self._plan_unary(node)
        if isinstance(node, ast.Compare):
            return self._plan_compare(node, compare_ok)
        if isinstance(node, ast.Call):
            return self._plan_call(node)
        if isinstance(node, ast.Name):
            return [], self._finish_name(node)
        if isinstance(node, ast.Constant):
            value = self._number(node, "a value")
            return [], lambda _: self._literal(value, node)
        if isinstance(node, ast.List):
            value = self._array_literal(node)
            return [], lambda _: self._literal(value, node)
        if isinstance(node, ast.Subscript):
            index = self._index(node.slice)
            return [(node.value, False)], lambda a: self._new("getitem", a, {"index": index}, node)
        if isinstance(node, ast.Attribute):
            return self._plan_attribute(node)
        if isinstance(node, ast.Tuple):
            raise self._error("a tuple is not a value; write an array literal with [ ] "
                              "(tuples are for parameters such as axis=(0, 1))", node)
        raise self._error(self._refusal(node), node)

    def _refusal(self, node: ast.AST) -> str:
        for kind, message in _REFUSED.items():
            if isinstance(node, kind):
                return message
        return f"{type(node).__name__} is not allowed in an expression"

    def _plan_binop(self, node: ast.BinOp):
        entry = BINARY_OPERATORS.get(type(node.op))
        if entry is None:
            symbol = _OTHER_OPERATORS.get(type(node.op), type(node.op).__name__)
            raise self._error(f"operator {symbol!r} is not supported "
                              "(the operators are + - * / ** @)", node)
        prim = self._primitive(entry[1], node)
        return [(node.left, False), (node.right, False)], lambda a: self._new(prim.name, a, {}, node)

    def _plan_unary(self, node: ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            raise self._error(_REFUSED[ast.BoolOp], node)
        entry = UNARY_OPERATORS.get(type(node.op))
        if entry is None:
            symbol = _OTHER_OPERATORS.get(type(node.op), type(node.op).__name__)
            raise self._error(f"operator {symbol!r} is not supported "
                              "(the unary operators are - and +)", node)
        if _is_number(node.operand):  # -2.5 is one literal, not neg(2.5)
            value = self._signed_number(node)
            return [], lambda _: self._literal(value, node)
        prim = self._primitive(entry[1], node)
        return [(node.operand, False)], lambda a: self._new(prim.name, a, {}, node)

    def _plan_compare(self, node: ast.Compare, compare_ok: bool):
        if not compare_ok:
            raise self._error("comparisons are only allowed as the condition of where(...), "
                              "e.g. where(x > 0, x, 0)", node)
        if len(node.ops) != 1:
            raise self._error("chained comparisons (a < b < c) are not allowed; "
                              "compare two values at a time", node)
        entry = COMPARISONS.get(type(node.ops[0]))
        if entry is None:
            symbol = _OTHER_OPERATORS.get(type(node.ops[0]), type(node.ops[0]).__name__)
            raise self._error(f"comparison {symbol!r} is not supported (use < <= > >= == !=)", node)
        prim = self._primitive(entry[1], node)
        return ([(node.left, False), (node.comparators[0], False)],
                lambda a: self._new(prim.name, a, {}, node))

    def _plan_attribute(self, node: ast.Attribute):
        if node.attr.startswith("__"):
            raise self._error(f"dunder names such as {node.attr!r} are not allowed", node)
        if node.attr != "T":
            hint = f"; write {node.attr}(...)" if registry.lookup(node.attr) else ""
            raise self._error(f"attribute '.{node.attr}' is not allowed (only '.T' is){hint}", node)
        prim = self._primitive("transpose", node)
        return [(node.value, False)], lambda a: self._new(prim.name, a, {"axes": None}, node)

    def _finish_name(self, node: ast.Name) -> _Finish:
        name = node.id
        if name.startswith("__"):
            raise self._error(f"dunder names such as {name!r} are not allowed", node)
        if name in self.names:
            node_id = self.names[name]
            return lambda _: node_id
        if name in self.later:
            raise self._error(f"{name!r} is used before the step that defines it", node)
        if name in NAMED_CONSTANTS:  # a case's own name takes precedence over pi and e
            value = NAMED_CONSTANTS[name]
            return lambda _: self._literal(value, node)
        if name in ("True", "False", "None"):
            raise self._error(f"{name} is only allowed as a parameter value (e.g. keepdims=True)", node)
        if registry.lookup(name) is not None:
            raise self._error(f"{name!r} is a primitive; call it: {name}(...)", node)
        known = list(self.names) + list(NAMED_CONSTANTS)
        raise self._error(f"unknown name {name!r}{suggest(name, known)}", node)

    # ---- calls ----------------------------------------------------------------

    def _plan_call(self, node: ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Attribute) and not func.attr.startswith("__"):
                hint = f"; write {func.attr}(...) with the value as its first argument" \
                    if registry.lookup(func.attr) else ""
                raise self._error(f"method calls such as '.{func.attr}(...)' are not allowed{hint}", node)
            if isinstance(func, ast.Attribute):
                raise self._error(f"dunder names such as {func.attr!r} are not allowed", func)
            if isinstance(func, tuple(_REFUSED)):  # (lambda v: ...)(x): the lambda is the news
                raise self._error(self._refusal(func), func)
            raise self._error("only a primitive can be called, by its name (e.g. exp(x))", node)
        name = func.id
        if name.startswith("__"):
            raise self._error(f"dunder names such as {name!r} are not allowed", func)
        prim = registry.lookup(name)
        if prim is None:
            if name in self.names:
                raise self._error(f"{name!r} is a value, not a primitive; only primitives can be called",
                                  func)
            raise self._error(f"unknown primitive {name!r}{suggest(name, registry.names())}", func)
        return self._bind(prim, node)

    def _bind(self, prim: registry.Primitive, node: ast.Call):
        """Match a call's arguments to the primitive's tensor arguments and parameters."""
        slots = list(prim.args) + list(prim.params)
        bound: dict[str, ast.AST] = {}
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self._error(_REFUSED[ast.Starred], arg)
        if len(node.args) > len(slots):
            raise self._error(f"{prim.name}() takes at most {len(slots)} positional argument"
                              f"{'s' if len(slots) != 1 else ''} ({', '.join(slots)}); "
                              f"got {len(node.args)}", node)
        for slot, arg in zip(slots, node.args):
            bound[slot] = arg
        for kw in node.keywords:
            if kw.arg is None:
                raise self._error("'**' arguments are not allowed", kw.value)
            if kw.arg not in slots:
                raise self._error(f"{prim.name}() has no argument {kw.arg!r}{suggest(kw.arg, slots)}",
                                  kw.value)
            if kw.arg in bound:
                raise self._error(f"{prim.name}() got argument {kw.arg!r} twice", kw.value)
            bound[kw.arg] = kw.value
        missing = [a for a in prim.args if a not in bound]
        if missing:
            raise self._error(f"{prim.name}() is missing argument {missing[0]!r} "
                              f"(signature: {prim.signature()})", node)
        params = {p: self._param(prim, p, bound[p]) for p in prim.params if p in bound}
        if prim.variadic:
            items = bound[prim.args[0]]
            if not isinstance(items, (ast.List, ast.Tuple)) or not items.elts:
                raise self._error(f"{prim.name}() takes a list of expressions as its first argument, "
                                  f"e.g. {prim.name}([a, b], axis=0)", items)
            children = [(e, False) for e in items.elts]
        else:
            children = [(bound[a], prim.name == "where" and i == 0) for i, a in enumerate(prim.args)]
        return children, lambda a: self._new(prim.name, a, params, node)

    def _param(self, prim: registry.Primitive, name: str, node: ast.AST) -> Any:
        """A parameter value: a number, True/False/None, a tuple/list of ints, or a string
        where the primitive declares a string parameter (einsum's subscripts): data, never run."""
        what = f"parameter {name!r} of {prim.name}()"
        if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, bool)):
            return node.value
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and isinstance(prim.params.get(name), str):
            return node.value
        if _is_number(node) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
                                and _is_number(node.operand)):
            return self._signed_number(node) if isinstance(node, ast.UnaryOp) else self._number(node, what)
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self._int(e, what) for e in node.elts)
        raise self._error(f"{what} must be a literal: a number, True, False, None or a tuple of ints", node)

    # ---- literals -------------------------------------------------------------

    def _number(self, node: ast.AST, what: str) -> int | float:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or v is None:
                raise self._error(f"{v} is only allowed as a parameter value (e.g. keepdims=True)", node)
            if isinstance(v, int) and abs(v) > _FLOAT_MAX:
                raise self._error(f"the integer literal has {len(str(abs(v))):,} digits: beyond the range of a "
                                  "float (about 1.8e308); write a smaller number", node)
            if isinstance(v, (int, float)):
                return v
            if isinstance(v, complex):
                raise self._error("complex numbers are not supported", node)
            if isinstance(v, (str, bytes)):
                raise self._error("strings are not allowed in an expression", node)
            if v is Ellipsis:
                raise self._error("'...' is only allowed inside [ ]", node)
        raise self._error(f"{what} must be a number", node)

    def _signed_number(self, node: ast.UnaryOp) -> int | float:
        value = self._number(node.operand, "a value")
        return -value if isinstance(node.op, ast.USub) else value

    def _int(self, node: ast.AST, what: str) -> int:
        value: Any = None
        if isinstance(node, ast.Constant):
            value = node.value
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
                and isinstance(node.operand, ast.Constant):
            value = node.operand.value
            if isinstance(value, int) and not isinstance(value, bool) and isinstance(node.op, ast.USub):
                value = -value
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) >= 2**63:
                raise self._error(f"{what}: the integer {len(str(abs(value))):,} digits long is out of range", node)
            return value
        raise self._error(f"{what} must hold integer literals", node)

    def _array_literal(self, node: ast.List) -> list:
        """A rectangular nested list of numbers (its depth is bounded by the bracket limit)."""
        def convert(n: ast.AST, depth: int = 1) -> tuple[Any, tuple[int, ...]]:
            if isinstance(n, ast.List):
                if not n.elts:
                    raise self._error("an array literal cannot be empty", n)
                if depth > MAX_DIMENSIONS:
                    raise self._error(f"an array literal nests more than {MAX_DIMENSIONS} deep (the limit on "
                                      "dimensions)", n, kind=LimitError)
                items = [convert(e, depth + 1) for e in n.elts]
                shape = items[0][1]
                for e, (_, s) in zip(n.elts, items):
                    if s != shape:
                        raise self._error(f"array literal is not rectangular: an element of shape {s} "
                                          f"next to one of shape {shape}", e)
                return [v for v, _ in items], (len(items),) + shape
            if _is_number(n):
                return self._number(n, "an array element"), ()
            if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)) and _is_number(n.operand):
                return self._signed_number(n), ()
            raise self._error("an array literal holds only numbers; combine expressions with "
                              "stack([...]) or concat([...])", n)
        return convert(node)[0]

    def _index(self, node: ast.AST) -> Any:
        """A basic index: ints, slices with literal bounds, None, ..., or a tuple of these."""
        items = node.elts if isinstance(node, ast.Tuple) else [node]
        out = []
        for item in items:
            if isinstance(item, ast.Slice):
                bounds = []
                for part in (item.lower, item.upper, item.step):
                    if part is None or (isinstance(part, ast.Constant) and part.value is None):
                        bounds.append(None)
                    else:
                        bounds.append(self._index_int(part))
                out.append(slice(*bounds))
            elif isinstance(item, ast.Constant) and (item.value is None or item.value is Ellipsis):
                out.append(item.value)
            else:
                out.append(self._index_int(item))
        return tuple(out) if isinstance(node, ast.Tuple) else out[0]

    def _index_int(self, node: ast.AST) -> int:
        try:
            return self._int(node, "an index")
        except CaseError:
            raise self._error(f"indices must be integer literals, slices, None or ...; "
                              f"{self._source(node)!r} is not (tensor indices are not supported)",
                              node) from None


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex)) \
        and not isinstance(node.value, bool)
