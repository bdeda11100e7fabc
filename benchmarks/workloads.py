"""The benchmark workloads as case-file text: sum(tanh(W @ x)), a tanh MLP, a long scalar chain, big tensors.

Every workload is an ordinary case (YAML text read by the project's own loader), so
our checker, the torch reference and ``torch.autograd.gradcheck`` all see the very
same function: the peer gets it from :func:`gradcheck_suite.reference.torch_ref.torch_function`.
"""
from __future__ import annotations

import math

__all__ = ["tanh_wx", "tanh_mlp", "scalar_chain", "big_tensors", "WORKLOADS"]


def _shape(n: int) -> tuple[int, int]:
    """A near-square matrix shape with about ``n`` elements."""
    rows = max(1, round(math.sqrt(n)))
    return rows, max(1, n // rows)


def tanh_wx(n: int) -> str:
    """sum(tanh(W @ x)) with W of about ``n`` elements (the input) and x a constant vector."""
    r, c = _shape(n)
    return f"""
cases:
  - name: tanh_wx_{n}
    inputs:
      w: {{shape: [{r}, {c}], init: normal, std: 0.1, seed: 1}}
    constants:
      x: {{shape: [{c}], init: normal, seed: 2}}
    expr: sum(tanh(w @ x))
"""


def tanh_mlp(n: int) -> str:
    """sum(tanh(W2 @ tanh(W1 @ x + b1) + b2)): hidden width h with about ``n`` parameters (the inputs)."""
    h = max(2, int((-1.5 + math.sqrt(2.25 + 6 * n)) / 3))  # 1.5·h² + 1.5·h ≈ n with d = h, o = h/2
    o = max(1, h // 2)
    return f"""
cases:
  - name: tanh_mlp_{n}
    inputs:
      w1: {{shape: [{h}, {h}], init: normal, std: {1 / math.sqrt(h):.4g}, seed: 11}}
      b1: {{shape: [{h}], init: normal, std: 0.1, seed: 12}}
      w2: {{shape: [{o}, {h}], init: normal, std: {1 / math.sqrt(h):.4g}, seed: 13}}
      b2: {{shape: [{o}], init: normal, std: 0.1, seed: 14}}
    constants:
      x: {{shape: [{h}], init: normal, seed: 15}}
    expr: sum(tanh(w2 @ tanh(w1 @ x + b1) + b2))
"""


def scalar_chain(nodes: int) -> str:
    """A scalar input through residual sine steps ``h ← h + 0.01·sin(h)``: about ``nodes`` graph nodes."""
    steps = max(1, nodes // 4)  # literal, sin, mul, add per step
    lines = ["      h1: x + 0.01 * sin(x)"]
    lines += [f"      h{i}: h{i - 1} + 0.01 * sin(h{i - 1})" for i in range(2, steps + 1)]
    body = "\n".join(lines)
    return f"""
cases:
  - name: scalar_chain_{nodes}
    inputs:
      x: 0.3
    steps:
{body}
"""


def big_tensors(n: int) -> str:
    """sum(tanh(x)·exp(0.1·y) + x·y) with two inputs of ``n`` elements each."""
    return f"""
cases:
  - name: big_tensors_{n}
    inputs:
      x: {{shape: [{n}], init: normal, seed: 21}}
      y: {{shape: [{n}], init: normal, seed: 22}}
    expr: sum(tanh(x) * exp(0.1 * y) + x * y)
"""


WORKLOADS = {"tanh_wx": tanh_wx, "tanh_mlp": tanh_mlp, "scalar_chain": scalar_chain, "big_tensors": big_tensors}
