"""gradcheck-suite: a PyTorch-verified gradient checker with a hand-written chain-rule engine."""
__version__ = "0.1.0"
