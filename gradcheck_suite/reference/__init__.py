"""The two references a hand-written gradient is judged against.

* :mod:`.torch_ref` — the same graph replayed with torch ops, differentiated by torch.autograd;
* :mod:`.fd` — finite differences (complex step or Richardson) on the numpy forward, in float64.
"""
__all__ = ["torch_ref", "fd"]
