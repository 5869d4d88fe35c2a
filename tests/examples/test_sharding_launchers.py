"""The sharded-apply launchers in examples/sharding/: a GitHub Actions workflow and Kubernetes Jobs.

They parse as YAML, their job graphs are prepare -> shards -> finish, every shard gets its own
1-based shard number (the shell expressions are run, not just read), and the files one step
writes are the files the next one reads.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
SHARDING = ROOT / "examples" / "sharding"
WORKFLOW = SHARDING / "github-actions.yml"
K8S = SHARDING / "kubernetes"


def _load_all(path: Path) -> list[Any]:
    return [doc for doc in YAML(typ="safe").load_all(path.read_text()) if doc is not None]


def _load(path: Path) -> Any:
    (doc,) = _load_all(path)
    return doc


def _option(command: str, name: str) -> str:
    """The value after ``name`` in a command line (quotes removed)."""
    words = shlex.split(command, posix=True)
    return words[words.index(name) + 1]


@pytest.mark.parametrize("path", sorted(SHARDING.rglob("*.yml")), ids=lambda p: p.name)
def test_every_launcher_file_is_yaml_with_a_header_comment(path: Path) -> None:
    assert _load_all(path)
    assert path.read_text().startswith("# labelsync")


# -- GitHub Actions -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    doc = _load(WORKFLOW)
    assert isinstance(doc, dict)
    return doc


def _step(job: dict[str, Any], *, uses: str | None = None, runs: str | None = None) -> list[dict[str, Any]]:
    return [
        s for s in job["steps"]
        if (uses is not None and str(s.get("uses", "")).startswith(uses)) or (runs is not None and runs in str(s.get("run", "")))
    ]


def _labelsync_run(job: dict[str, Any], needle: str) -> str:
    (step,) = _step(job, runs=needle)
    return " ".join(str(step["run"]).split())


def test_workflow_graph_is_prepare_then_a_matrix_of_shards_then_finish(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert set(jobs) == {"prepare", "shard", "finish"}
    assert "needs" not in jobs["prepare"]
    assert jobs["shard"]["needs"] == "prepare"
    assert jobs["shard"]["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.prepare.outputs.shards) }}"
    assert jobs["shard"]["strategy"]["fail-fast"] is False  # one dead shard does not cancel the others
    assert "shard" in jobs["finish"]["needs"]
    assert "if" not in jobs["finish"]  # runs only when every shard passed
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert "workflow_dispatch" in workflow["on"]


def test_prepare_computes_the_matrix_from_SHARDS(workflow: dict[str, Any], tmp_path: Path) -> None:
    prepare = workflow["jobs"]["prepare"]
    (step,) = [s for s in prepare["steps"] if s.get("id") == "matrix"]
    assert prepare["outputs"]["shards"] == "${{ steps.matrix.outputs.shards }}"
    out = tmp_path / "github_output"
    env = {"SHARDS": "4", "GITHUB_OUTPUT": str(out), "PATH": "/usr/bin:/bin"}
    subprocess.run(["bash", "-euo", "pipefail", "-c", step["run"]], env=env, check=True)
    assert out.read_text() == "shards=[1,2,3,4]\n"
    assert str(workflow["env"]["SHARDS"]) == "4"


def test_workflow_commands_hand_their_files_on(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    prepare = _labelsync_run(jobs["prepare"], "--prepare")
    assert prepare.startswith("labelsync apply --prepare -o shards.json --shards")
    assert _option(prepare, "--shards") == "$SHARDS"
    (upload,) = _step(jobs["prepare"], uses="actions/upload-artifact@")
    plan_artifact = upload["with"]["name"]
    assert upload["with"]["path"].split() == ["shards.json", "shards.live"]  # the shards' share of the remote too

    shard = _labelsync_run(jobs["shard"], "--shard ")
    assert shard.startswith("labelsync apply shards.json --shard")
    assert _option(shard, "--shard") == "${{ matrix.shard }}/$SHARDS"
    assert _option(shard, "--max-requests-per-second") == "$MAX_RPS"
    report_dir = _option(shard, "--report-dir")
    (download,) = _step(jobs["shard"], uses="actions/download-artifact@")
    assert download["with"]["name"] == plan_artifact
    (report,) = _step(jobs["shard"], uses="actions/upload-artifact@")
    assert "${{ matrix.shard }}" in report["with"]["name"]  # one artifact per shard
    assert report["with"]["path"].rstrip("/") == report_dir

    finish = _labelsync_run(jobs["finish"], "--finish")
    assert finish.startswith("labelsync apply shards.json --finish")
    downloads = _step(jobs["finish"], uses="actions/download-artifact@")
    assert {d["with"].get("name") for d in downloads} >= {plan_artifact}
    (reports,) = [d for d in downloads if "pattern" in d["with"]]
    prefix = report["with"]["name"].split("${{")[0]
    assert reports["with"]["pattern"] == prefix + "*" and reports["with"]["merge-multiple"] is True
    assert reports["with"]["path"] == report_dir == _option(finish, "--report-dir")
    token = workflow["env"]["TENSORBAY_ACCESS_KEY"]
    assert token == "${{ secrets.TENSORBAY_ACCESS_KEY }}"  # from a secret, never a literal


# -- Kubernetes -----------------------------------------------------------------------------


def _job(name: str) -> dict[str, Any]:
    doc = _load(K8S / name)
    assert doc["apiVersion"] == "batch/v1" and doc["kind"] == "Job"
    return dict(doc)


def _container(job: dict[str, Any]) -> dict[str, Any]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _command(container: dict[str, Any]) -> str:
    assert container["command"] == ["sh", "-c"]
    (script,) = container["args"]
    return " ".join(str(script).split())


def _claims(job: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``{mountPath: (volume kind, claim or '')}`` of the job's main container."""
    spec = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    out = {}
    for mount in _container(job)["volumeMounts"]:
        volume = volumes[mount["name"]]
        claim = volume.get("persistentVolumeClaim", {}).get("claimName", "")
        out[mount["mountPath"]] = ("pvc" if claim else next(k for k in volume if k != "name"), claim)
    return out


