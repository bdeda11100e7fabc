"""Robustness and security tests (issue 9): bad input, fuzzing, limits, safe and durable reports."""
