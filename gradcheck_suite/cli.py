"""The command line: ``gradcheck-suite run | list | validate | ops`` (and plug-in commands).

Exit codes (a contract, see the README and ``docs/reports.md``):

* ``0`` every check passed (``nondiff`` and ``skip`` rows allowed);
* ``1`` at least one check failed;
* ``2`` at least one case could not be loaded or evaluated, no case matched, or the
  command line was wrong (argparse's own usage errors exit 2 too);
* ``130`` the run was interrupted (Ctrl-C): the reports of the finished cases are still
  written, marked incomplete.

A user never sees a Python traceback: errors are printed as one located line
(``--debug`` shows the traceback instead).

Commands that live in other packages are listed in :data:`PLUGIN_COMMANDS` and imported
only when used; each such module exposes ``add_parser(subparsers)`` (returning the
parser it added) and ``main(args) -> int``.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import math
import os
import tempfile
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from . import __version__
from .contract import DEFAULT_JOBS, DEFAULT_THRESHOLD, DTYPES, JOBS_AUTO, EXIT_ERROR, EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, FORMATS, MODES, ORDERS
from .errors import GradcheckError

__all__ = ["main", "build_parser", "positive_int", "DEFAULT_PATHS", "PLUGIN_COMMANDS", "EXIT_OK", "EXIT_FAIL", "EXIT_ERROR",
           "EXIT_INTERRUPTED"]


#: (command, module, one-line help) of commands other packages provide.  The module is
#: imported only when its command is run; a module that does not exist (yet) hides it.
PLUGIN_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("explain", "gradcheck_suite.explain.command", "explain a case step by step (the answer key)"),
    ("grade", "gradcheck_suite.explain.grade_command", "grade a file of claimed derivatives"),
    ("mutate", "gradcheck_suite.mutation.command", "mutation score of a case library"),
)

DEFAULT_PATHS = ("cases/",)


# ---- argument types -----------------------------------------------------------------


def _comma_list(choices: Sequence[str], what: str) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(map(repr, bad)) or repr(text)} (choose from {', '.join(choices)})")
        return items
    parse.__name__ = what
    return parse


def _whole_number(text: str, minimum: int, words: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < minimum:
        raise argparse.ArgumentTypeError(f"{text!r} must be {words}")
    return n


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (also used by the plug-in commands)."""
    return _whole_number(text, 1, "at least 1")


def _jobs(text: str) -> int | str:
    """argparse type of ``--jobs``: a whole number of at least 1, or ``auto``."""
    if text.strip().lower() == JOBS_AUTO:
        return JOBS_AUTO
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (or {JOBS_AUTO})") from None


def _positive_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not x > 0 or not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive, finite number")
    return x


def _seed(text: str) -> int:
    return _whole_number(text, 0, "0 or more")


def _shard(text: str) -> tuple[int, int]:
    from .shard import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _flatten(lists: list[list[str]] | None) -> list[str] | None:
    if not lists:
        return None
    return list(dict.fromkeys(item for items in lists for item in items))


# ---- the parser ---------------------------------------------------------------------


def _add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="case files or folders searched for *.yaml/*.yml (default: cases/)")
    p.add_argument("-k", dest="name_filter", metavar="SUBSTRING",
                   help="only cases whose name contains SUBSTRING")
    p.add_argument("--tag", action="append", metavar="TAG", help="only cases with TAG (repeatable; any of them)")
    p.add_argument("--element-limit", type=positive_int, default=None, metavar="N",
                   help="refuse any array (input, constant or intermediate) of more than N elements "
                        "(default 10,000,000)")
    p.add_argument("--max-file-size", type=positive_int, default=None, metavar="BYTES",
                   help="refuse case files larger than BYTES (default 1,048,576)")
    p.add_argument("--cost-limit", type=positive_int, default=None, metavar="N",
                   help="refuse cases whose forward pass needs more than about N multiply-adds "
                        "(default 100,000,000,000)")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="follow symbolic links that lead out of the folders being loaded (default: skip them)")
    _add_plugin_option(p)


