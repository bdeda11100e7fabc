"""The CI recipes work in another repository: the workflow, docs/ci.md and the README agree (issue 16)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "gradcheck.yml"
DOC = ROOT / "docs" / "ci.md"


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps() -> list[dict]:
    return workflow()["jobs"]["gate"]["steps"]


def run_lines() -> list[str]:
    return [line.strip() for s in steps() for line in str(s.get("run", "")).splitlines()]


def step_using(action: str) -> dict:
    found = [s for s in steps() if str(s.get("uses", "")).startswith(action + "@")]
    assert len(found) == 1, f"one step uses {action}"
    return found[0]


def yaml_block_after(heading: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match, f"a ```yaml block under {heading!r}"
    return match.group(1)


def test_docs_show_the_workflow_line_for_line():
    assert yaml_block_after("## GitHub Actions").splitlines() == WORKFLOW.read_text(encoding="utf-8").splitlines()


def test_install_line_installs_a_pinned_gradcheck_suite_not_the_teams_project():
    installs = [line for line in run_lines() if line.startswith("pip install")]
    assert not any(re.search(r"\s-e\s|\s\.(\s|\[|$)|'\.\[", line + " ") for line in installs), installs
    pinned = re.compile(r'pip install "gradcheck-suite @ git\+https://github\.com/[\w.-]+/gradcheck-suite@v\d+\.\d+\.\d+"'
                        r'|pip install gradcheck-suite==\d+\.\d+\.\d+')
    assert sum(bool(pinned.fullmatch(line)) for line in installs) == 1, installs


def test_torch_is_pinned_to_the_readme_version_from_the_cpu_index():
    readme_pin = re.search(r"pip install torch==([\d.]+)", (ROOT / "README.md").read_text(encoding="utf-8")).group(1)
    torch_lines = [line for line in run_lines() if line.startswith("pip install torch")]
    assert torch_lines == [f"pip install torch=={readme_pin} --index-url https://download.pytorch.org/whl/cpu"]
    # the CPU torch is installed before gradcheck-suite, so pip does not pull a CUDA build
    installs = [line for line in run_lines() if line.startswith("pip install")]
    assert installs.index(torch_lines[0]) < len(installs) - 1


def test_pip_downloads_are_cached():
    setup = step_using("actions/setup-python")["with"]
    assert setup["cache"] == "pip"
    assert setup["cache-dependency-path"] == ".github/workflows/gradcheck.yml"  # where the pins live


def test_the_shard_matrix_covers_k_of_n_once_and_reaches_the_gate():
    shards = workflow()["jobs"]["gate"]["strategy"]["matrix"]["shard"]
    n = len(shards)
    assert shards == [f"{k}/{n}" for k in range(1, n + 1)] and n >= 2
    gate = " ".join(line.rstrip("\\") for line in run_lines())
    assert "gradcheck-suite run cases/" in gate and "--shard ${{ matrix.shard }}" in gate
    assert "--dtype float64,float32" in gate and "--out reports/" in gate


def test_the_results_are_uploaded_always_and_are_the_next_baseline():
    upload = step_using("actions/upload-artifact")
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"
    name = upload["with"]["name"]
    assert "${{ strategy.job-index }}" in name or "${{ matrix.shard }}" in name  # one artifact per shard
    fetch = next(s for s in steps() if "gh run download" in str(s.get("run", "")))
    assert name in fetch["run"] and "default_branch" in fetch["run"] and fetch.get("continue-on-error") is True
    gate = next(s for s in steps() if "gradcheck-suite run" in str(s.get("run", "")))
    assert "--baseline baseline/results.csv --fail-on-regression" in gate["run"]


def test_the_junit_results_are_published():
    publish = step_using("mikepenz/action-junit-report")
    assert publish["if"] == "always()" and publish["with"]["report_paths"] == "reports/junit.xml"


def test_permissions_concurrency_timeout_and_no_double_runs():
    doc = workflow()
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads the key `on` as true
    assert set(on) == {"push", "pull_request"} and on["push"]["branches"] == ["main"]
    assert doc["permissions"] == {"contents": "read", "actions": "read", "checks": "write"}
    # pull requests' older runs are cancelled; the default branch's are not (they are the baselines)
    assert doc["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    assert "pull_request.number" in doc["concurrency"]["group"]
    assert 0 < doc["jobs"]["gate"]["timeout-minutes"] <= 60


def test_the_gitlab_recipe_checks_both_dtypes_and_installs_a_pinned_release():
    job = yaml.safe_load(yaml_block_after("## GitLab CI"))["gradcheck"]
    script = " ".join(job["script"])
    assert "--dtype float64,float32" in script and "--shard ${CI_NODE_INDEX}/${CI_NODE_TOTAL}" in script
    assert "pip install -e" not in script and "pip install ." not in script
    assert "torch==" in script and "gradcheck-suite @ git+https://" in script
    assert job["artifacts"]["reports"]["junit"] == "reports/junit.xml" and job["artifacts"]["when"] == "always"
