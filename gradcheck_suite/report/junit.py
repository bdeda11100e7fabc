"""``junit.xml``: one ``testcase`` per case × dtype, for CI test-report publishers.

Layout (the common Jenkins/GitLab/GitHub schema)::

    testsuites > testsuite(name="gradcheck-suite") > properties, testcase*

* ``classname`` is the case file's path written as Jenkins reads a class name —
  ``package.Class`` split at the last dot: ``cases.nn.layer`` for ``cases/nn/layer.yaml``
  (folders are the package, the file's stem the class; other dots become ``_``) — and
  ``file`` is the path itself; ``name`` is ``case[dtype]`` (``case[load]`` for a file or
  case that could not be loaded); names are unique and stable: a repeat gets `` #2``,
  ``#3`` … in table order.
* A testcase holds a ``failure`` when one of its checks failed, an ``error`` when one
  could not be evaluated (error wins), ``skipped`` only when every check was skipped.
  ``nondiff`` rows pass; their messages go to ``system-out``.
* The numbers of each failing check are in the ``message`` attribute *and* the body
  (some publishers drop one of the two).
* Suite properties: ``seed``, ``incomplete``, and the versions of numpy, torch and
  gradcheck-suite (whatever ``meta["versions"]`` holds).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import PurePath
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .results import Report, cell_text, number_text, seconds as seconds_of, worst_status

__all__ = ["render_junit", "testcase_groups", "check_summary", "classname_of"]

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: object) -> str:
    """Text safe for XML 1.0 (ElementTree escapes markup but not control characters)."""
    return _XML_INVALID.sub("\ufffd", str(text))


def check_summary(row: Mapping[str, Any]) -> str:
    """One line with the numbers of a check row, e.g. for a failure message."""
    parts = [f"{row['check']}" + (f" {row['input']}" if row["input"] else "")]
    if row["max_abs_err"] == row["max_abs_err"]:
        parts.append(f"max_abs_err={number_text(row['max_abs_err'])}")
    if row["max_rel_err"] == row["max_rel_err"]:
        parts.append(f"max_rel_err={number_text(row['max_rel_err'])}")
    if row["atol"] == row["atol"] or row["rtol"] == row["rtol"]:
        parts.append(f"atol={cell_text(row['atol'])} rtol={cell_text(row['rtol'])}")
    if cell_text(row["worst_index"]):
        parts.append(f"worst at {cell_text(row['worst_index'])}: "
                     f"actual={cell_text(row['actual'])} expected={cell_text(row['expected'])}")
    text = ", ".join(parts)
    return f"{text} — {row['message']}" if row["message"] else text


def classname_of(file: str) -> str:
    """The JUnit ``classname`` of a case file: ``cases/nn/layer.yaml`` → ``cases.nn.layer``.

    Jenkins splits a class name at its last dot into package and class; a path with its
    suffix (``cases/x.yaml``) would become the class "yaml" of the package "cases/x".
    """
    path = PurePath(str(file).replace("\\", "/"))
    stem = path.stem if path.suffix.lower() in (".yaml", ".yml") else path.name
    parts = [p for p in path.parent.parts if p not in ("", ".", "/", "..")] + [stem]
    return ".".join(p.replace(".", "_") for p in parts if p) or "unnamed"


def testcase_groups(report: Report) -> list[tuple[str, str, pd.DataFrame]]:
    """``(file, name, rows)`` per case × dtype, in table order, names made unique."""
    table = report.table
    return [(file, name, table.iloc[index]) for file, name, index, _ in _groups(table)]


def _groups(table: pd.DataFrame) -> list[tuple[str, str, list[int], float]]:
    """:func:`testcase_groups` as row positions, with each group's time (:func:`seconds`),
    grouped in one pass: a mask per group made 3,000 cases take a minute."""
    if not len(table):
        return []
    label = pd.Series([("" if d else c) for d, c in zip(table["dtype"], table["check"])], index=table.index,
                      name="label")
    keys = [table["file"], table["case"], table["dtype"], label]
    times = seconds_of(table.assign(label=label), by=["file", "case", "dtype", "label"])
    groups: list[tuple[str, str, list[int], float]] = []
    seen: dict[tuple[str, str], int] = {}
    for (file, case, dtype, lab), index in table.groupby(keys, sort=False).indices.items():
        name = f"{case or _stem(file)}[{dtype or lab or 'load'}]"
        n = seen[(file, name)] = seen.get((file, name), 0) + 1
        groups.append((file, name if n == 1 else f"{name} #{n}", list(index), float(times[(file, case, dtype, lab)])))
    return groups


def _stem(file: str) -> str:
    return PurePath(file).stem if file else "unnamed"


def render_junit(report: Report) -> str:
    """The JUnit XML text."""
    groups = _groups(report.table)
    meta = report.meta
    root = ET.Element("testsuites", name="gradcheck-suite")
    suite = ET.SubElement(root, "testsuite", name="gradcheck-suite")
    props = ET.SubElement(suite, "properties")
    facts = {"seed": cell_text(meta.get("seed", "")), "incomplete": "true" if report.incomplete else "false"}
    for package, version in dict(meta.get("versions", {})).items():
        facts[package] = str(version)
    for key, value in facts.items():
        ET.SubElement(props, "property", name=_x(key), value=_x(value))

    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    records = report.table.to_dict("records")
    for file, name, index, seconds in groups:
        rows = [records[i] for i in index]
        statuses = [r["status"] for r in rows]
        total_time += seconds
        case = ET.SubElement(suite, "testcase", classname=_x(classname_of(file)), name=_x(name),
                             time=f"{seconds:.6f}", file=_x(file))
        totals["tests"] += 1
        status = worst_status(statuses)
        if status in ("error", "fail"):
            lines = [check_summary(r) for r in rows if r["status"] == status]
            tag = "error" if status == "error" else "failure"
            message = f"{len(lines)} of {len(rows)} checks {'could not run' if tag == 'error' else 'failed'}: " \
                + "; ".join(lines)
            el = ET.SubElement(case, tag, message=_x(message), type=status)
            el.text = _x("\n".join(lines))
            totals["errors" if tag == "error" else "failures"] += 1
        elif status == "skip" and all(s == "skip" for s in statuses):
            el = ET.SubElement(case, "skipped", message=_x("; ".join(r["message"] for r in rows if r["message"])
                                                           or "skipped"))
            totals["skipped"] += 1
        notes = [check_summary(r) for r in rows if r["status"] in ("nondiff", "skip")]
        if notes:
            ET.SubElement(case, "system-out").text = _x("\n".join(notes))

    for el in (root, suite):
        for key, value in totals.items():
            el.set(key, str(value))
        el.set("time", f"{total_time:.6f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

