"""`annotate --address auto` (and `ray://`) joins a running Ray cluster; `local` starts its own even then.

The cluster is a one-CPU head started here with `ray start --head --block` in its own temp dir; the test
stops it by ending that process (which takes its GCS, raylet and workers with it), never with `ray stop`,
which would stop every Ray instance of this user on the machine. RAY_ADDRESS names this cluster, so
`auto` cannot pick another one running here; token authentication is off on both sides (a fresh
machine's default), so the test does not depend on a token in the user's home.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="annotate needs the distributed extra (ray)")
from annotate_support import (  # noqa: E402
    DOCS_PER_SHARD, expected_ner, jsonl_entities, save_ruler_linker_pipeline, shard_collection,
)
from spacy_xmr.corpus.jsonl import write_jsonl  # noqa: E402

pytestmark = pytest.mark.slow  # a Ray head, then a driver that joins it: about a minute on 2 busy cores
CLI = [sys.executable, "-c", "from spacy_xmr.cli import main; main()"]
CLIENT_ADDRESS = "TEST_RAY_CLIENT_ADDRESS"  # the head's Ray Client server (`--address ray://…`), in the fixture's env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ray_command() -> list[str]:
    return [str(Path(sys.executable).with_name("ray"))] if Path(sys.executable).with_name("ray").exists() else ["ray"]


@pytest.fixture
def cluster_env():
    """The environment of a process that should join a running one-CPU head (started here, stopped after)."""
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    port, client_port = _free_port(), _free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}, "RAY_AUTH_MODE": "disabled"}
    with open(Path(temp_dir) / "head.log", "w") as log:  # the head's output, kept out of the test's
        head = subprocess.Popen(
            [*_ray_command(), "start", "--head", "--block", "--num-cpus", "1", "--port", str(port), "--temp-dir", temp_dir,
             "--ray-client-server-port", str(client_port), "--include-dashboard", "false", "--disable-usage-stats"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            yield {**env, "RAY_ADDRESS": f"127.0.0.1:{port}", CLIENT_ADDRESS: f"ray://127.0.0.1:{client_port}"}
        finally:
            head.send_signal(signal.SIGTERM)  # `ray start --block` then shuts down the processes it started
            try:
                head.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(head.pid, signal.SIGKILL)  # its own process group only (start_new_session)
                head.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_address_auto_runs_on_the_running_cluster(cluster_env, synthetic_ontology, synthetic_model_dir, tmp_path):
    pipeline = save_ruler_linker_pipeline(synthetic_ontology, synthetic_model_dir, tmp_path / "pipeline")
    inputs = []
    for seed in range(2):
        inputs.append(tmp_path / "in" / f"part{seed}.jsonl")
        inputs[-1].parent.mkdir(exist_ok=True)
        write_jsonl(shard_collection(synthetic_ontology, seed), inputs[-1])
    def annotate(address: str, output: str, *options: str) -> subprocess.CompletedProcess:
        command = [*CLI, "annotate", "--address", address, "--pipeline", str(pipeline), *options,
                   "--input", str(tmp_path / "in" / "*.jsonl"), "--output", str(tmp_path / output), "--format", "jsonl"]
        return subprocess.run(command, env=cluster_env, capture_output=True, text=True, timeout=600)

    deadline = time.monotonic() + 120
    while True:  # the head may still be starting: `auto` fails until its GCS answers
        result = annotate("auto", "out")
        if result.returncode == 0 or time.monotonic() > deadline or "Failed to connect" not in result.stdout + result.stderr:
            break
        time.sleep(5)
    assert result.returncode == 0, result.stdout + result.stderr
    # no --workers: as many as the cluster has CPUs, 1 here (a Ray started locally would have had os.cpu_count())
    assert f"{2 * DOCS_PER_SHARD} documents" in result.stdout and "on 1 worker(s)" in result.stdout, result.stdout
    assert jsonl_entities(tmp_path / "out") == expected_ner(pipeline, inputs)
    # more workers than the cluster's CPUs: refused at once, not waited for
    result = annotate("auto", "out_too_many", "--workers", "3")
    assert result.returncode == 1 and "--workers 3: the cluster has 1 CPUs" in " ".join(result.stdout.split()), result.stdout
    # through Ray Client (the `client` part of the distributed extra), as from a laptop
    result = annotate(cluster_env[CLIENT_ADDRESS], "out_client")
    assert result.returncode == 0, result.stdout + result.stderr
    assert jsonl_entities(tmp_path / "out_client") == jsonl_entities(tmp_path / "out")
    # `local` starts its own Ray although RAY_ADDRESS names a running cluster (2 workers there: it has 1 CPU)
    result = annotate("local", "out_local", "--workers", "2")
    assert result.returncode == 0 and "on 2 worker(s)" in result.stdout, result.stdout + result.stderr
    assert jsonl_entities(tmp_path / "out_local") == jsonl_entities(tmp_path / "out")
