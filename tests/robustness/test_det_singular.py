"""det at a singular matrix (issue 18): the derivative is the cofactor matrix, and all three routes say so.

torch.linalg.det's backward gives 0 at a matrix of rank n − 1; ours gives adj(a)ᵀ, which finite
differences confirm. Decision (docs/robustness.md): follow the mathematics, not torch — the torch
counterpart of det differentiates a polynomial form of det at such points, so every row passes.
"""
from __future__ import annotations

import torch

from gradcheck_suite import api
from gradcheck_suite.loader import load_text
from gradcheck_suite.ops import get

CASES = """
cases:
  - name: det_rank1
    inputs: {a: [[1.0, 2.0], [2.0, 4.0]]}
    expr: det(a)
  - name: det_rank2_of3
    inputs: {a: [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]}
    expr: det(a)
    dtypes: [float64, float32]
  - name: det_zero
    inputs: {a: [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]}
    expr: det(a)
  - name: det_stack_one_singular
    inputs: {a: [[[1.0, 2.0], [2.0, 4.0]], [[2.0, 1.0], [1.0, 3.0]]]}
    expr: sum(det(a))
"""


def test_every_route_agrees_at_singular_matrices():
    cases, errors = load_text(CASES, "det.yaml")
    assert not errors
    table = api.run(cases).table
    assert len(table) == 15 and set(table["status"]) == {"pass"}, table[["case", "check", "status", "message"]]


def test_the_torch_counterpart_gives_the_cofactor_matrix():
    a = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64, requires_grad=True)
    get("det").torch(a).backward()
    assert torch.equal(a.grad, torch.tensor([[4.0, -2.0], [-2.0, 1.0]], dtype=torch.float64))
    b = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64, requires_grad=True)  # invertible: torch's own
    value = get("det").torch(b)
    value.backward()
    assert float(value.detach()) == float(torch.linalg.det(b.detach()))
    assert torch.allclose(b.grad, torch.linalg.det(b) * torch.linalg.inv(b).T)
