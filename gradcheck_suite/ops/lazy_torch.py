"""``torch`` and ``torch.nn.functional`` for the primitive table, imported on first use.

Registering a primitive names its torch counterpart (``torch=torch.exp``); importing
torch for that would cost every command seconds of start-up, also the ones that never
call torch (``ops``, ``list``, ``validate``).  :data:`torch` and :data:`F` stand in for
the modules: while torch is not imported, an attribute is a :class:`Deferred` reference
that imports torch when it is called; once torch is imported (any tensor exists), an
attribute is the real one, so ``torch.bool`` or ``torch.long`` inside a rule are real.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["Deferred", "torch", "F", "counterpart_name"]


class Deferred:
    """A dotted path inside torch (``torch.linalg.solve``), resolved when first used."""

    def __init__(self, path: tuple[str, ...]):
        self._path = path

    def resolve(self) -> Any:
        """The real object (imports torch)."""
        obj: Any = importlib.import_module(self._path[0])
        for part in self._path[1:]:
            obj = getattr(obj, part)
        return obj

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if "torch" in sys.modules:
            return getattr(self.resolve(), name)
        return Deferred(self._path + (name,))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return ".".join(self._path)


torch = Deferred(("torch",))
F = Deferred(("torch", "nn", "functional"))


def counterpart_name(fn: Any) -> str:
    """How ``gradcheck-suite ops`` names a torch counterpart."""
    if isinstance(fn, Deferred):
        return repr(fn)
    name = getattr(fn, "__qualname__", "") or repr(fn)
    module = getattr(fn, "__module__", "") or ""
    if "<lambda>" in name or module.startswith("gradcheck_suite"):
        return f"a wrapper in {module}" if module else "a wrapper"
    module = {"torch._C._VariableFunctions": "torch", "torch._C._nn": "torch.nn.functional"}.get(module, module)
    return f"{module}.{name}" if module else name
