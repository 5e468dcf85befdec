"""A real Ray cluster on this machine for tests and benchmarks: a head node and extra nodes,
each started with ``ray start ... --block`` as a child process in its own session, every port
chosen free (so parallel test runs do not collide), and stopped by the PIDs of its own
processes, never with ``ray stop`` (which would stop every Ray cluster of the user).

Node processes share the fate of their ``ray start --block`` parent (Ray's kernel fate-sharing
on Linux); :meth:`LocalRayCluster.stop` still collects every descendant first and kills what
survives, then checks that none is left.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

START_TIMEOUT_S = 240.0
PORTS_PER_NODE = 8
WORKER_PORTS = 40
OBJECT_STORE_BYTES = 200 * 1024 * 1024  # small: fits a container's /dev/shm


def ray_executable() -> str | None:
    """The ``ray`` command beside this interpreter (the same environment as the tests)."""
    path = Path(sys.executable).with_name("ray")
    return str(path) if path.exists() else shutil.which("ray")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, taken: set[int]) -> list[int]:
    """``count`` free ports (random, so two runs rarely race for the same ones)."""
    out: list[int] = []
    while len(out) < count:
        port = random.randint(20_000, 59_000)
        if port not in taken and _free(port):
            taken.add(port)
            out.append(port)
    return out


def free_range(size: int, taken: set[int]) -> tuple[int, int]:
    """A run of ``size`` consecutive free ports (Ray's worker port range)."""
    while True:
        low = random.randint(20_000, 59_000 - size)
        ports = range(low, low + size)
        if not taken.intersection(ports) and all(_free(p) for p in ports):
            taken.update(ports)
            return low, low + size - 1


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace").strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Node:
    """One ``ray start --block`` process and what it printed."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "wb")  # closed in stop()
        self.process = subprocess.Popen(args, stdout=self._out, stderr=subprocess.STDOUT,
                                        env=env, start_new_session=True)

    def wait_started(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if "Ray runtime started" in text:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"ray start exited ({self.process.returncode}): "
                                   f"{text[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"ray start did not finish within {timeout:.0f} s: "
                           f"{self.log.read_text(errors='replace')[-2000:]}")

    def processes(self) -> set[int]:
        return {self.process.pid, *descendants(self.process.pid)}


class LocalRayCluster:
    """A head plus ``extra`` nodes of ``cpus`` CPUs each (see module docstring)."""

    def __init__(self, cpus: int = 1, extra: int = 1) -> None:
        self.cpus, self.extra = cpus, extra
        # Ray's socket paths must stay short (AF_UNIX: 107 bytes): a short folder in /tmp
        self.temp = Path(tempfile.mkdtemp(prefix="cdray", dir="/tmp"))
        self.nodes: list[Node] = []
        self.address = ""
        self._taken: set[int] = set()
        self._seen: set[int] = set()

    def _node_args(self) -> list[str]:
        ports = free_ports(PORTS_PER_NODE - 1, self._taken)
        low, high = free_range(WORKER_PORTS, self._taken)
        return ["--node-ip-address", "127.0.0.1", "--num-cpus", str(self.cpus),
                "--node-manager-port", str(ports[0]), "--object-manager-port", str(ports[1]),
                "--dashboard-agent-listen-port", str(ports[2]),
                "--dashboard-agent-grpc-port", str(ports[3]),
                "--runtime-env-agent-port", str(ports[4]),
                "--metrics-export-port", str(ports[5]),
                "--min-worker-port", str(low), "--max-worker-port", str(high),
                "--include-log-monitor=false",  # the study reads no worker logs: one process less
                "--object-store-memory", str(OBJECT_STORE_BYTES),
                "--disable-usage-stats", "--block"]

    def start(self) -> str:
        """Start the head and the extra nodes; returns the address (``127.0.0.1:port``)."""
        ray = ray_executable()
        if ray is None:
            raise RuntimeError("the ray command is not installed")
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        port, client = free_ports(2, self._taken)
        self.address = f"127.0.0.1:{port}"
        head = Node([ray, "start", "--head", "--port", str(port), "--ray-client-server-port",
                     str(client), "--include-dashboard=false", "--temp-dir", str(self.temp),
                     *self._node_args()], env, self.temp / "head.log")
        self.nodes.append(head)
        head.wait_started(START_TIMEOUT_S)
        for i in range(self.extra):
            node = Node([ray, "start", "--address", self.address, *self._node_args()], env,
                        self.temp / f"node{i + 1}.log")
            self.nodes.append(node)
            node.wait_started(START_TIMEOUT_S)
        return self.address

    def workers(self, node: int, title: str) -> list[int]:
        """PIDs of node ``node``'s worker processes whose title starts with ``title``
        (a Ray worker running a task is titled ``ray::<task name>``)."""
        return [pid for pid in sorted(self.nodes[node].processes())
                if command_line(pid).startswith(title)]

    def kill_first_worker(self, node: int, title: str, timeout: float) -> int | None:
        """Wait for a worker of ``node`` titled ``title`` and kill it (SIGKILL); its PID."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.workers(node, title)
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                return pids[0]
            time.sleep(0.05)
        return None

    def stop(self) -> list[int]:
        """Stop every node (SIGTERM to each ``ray start``, then SIGKILL to what survives);
        returns the PIDs still alive afterwards (none, normally)."""
        pids: set[int] = set()
        for node in self.nodes:
            pids |= node.processes()
        for node in reversed(self.nodes):
            with contextlib.suppress(ProcessLookupError):
                node.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(0.2)
        for pid in pids:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        for node in self.nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(5)
            node._out.close()
        time.sleep(0.5)
        left = sorted(p for p in pids if alive(p))
        shutil.rmtree(self.temp, ignore_errors=True)
        return left


class Reaper(threading.Thread):
    """Kills the first worker of a node that runs a given task (in the background)."""

    def __init__(self, cluster: LocalRayCluster, node: int, title: str, timeout: float) -> None:
        super().__init__(daemon=True, name="ray-worker-reaper")
        self.cluster, self.node, self.title, self.timeout = cluster, node, title, timeout
        self.killed: int | None = None

    def run(self) -> None:
        self.killed = self.cluster.kill_first_worker(self.node, self.title, self.timeout)
