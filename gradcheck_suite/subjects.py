"""Your code under test: *subjects*, declared in Python and bound to cases by name or tag.

A case file is pure data and never names code.  A plugin module (loaded only when you
name it: ``--plugin``, ``plugins = [...]`` in ``[tool.gradcheck-suite]``, or the
``gradcheck_suite.plugins`` entry point group) declares which function implements which
case::

    import gradcheck_suite

    @gradcheck_suite.subject("layer_norm")            # a torch callable: MyLayerNorm.apply, a module's forward
    def fused_layer_norm(x, w, b):
        return FusedLayerNorm.apply(x, w, b)

    @gradcheck_suite.subject("affine", backward=affine_backward)   # a numpy forward and its backward
    def affine_forward(x, w, b):
        return x @ w + b

Two kinds (see docs/subjects.md):

``torch``  ``fn(*tensors) -> tensor``; its gradient is taken with torch.autograd on the
           subject itself (so a custom ``autograd.Function``'s backward is what is checked);
           forward-mode AD and double backward are checked where the subject supports them,
           or where asked (``forward_ad=True``, ``double_backward=True``).
``numpy``  ``forward(*arrays) -> out`` with ``backward(g, *arrays) -> grads`` (one gradient
           per argument, a tuple, or the array itself for one argument); or, with
           ``cache=True``, ``forward(*arrays) -> (out, cache)`` and ``backward(g, cache)``.
           Written for the shapes the case uses: the harness never passes batch axes and
           calls ``backward`` once per cotangent it needs.

The subject receives the case's values named in ``args`` (inputs or constants, in that
order); by default the case's inputs in the order the case declares them.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Sequence

__all__ = ["Subject", "subject", "add_subject", "make_subject", "subjects", "subject_for", "clear", "SubjectError",
           "KINDS"]

#: the kinds of subject
KINDS = ("torch", "numpy")


class SubjectError(ValueError):
    """A subject declared wrongly (raised where it is declared, naming it)."""


@dataclass(frozen=True)
class Subject:
    """One function under test and how it is bound."""

    name: str
    kind: str
    fn: Callable[..., Any] | None
    backward: Callable[..., Any] | None = None
    cache: bool = False
    args: tuple[str, ...] | None = None
    case: str | None = None
    tag: str | None = None
    forward_ad: bool | None = None
    double_backward: bool | None = None
    origin: str = ""

    def binds(self, case_name: str, tags: Sequence[str]) -> bool:
        """Is this subject bound to a case of that name and tags?"""
        return (self.case is not None and self.case == case_name) or (self.tag is not None and self.tag in tags)

    def describe(self) -> str:
        """``subject 'fused_swish' (my_plugin.py)`` as messages name it."""
        return f"subject {self.name!r}" + (f" ({self.origin})" if self.origin else "")

    @property
    def label(self) -> str:
        """``subject 'fused_swish'``: what a comparison calls the subject's values."""
        return f"subject {self.name!r}"


_SUBJECTS: list[Subject] = []


def _origin(fn: Callable[..., Any] | None) -> str:
    owner = getattr(fn, "__self__", None)  # MyFunction.apply: the file of MyFunction
    try:
        target = owner if inspect.isclass(owner) else inspect.unwrap(fn) if fn is not None else None
        path = inspect.getsourcefile(target) if target is not None else None
    except TypeError:
        path = None
    return path or getattr(fn, "__module__", "") or ""


def _name_of(fn: Callable[..., Any] | None) -> str:
    if fn is None:
        return "subject"
    self_obj = getattr(fn, "__self__", None)  # MyFunction.apply: name the Function
    if inspect.isclass(self_obj):
        return self_obj.__name__
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def make_subject(fn: Callable[..., Any] | None, *, backward: Callable[..., Any] | None = None,
                 cache: bool = False, args: Sequence[str] | None = None, forward_ad: bool | None = None,
                 double_backward: bool | None = None, name: str | None = None, case: str | None = None,
                 tag: str | None = None) -> Subject:
    """A :class:`Subject`, checked, not yet bound to anything (``check_function`` uses it as it is)."""
    what = f"subject for {case or tag!r}" if case or tag else "the function under test"
    if fn is None and backward is None:
        raise SubjectError(f"{what}: give the function under test (or a backward)")
    for label, f in (("the subject", fn), ("backward", backward)):
        if f is not None and not callable(f):
            raise SubjectError(f"{what}: {label} is not callable: {f!r}")
    if cache and (backward is None or fn is None):
        raise SubjectError(f"{what}: cache=True needs a forward returning (out, cache) and a backward(g, cache)")
    kind = "numpy" if backward is not None else "torch"
    if kind == "numpy" and (forward_ad or double_backward):
        raise SubjectError(f"{what}: forward-mode and double-backward checks need a torch subject (a numpy "
                           "backward has neither)")
    code = backward if backward is not None else fn
    return Subject(name=name or _name_of(code), kind=kind, fn=fn, backward=backward, cache=bool(cache),
                   args=tuple(args) if args is not None else None, case=case, tag=tag, forward_ad=forward_ad,
                   double_backward=double_backward, origin=_origin(fn if fn is not None else backward))


def add_subject(case: str | None = None, *, fn: Callable[..., Any] | None = None, tag: str | None = None,
                backward: Callable[..., Any] | None = None, cache: bool = False,
                args: Sequence[str] | None = None, forward_ad: bool | None = None,
                double_backward: bool | None = None, name: str | None = None) -> Subject:
    """Declare ``fn`` (and ``backward``) as the subject of the case named ``case``, or of every
    case tagged ``tag``; the plain-call form of :func:`subject` (``fn`` may be None for a
    numpy backward without a forward)."""
    if (case is None) == (tag is None):
        raise SubjectError("a subject is bound to a case name or to a tag (give exactly one)")
    sub = make_subject(fn, backward=backward, cache=cache, args=args, forward_ad=forward_ad,
                       double_backward=double_backward, name=name, case=case, tag=tag)
    for other in _SUBJECTS:
        if other.case is not None and other.case == sub.case:
            if other.fn is sub.fn and other.backward is sub.backward:
                return other  # the same plugin loaded twice
            raise SubjectError(f"case {case!r} has two subjects: {other.describe()} and {sub.describe()}; "
                               "bind each implementation to a case of its own")
    _SUBJECTS.append(sub)
    return sub


def subject(case: str | None = None, *, tag: str | None = None, backward: Callable[..., Any] | None = None,
            cache: bool = False, args: Sequence[str] | None = None, forward_ad: bool | None = None,
            double_backward: bool | None = None, name: str | None = None) -> Callable[[Callable], Callable]:
    """Decorator: the decorated function is the subject of case ``case`` (or of the cases tagged ``tag``).

    Without ``backward`` it is a torch callable; with it, a numpy forward whose hand-written
    backward is ``backward``.  The function is returned unchanged.
    """
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        add_subject(case, fn=fn, tag=tag, backward=backward, cache=cache, args=args, forward_ad=forward_ad,
                    double_backward=double_backward, name=name)
        return fn
    return decorate


def subjects() -> list[Subject]:
    """Every declared subject, in declaration order."""
    return list(_SUBJECTS)


def subject_for(case_name: str, tags: Sequence[str] = ()) -> Subject | None:
    """The subject bound to a case: by its name first, else the first bound to one of its tags."""
    by_name = [s for s in _SUBJECTS if s.case == case_name]
    if by_name:
        return by_name[0]
    return next((s for s in _SUBJECTS if s.tag is not None and s.tag in tags), None)


def clear() -> None:
    """Forget every subject (tests)."""
    _SUBJECTS.clear()
