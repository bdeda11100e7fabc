"""Case files for the limit and interruption tests: a pathological case and quick ones."""
from __future__ import annotations

__all__ = ["SLOW", "QUICK"]

# a full Jacobian (1200 × 1200) through eight 1200 × 1200 matrix products: ~100 s of work
SLOW = "name: slow_matmul_chain\nmode: full\ninputs:\n  h0: {shape: [1200], seed: 1}\n" \
       "constants:\n  W: {shape: [1200, 1200], seed: 2}\nsteps:\n" \
       + "".join(f"  h{i}: tanh(W @ h{i - 1} / 40)\n" for i in range(1, 9))

QUICK = """\
cases:
  - name: quick_sin
    inputs: {x: 0.5}
    expr: sin(x) * x
  - name: quick_layer
    inputs:
      W: {shape: [3, 4], seed: 5}
      v: {shape: [4], init: uniform}
    expr: sum(tanh(W @ v))
  - name: quick_projected
    mode: projected
    inputs:
      A: {shape: [20, 30], seed: 6}
    expr: logsumexp(A)
"""
