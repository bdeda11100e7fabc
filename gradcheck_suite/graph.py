"""The expression graph: what a parsed case is, before any number is computed.

A :class:`Graph` is a list of :class:`Node` in topological order (every node's
arguments come before it).  Leaves are the case's inputs (differentiable), its
constants and literals found in expressions (not differentiable).  Every other node
applies one registered primitive.  The engine, the torch reference and the
finite-difference reference all evaluate this same object.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Hashable, Iterator, TypeVar

__all__ = ["Node", "Graph", "LEAF_OPS"]

#: ops of leaf nodes (nodes that apply no primitive)
LEAF_OPS = ("input", "constant", "literal")

T = TypeVar("T")


@dataclass
class Node:
    """One value of the computation.

    ``op`` is a primitive name or one of :data:`LEAF_OPS`; ``args`` are the ids of the
    argument nodes; ``params`` the static keyword parameters as written in the case
    (before normalisation); ``name`` a readable name (the step name for the node that
    ends a step, ``step.1``, ``step.2`` … for the nodes inside it); ``source`` the text
    of the sub-expression; ``line``/``col`` its position in the case file (1-based,
    0 when unknown).
    """

    id: int
    op: str
    args: tuple[int, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    step: str | None = None
    source: str = ""
    line: int = 0
    col: int = 0
    value: Any = None  # literal nodes only: the literal's value

    @property
    def is_leaf(self) -> bool:
        return self.op in LEAF_OPS

    @property
    def label(self) -> str:
        """How messages name this node: its source text, else its op."""
        return self.source or self.op


@dataclass
class Graph:
    """Nodes in topological order plus the names that matter to a case."""

    nodes: list[Node] = field(default_factory=list)
    inputs: dict[str, int] = field(default_factory=dict)
    constants: dict[str, int] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    output: int = -1

    def add(self, op: str, args: tuple[int, ...] = (), **kw: Any) -> Node:
        """Append a node and return it."""
        node = Node(id=len(self.nodes), op=op, args=tuple(args), **kw)
        self.nodes.append(node)
        return node

    def copy(self) -> "Graph":
        """A graph to extend: the same nodes (shared: a node is never changed once made, whoever
        needs another makes a new one) in a list and tables of its own."""
        return Graph(nodes=list(self.nodes), inputs=dict(self.inputs), constants=dict(self.constants),
                     steps=dict(self.steps), output=self.output)

    def tail(self, start: int) -> tuple["Graph", list[int]]:
        """The nodes from ``start`` on and the output, as a graph of their own: each earlier node
        they read (the output too, when it is one) becomes a ``constant`` leaf named ``#<id>``.
        Returns that graph and the ids of those earlier nodes, in order (their values are the
        leaves to evaluate it with).  How a claim of a case is evaluated without its case again."""
        read = sorted({a for node in self.nodes[start:] for a in node.args if a < start}
                      | ({self.output} if self.output < start else set()))
        new_id = {old: i for i, old in enumerate(read)}
        tail = Graph(nodes=[Node(id=i, op="constant", name=f"#{old}") for i, old in enumerate(read)])
        for node in self.nodes[start:]:
            new_id[node.id] = len(tail.nodes)
            tail.nodes.append(replace(node, id=new_id[node.id], args=tuple(new_id[a] for a in node.args)))
        tail.output = new_id[self.output]
        return tail, read

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, i: int) -> Node:
        return self.nodes[i]

    def consumers(self) -> list[list[int]]:
        """For every node, the ids of the nodes that use it (in order, repeats kept)."""
        users: list[list[int]] = [[] for _ in self.nodes]
        for node in self.nodes:
            for a in node.args:
                users[a].append(node.id)
        return users

    def derived(self, key: Hashable, upto: int, compute: Callable[[], T]) -> T:
        """``compute()`` of something that depends on nodes ``0 … upto`` alone (and on nothing that
        can change), made once per ``key`` and kept: the engine and the references ask for the same
        ancestors and paths at every evaluation of a point.

        Kept while node ``upto`` is the object it was made from: a graph's nodes only grow at the end
        or are cut back (the rollback of a failed expression), and a node is never changed once made,
        so nodes ``0 … upto`` are the same exactly while node ``upto`` is.  What is kept is shared:
        callers must not change it.  It is never pickled (see :meth:`__getstate__`)."""
        node = self.nodes[upto]
        memo = self.__dict__.setdefault("_derived", {})
        kept = memo.get(key)
        if kept is not None and kept[0] is node:
            return kept[1]
        value = compute()
        memo[key] = (node, value)
        return value

    def __getstate__(self) -> dict[str, Any]:
        """What pickling keeps (a case goes to a worker process): the fields, not what :meth:`derived` kept."""
        state = dict(self.__dict__)
        state.pop("_derived", None)
        return state

    def ancestors(self, node_id: int) -> frozenset[int]:
        """Ids of every node ``node_id`` depends on, itself included (iterative; kept, see :meth:`derived`)."""
        return self.derived(("ancestors", node_id), node_id, lambda: self._ancestors(node_id))

    def ancestor_nodes(self, node_id: int) -> tuple[Node, ...]:
        """The nodes ``node_id`` depends on, itself included, in the graph's (topological) order (kept)."""
        def compute() -> tuple[Node, ...]:
            needed = self.ancestors(node_id)
            return tuple(n for n in self.nodes[: node_id + 1] if n.id in needed)
        return self.derived(("ancestor_nodes", node_id), node_id, compute)

    def _ancestors(self, node_id: int) -> frozenset[int]:
        seen = {node_id}
        stack = [node_id]
        while stack:
            for a in self.nodes[stack.pop()].args:
                if a not in seen:
                    seen.add(a)
                    stack.append(a)
        return frozenset(seen)

    def depends_on_inputs(self) -> list[bool]:
        """For every node: does its value depend on a differentiable input?"""
        flags = [False] * len(self.nodes)
        for node in self.nodes:
            flags[node.id] = node.op == "input" or any(flags[a] for a in node.args)
        return flags

    def primitives_used(self) -> set[str]:
        """Names of the primitives this graph applies."""
        return {n.op for n in self.nodes if not n.is_leaf}
