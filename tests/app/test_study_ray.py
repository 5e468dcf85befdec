"""The study on a real local Ray cluster: a head and a second node (``ray start``, one CPU
each), the same summary as on this machine's worker processes, and the same again when a
worker process of the second node is killed by its PID in the middle of the study (Ray
retries its task). The test starts and stops the cluster itself, by the PIDs of its own
processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[dev]' installs it)")

from tests.support.ray_cluster import LocalRayCluster, Reaper

TASK_TITLE = "ray::cryptodesk_study_cell"


def test_a_ray_cluster_gives_the_same_summary_even_when_a_worker_dies(
        local_studies: dict[int, Path], study_inputs: Path, tmp_path: Path) -> None:
    from cryptodesk.app.study.api import make_runner, open_spec
    from cryptodesk.app.study.engine import run_study

    cluster = LocalRayCluster(cpus=1, extra=1)
    try:
        address = cluster.start()
        spec, text, _notes = open_spec(study_inputs / "study.toml")
        reaper = Reaper(cluster, node=1, title=TASK_TITLE, timeout=240)
        reaper.start()
        runner = make_runner(ray=address)
        outcome = run_study(spec, tmp_path / "ray", runner, spec_text=text)
        reaper.join(5)
    finally:
        left = cluster.stop()
    assert left == [], f"Ray processes still alive after the test stopped the cluster: {left}"
    assert reaper.killed is not None, "no worker of the second node ran a cell"
    assert outcome.done == outcome.cells == 10 and not outcome.failed
    assert len(runner.nodes) == 2 and runner.workers == 2
    records = [json.loads(p.read_text()) for p in (tmp_path / "ray" / "cells").glob("*/cell.json")]
    assert reaper.killed not in {r["ran"]["pid"] for r in records}  # its cell ran again
    assert (tmp_path / "ray" / "summary.csv").read_bytes() == (
        local_studies[1] / "summary.csv").read_bytes()
    env = json.loads((tmp_path / "ray" / "environment.json").read_text())
    assert env["runner"]["runner"] == "ray" and len(env["runner"]["nodes"]) == 2