def test_shards_job_is_indexed_with_a_one_based_shard_per_pod() -> None:
    job = _job("shards-job.yml")
    spec = job["spec"]
    container = _container(job)
    shards = int(_env(container)["SHARDS"])
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == shards == int(_env(_container(_job("prepare-job.yml")))["SHARDS"])
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["backoffLimitPerIndex"] >= 1 and spec["maxFailedIndexes"] == 0
    command = _command(container)
    assert command.startswith("labelsync apply /shards/shards.json --shard")
    shard_word = re.search(r'--shard ("[^"]+")', command)
    assert shard_word is not None
    seen = []
    for index in range(shards):  # what the pod's shell makes of it, for each completion index
        env = {"JOB_COMPLETION_INDEX": str(index), "SHARDS": str(shards), "PATH": "/usr/bin:/bin"}
        seen.append(subprocess.run(["sh", "-c", f"echo {shard_word.group(1)}"], env=env, capture_output=True, text=True, check=True).stdout.strip())
    assert seen == [f"{i}/{shards}" for i in range(1, shards + 1)]


def test_jobs_share_shards_json_and_the_report_dir() -> None:
    prepare, shards, finish = (_job(n) for n in ("prepare-job.yml", "shards-job.yml", "finish-job.yml"))
    made = _option(_command(_container(prepare)), "-o")
    assert made == "/shards/shards.json"
    assert _command(_container(shards)).split()[2] == made == _command(_container(finish)).split()[2]
    assert "--finish" in _command(_container(finish))
    assert _option(_command(_container(shards)), "--report-dir") == _option(_command(_container(finish)), "--report-dir")
    volumes = {d["metadata"]["name"]: d for d in _load_all(K8S / "volumes.yml") if d["kind"] == "PersistentVolumeClaim"}
    assert volumes["labelsync-shards"]["spec"]["accessModes"] == ["ReadWriteMany"]
    for job in (prepare, shards, finish):
        mounts = _claims(job)
        assert mounts["/shards"] == ("pvc", "labelsync-shards")  # one shared volume for every step
        assert mounts["/work"][0] == "emptyDir"  # a writable checkout per pod (the hash cache)
        assert all(claim in volumes for kind, claim in mounts.values() if kind == "pvc")
        token = _env(_container(job))["TENSORBAY_ACCESS_KEY"]
        assert token == {"secretKeyRef": {"name": "labelsync", "key": "tensorbay-access-key"}}
        assert _container(job)["workingDir"] == "/work/repo"
        (init,) = job["spec"]["template"]["spec"]["initContainers"]
        assert "/work/repo" in init["args"]


def test_run_script_applies_the_jobs_in_order_and_waits_for_each() -> None:
    lines = [line for line in (K8S / "run.sh").read_text().splitlines() if line.startswith("kubectl ")]
    order = [line.split()[-1] for line in lines if line.startswith(("kubectl apply", "kubectl wait"))]
    assert order == [
        '"$here/volumes.yml"',
        '"$here/prepare-job.yml"', "job/labelsync-prepare",
        '"$here/shards-job.yml"', "job/labelsync-shards",
        '"$here/finish-job.yml"', "job/labelsync-finish",
    ]
    assert subprocess.run(["sh", "-n", str(K8S / "run.sh")]).returncode == 0


# -- the launchers use the CLI as it is -----------------------------------------------------


def _labelsync_commands() -> list[str]:
    """Every ``labelsync ...`` command line of the launchers."""
    found = []
    for job in _load(WORKFLOW)["jobs"].values():
        found += [" ".join(str(s["run"]).split()) for s in job["steps"] if str(s.get("run", "")).startswith("labelsync ")]
    for name in ("prepare-job.yml", "shards-job.yml", "finish-job.yml"):
        found.append(_command(_container(_job(name))))
    return found


def test_every_option_the_launchers_pass_is_an_option_of_apply() -> None:
    from click.testing import CliRunner

    from labelsync.cli import cli

    help_text = CliRunner().invoke(cli, ["apply", "--help"]).output
    commands = _labelsync_commands()
    assert len(commands) == 6
    for command in commands:
        assert command.startswith("labelsync apply "), command
        for option in re.findall(r"(?<!\S)(--?[a-z][a-z-]*)", command):
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text), f"{option} ({command})"