def _add_plugin_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE_OR_FILE",
                   help="load a plugin module or .py file that declares subjects or primitives (repeatable; "
                        "also plugins = [...] in [tool.gradcheck-suite])")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``command`` names the sub-command about to run (plug-ins load lazily)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show Python tracebacks of errors")

    parser = argparse.ArgumentParser(
        prog="gradcheck-suite",
        description="A PyTorch-verified gradient checker: hand-written chain rule vs torch.autograd "
                    "vs finite differences.",
        epilog="exit codes: 0 all checks passed, 1 a check failed, 2 an error (case not loadable or "
               "evaluable, or a usage error), 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"gradcheck-suite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", parents=[common], help="check the cases and write reports",
                         description="Load every case file under the paths, run the checks, write the "
                                     "reports into --out and print a summary.")
    _add_selection(run)
    run.add_argument("--dtype", action="append", type=_comma_list(DTYPES, "dtype"), metavar="DTYPE",
                     help="float64 and/or float32 (repeatable or comma list; default: each case's own)")
    run.add_argument("--out", default=None, metavar="DIR", help="report folder (default: reports/)")
    run.add_argument("--format", dest="formats", type=_comma_list(FORMATS, "format"),
                     default=None, metavar="LIST", help="comma list of csv,html,junit,md,json (default: all)")
    run.add_argument("--seed", type=_seed, default=None, help="run seed added to every generated input (default 0)")
    run.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                     help=f"check cases in N worker processes; {JOBS_AUTO}: one per core, none on a one-core "
                          f"machine; 1: in this process (default {DEFAULT_JOBS})")
    run.add_argument("--shard", type=_shard, metavar="K/N", help="check only shard K of N (stable split by name)")
    run.add_argument("--mode", choices=MODES, default=None,
                     help="full Jacobians, random projections, or auto by --threshold (default: each case's own)")
    run.add_argument("--threshold", type=positive_int, default=None, metavar="ELEMENTS",
                     help=f"inputs with more elements are checked by projections in auto mode (default {DEFAULT_THRESHOLD})")
    run.add_argument("--order", type=int, choices=ORDERS, default=None,
                     help="2 adds the second-order checks (Hessians) to every case (default: each case's own)")
    run.add_argument("--time-limit", type=_positive_float, default=None, metavar="SECONDS",
                     help="give up on a case after SECONDS (an error row)")
    run.add_argument("--baseline", metavar="RESULTS", help="compare with an earlier results.csv or results.json")
    run.add_argument("--fail-on-regression", action="store_true",
                     help="with --baseline: exit non-zero only for regressions, not for known failures")
    run.add_argument("--quiet", "-q", action="store_true",
                     help="no progress bar; print only failures, errors and the status line")
    run.set_defaults(handler=cmd_run)

    lst = sub.add_parser("list", parents=[common], help="list cases with tags, inputs and dtypes")
    _add_selection(lst)
    lst.set_defaults(handler=cmd_list)

    val = sub.add_parser("validate", parents=[common], help="check case files (schema, parse, shapes) "
                                                            "without computing gradients")
    _add_selection(val)
    val.set_defaults(handler=cmd_validate)

    ops = sub.add_parser("ops", parents=[common], help="list every primitive with its signature and derivative")
    ops.add_argument("--format", dest="ops_format", choices=("text", "md"), default="text")
    ops.add_argument("--category", help="only primitives of this category")
    _add_plugin_option(ops)
    ops.set_defaults(handler=cmd_ops)

    for name, module, help_text in PLUGIN_COMMANDS:
        if not _module_exists(module):
            continue
        if name == command:
            plugin = importlib.import_module(module)
            p = plugin.add_parser(sub)
            if not any("--debug" in a.option_strings for a in p._actions):
                p.add_argument("--debug", action="store_true", help="show Python tracebacks of errors")
            if not any("--plugin" in a.option_strings for a in p._actions):
                _add_plugin_option(p)
            p.set_defaults(handler=plugin.main)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def _module_exists(module: str) -> bool:
    """Does the module exist?  Looked up without importing it (or its heavy parent package)."""
    package, _, rest = module.partition(".")
    if package != __package__:
        try:
            return importlib.util.find_spec(module) is not None
        except ImportError:
            return False
    base = Path(__file__).parent.joinpath(*rest.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _command_of(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line (the first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word
    return None


# ---- main ---------------------------------------------------------------------------


def entry() -> int:
    """The console command (``gradcheck-suite``, ``python -m gradcheck_suite``): :func:`main` collecting
    garbage less often (:func:`~gradcheck_suite.harness.workers.collect_less`), then every object left
    is frozen out of the garbage collector on the way out — the interpreter's exit frees them anyway,
    and its last full collection over them took 0.1 s after a run of the library.  (Not in
    :func:`main`, which a program may call many times.)"""
    from .harness.workers import collect_less

    collect_less()
    code = main()
    gc.freeze()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gradcheck-suite`` and ``python -m gradcheck_suite``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_command_of(argv)).parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        _settle(args)
        return int(args.handler(args))
    except GradcheckError as exc:
        if debug:
            raise
        from .untrusted import visible

        print(f"error: {visible(str(exc), one_line=True)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        if debug:
            raise
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # output piped into `head` and closed: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - a bug of ours: say so, without a traceback
        if debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in gradcheck-suite; run again with --debug for the traceback and report it.",
              file=sys.stderr)
        return EXIT_ERROR


# ---- the team's configuration and plugins ------------------------------------------

#: options of ``run`` that [tool.gradcheck-suite] may set (``list`` and ``validate``: paths only):
#: (argument, config key, built-in default)
_CONFIGURABLE = (("paths", "paths", None), ("dtype", "dtypes", None), ("out", "out", "reports"),
                 ("formats", "formats", None), ("threshold", "threshold", None), ("mode", "mode", None),
                 ("seed", "seed", 0), ("jobs", "jobs", DEFAULT_JOBS), ("time_limit", "time_limit", None))


def _settle(args: argparse.Namespace) -> None:
    """Fill the options the command line left unset from ``[tool.gradcheck-suite]`` (then the
    built-in defaults), and load the plugins the user named there, with ``--plugin`` and by
    entry point — before any case is read, so their primitives and subjects exist."""
    from .config import read_config
    from .plugins import load_plugins, loaded

    config = read_config()
    applies = {"run": None, "list": ("paths",), "validate": ("paths",)}.get(args.command, ())
    for arg, key, default in _CONFIGURABLE:
        if applies is not None and arg not in applies:
            continue
        if getattr(args, arg) in (None, []):
            value = getattr(config, key)
            if arg == "dtype" and value is not None:
                value = [value]  # --dtype is a list of comma lists
            setattr(args, arg, value if value is not None else default)
    args.tolerances = config.tolerances or None
    load_plugins(list(config.plugins) + list(getattr(args, "plugin", None) or []))
    args.plugin_specs = list(loaded())  # the worker processes load exactly these
    args.config_file = config.file


# ---- run ----------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    """The versions the reports record; torch's from its installed metadata, so that the main process
    of a run with worker processes (which never computes a gradient) does not import torch for it."""
    import numpy

    return {"gradcheck-suite": __version__, "numpy": numpy.__version__, "torch": _installed("torch"),
            "python": platform.python_version()}


def _installed(distribution: str) -> str:
    """The installed version of ``distribution`` (as ``torch.__version__`` says it: ``2.13.0+cpu``)."""
    from importlib.metadata import PackageNotFoundError, version

    module = sys.modules.get(distribution)
    if module is not None:  # already imported: the module's own word
        return str(module.__version__)
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def cmd_run(args: argparse.Namespace) -> int:
    """``run``: check the cases, write the reports, print the summary."""
    from .harness.workers import pool_size, start_workers

    formats = _flatten([args.formats]) if args.formats else list(FORMATS)
    if pool_size(args.jobs) or args.time_limit:
        start_workers(timed=bool(args.time_limit))  # first: the workers' server imports torch meanwhile
    from . import api
    from .gate import decide
    from .report import Report, progress_bar, render_summary, write_reports
    from .report.pages import CasePages, prepare

    paths = args.paths or list(DEFAULT_PATHS)
    meta: dict[str, Any] = {
        "seed": args.seed, "paths": paths, "versions": _versions(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": "gradcheck-suite " + " ".join(sys.argv[1:]),
        "options": {"element_limit": args.element_limit, "baseline": args.baseline, "name_filter": args.name_filter, "tags": args.tag, "dtypes": _flatten(args.dtype),
                    "mode": args.mode, "threshold": args.threshold, "jobs": args.jobs, "order": args.order,
                    "shard": list(args.shard) if args.shard else None, "time_limit": args.time_limit,
                    "plugins": args.plugin_specs, "config": args.config_file},
    }
    incomplete = False
    result = None
    if args.fail_on_regression and not args.baseline:
        raise UsageError("--fail-on-regression needs --baseline RESULTS")
    _check_out(Path(args.out))  # before any case is checked: a usage problem is said at once
    # options left unset keep the harness's own defaults
    options = {k: v for k, v in (("element_limit", args.element_limit), ("threshold", args.threshold))
               if v is not None}
    options["load_options"] = _load_options(args)
    # each case's answer-key section and card are built where the case is checked (in parallel with workers)
    after = CasePages() if "html" in formats else None
    # … and what laying the pages out needs here is imported and compiled while the workers check
    meanwhile = prepare if "html" in formats else None
    with progress_bar(not args.quiet) as progress:
        try:
            result = api.run(paths, name_filter=args.name_filter, tags=args.tag, dtypes=_flatten(args.dtype),
                             seed=args.seed, mode=args.mode, jobs=args.jobs,
                             shard=args.shard, time_limit=args.time_limit, progress=progress,
                             plugins=args.plugin_specs, tolerances=args.tolerances, order=args.order,
                             after=after, meanwhile=meanwhile, **options)
            incomplete = bool(getattr(result, "incomplete", False))
        except KeyboardInterrupt as exc:
            if args.debug:
                raise
            incomplete = True
            result = getattr(exc, "partial", None)  # what finished, if the harness handed it over
    meta["subjects"] = _subjects_of(getattr(result, "cases", None) or [])
    report = Report(
        table=getattr(result, "table", None),
        cases=getattr(result, "cases", None) or {},
        arrays=getattr(result, "arrays", None) or {},
        meta=meta,
        incomplete=incomplete,
        pages=getattr(result, "per_case", None) or {},
    )
    note = ""
    if not len(report.table) and not incomplete:
        selected = len(_load(args)[0]) if args.shard else 0
        if not selected:
            print(f"error: no case found under {', '.join(paths)}"
                  + (f" matching -k {args.name_filter!r}" if args.name_filter else "")
                  + (f" with tag(s) {', '.join(args.tag)}" if args.tag else ""), file=sys.stderr)
            return EXIT_ERROR
        # a CI matrix with more jobs than this shard has cases: nothing to check is not an error
        note = f"shard {args.shard[0]}/{args.shard[1]} holds none of the {selected} selected case(s)"
    diff = _compare_with_baseline(args.baseline, report) if args.baseline else None
    verdict = decide(report.table, diff=diff, fail_on_regression=args.fail_on_regression, incomplete=incomplete,
                     harness_code=int(getattr(result, "exit_code", 0) or 0), note=note)
    report.meta["verdict"] = verdict.as_dict()  # every report states the code returned below
    written = write_reports(report, Path(args.out), formats)
    sys.stdout.write(render_summary(report, written, quiet=args.quiet))
    return verdict.exit_code


class UsageError(GradcheckError):
    """The command line asks for something impossible (exit 2 before anything runs)."""


def _check_out(out: Path) -> None:
    """``--out`` must be a folder we can write into, or one we can create (nothing is created here)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder")
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"--out {out}: cannot write there ({probe} is not a folder)")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None


def _load_options(args: argparse.Namespace) -> dict[str, Any]:
    """The loader's limits given on the command line (unset ones keep the loader's defaults)."""
    options = {"max_file_size": args.max_file_size, "cost_limit": args.cost_limit}
    options = {k: v for k, v in options.items() if v is not None}
    if args.follow_symlinks:
        options["follow_symlinks"] = True
    return options


def _subjects_of(cases: Any) -> dict[str, str]:
    """case name → the code under test bound to it (``subject 'Swish' (plugin.py)``), for the reports."""
    from .subjects import subject_for

    bound = {c.name: subject_for(c.name, c.tags) for c in cases}
    return {name: s.describe() for name, s in bound.items() if s is not None}


def _compare_with_baseline(path: str, report: Any):
    """The baseline diff (also recorded in the run's metadata, so results.json carries it)."""
    from .baseline import compare, read_table

    diff = compare(read_table(path), report.table)
    report.meta["baseline"] = {"path": path, "summary": diff.summary_lines()[0],
                               "regressions": len(diff.regressions), "loosened": len(diff.loosened)}
    return diff


# ---- list and validate --------------------------------------------------------------


def _load(args: argparse.Namespace):
    """Load the cases under the paths, filtered like ``run`` filters them."""
    from .loader import load_paths

    limit = {"element_limit": args.element_limit} if args.element_limit else {}
    loaded = load_paths(args.paths or list(DEFAULT_PATHS), **limit, **_load_options(args))
    for skipped in loaded.skipped:
        print(f"warning: {skipped}", file=sys.stderr)  # (file names are spelt out by the loader)
    cases = [c for c in loaded.cases
             if (not args.name_filter or args.name_filter in c.name)
             and (not args.tag or set(args.tag) & set(c.tags))]
    return cases, list(loaded.errors), loaded


def _shape_text(spec: Any) -> str:
    import numpy as np

    shape = np.shape(spec.literal) if spec.literal is not None else tuple(spec.shape or ())
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _print_errors(errors: Sequence[Exception]) -> None:
    from .untrusted import visible

    for error in errors:
        print(f"error: {visible(str(error), one_line=True)}", file=sys.stderr)


def cmd_list(args: argparse.Namespace) -> int:
    """``list``: every case with its tags, inputs (with shapes) and dtypes."""
    cases, errors, _ = _load(args)
    from .untrusted import visible

    for case in cases:
        print(visible(f"{case.name}  ({case.file}:{case.line})", one_line=True))
        if case.title:
            print(f"    {visible(case.title, one_line=True)}")
        print(f"    inputs: {', '.join(f'{n} {_shape_text(s)}' for n, s in case.inputs.items()) or '-'}")
        if case.constants:
            print(f"    constants: {', '.join(f'{n} {_shape_text(s)}' for n, s in case.constants.items())}")
        print(f"    dtypes: {', '.join(case.dtypes)}" + (f"    tags: {', '.join(case.tags)}" if case.tags else ""))
    _print_errors(errors)
    print(f"{len(cases)} case(s)" + (f", {len(errors)} error(s)" if errors else ""))
    return EXIT_ERROR if errors else EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """``validate``: schema, parse and shapes (one forward pass per dtype), no gradients."""
    from . import engine

    cases, errors, loaded = _load(args)
    for case in cases:
        for dtype in case.dtypes:
            try:
                engine.evaluate(case.graph, case.leaves(), dtype)
            except GradcheckError as exc:
                errors.append(exc.located(file=case.file, case=case.name))
                break
    _print_errors(errors)
    files = len(getattr(loaded, "files", []) or [])
    if errors:
        print(f"{len(errors)} error(s); {len(cases)} case(s) in {files} file(s)")
        return EXIT_ERROR
    print(f"OK: {len(cases)} case(s) in {files} file(s)")
    return EXIT_OK


# ---- ops ----------------------------------------------------------------------------


def _ops_facts(prim, symbolic: str) -> list[tuple[str, str]]:
    """Everything the registration of ``prim`` declares, as (label, text) pairs (``symbolic``: its
    symbolic form's text, :func:`gradcheck_suite.ops.symbolic_text.symbolic_texts`)."""
    from . import second_order
    from .ops.lazy_torch import counterpart_name

    if prim.local_derivative is not None:
        rules = "VJP g·∂ and JVP t·∂, generated from one local derivative per argument"
    else:
        rules = "hand-written VJP and JVP per argument"
    differentiable = prim.derivative_text() if prim.differentiable_output else ["not differentiable"]
    args = [f"{prim.args[0]}…"] if prim.variadic else list(prim.args)
    return [
        ("derivative", "; ".join(differentiable)),
        ("rules", rules + (" (batch-aware: leading batch axes pass through)" if prim.differentiable_output else "")),
        ("torch", counterpart_name(prim.torch)),
        ("complex step", "yes (analytic)" if prim.analytic else "no"),
        ("second order", second_order.describe(prim)),
        ("kinks", "declared (distance to the kink set)" if prim.kink
         else "none" + (f": {prim.no_kink}" if prim.no_kink else "")),
        ("broadcasts", "yes" if prim.broadcasts else "no"),
        ("domain", "; ".join(f"{a}: {d.describe()}" for a, d in zip(args, prim.domain))),
        ("probes", f"{len(prim.probes)} call(s) for the mutation tester"),
        ("symbolic", symbolic),
    ]


def cmd_ops(args: argparse.Namespace) -> int:
    """``ops``: every primitive with everything its registration declares."""
    from .ops import all_primitives
    from .ops.symbolic_text import symbolic_texts

    prims = [p for p in all_primitives() if not args.category or p.category == args.category]
    if args.category and not prims:
        raise GradcheckError(f"no primitive has the category {args.category!r}")
    texts = symbolic_texts(all_primitives())  # sympy writes them once; later runs read them from a cache
    out: list[str] = []
    category = None
    cell = lambda s: s.replace("|", "\\|")  # noqa: E731
    for prim in prims:
        facts = _ops_facts(prim, texts[prim.name])
        if prim.category != category:
            category = prim.category
            if args.ops_format == "md":
                out += ["", f"## {category}", "", "| primitive | signature | notes | " + " | ".join(k for k, _ in facts)
                        + " |", "| --- " * (3 + len(facts)) + "|"]
            else:
                out += ["", f"# {category}"]
        if args.ops_format == "md":
            out.append(f"| `{prim.name}` | `{cell(prim.signature())}` | {cell(prim.doc)} | "
                       + " | ".join(cell(v) for _, v in facts) + " |")
        else:
            out.append(f"  {prim.signature()}    — {prim.doc}")
            out += [f"      {label + ':':<13} {text}" for label, text in facts]
    out += ["", f"{len(prims)} primitive(s)"]
    print("\n".join(out).lstrip("\n"))
    return EXIT_OK
