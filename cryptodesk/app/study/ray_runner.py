"""Cells as tasks on an existing Ray cluster (``cryptodesk study run --ray ADDRESS``).

Ray is an optional extra (``pip install "cryptodesk[cluster]"``) imported only here, only when
a study asks for a cluster. The runner

1. connects to the cluster (a one-line error when Ray is missing or the address does not
   answer) and checks that every node runs the same Python, CryptoDesk and library versions as
   this machine, refusing a mismatch with the node and the versions that differ: the same cell
   must give the same numbers wherever it runs;
2. ships each candle series **once** with ``ray.put`` (an Arrow table with the series'
   metadata), so a study of 100 cells on one series moves its bars once;
3. submits every cell as a task (``num_cpus`` = the cell's threads). The task gets the cell's
   JSON payload and the series' object reference and returns bytes: the job wire's JSON header
   plus Parquet blobs (:mod:`cryptodesk.app.jobs.wire`) — never a pickled model. A task lost
   with a dead worker or node is retried by Ray (``max_retries``) and, being seeded and
   deterministic, gives the same result;
4. on cancel, cancels the tasks still pending or running and keeps what came back.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Iterator
from typing import Any

from cryptodesk.app.study import cell_job as _cell_job  # noqa: F401  (CellResult on the wire)
from cryptodesk.app.study.cells import Cell, SeriesData
from cryptodesk.app.study.dispatch import CellEvent
from cryptodesk.app.study.environment import mismatches, versions
from cryptodesk.errors import CryptoDeskError
from cryptodesk.jobs import Cancelled as CancelledError
from cryptodesk.jobs import TaskContext

INSTALL_HINT = 'pip install "cryptodesk[cluster]"  (or: pip install ray)'
MAX_RETRIES = 3
WAIT_S = 0.2
CONNECT_TIMEOUT_S = 5.0
TASK_NAME = "cryptodesk_study_cell"


class ClusterError(CryptoDeskError):
    """The Ray cluster cannot be used (not installed, unreachable, versions differ)."""


def import_ray() -> Any:
    """Ray, or a one-line ClusterError saying exactly what to install."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise ClusterError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None


def to_arrow(frame: Any) -> Any:
    """A candle frame as an Arrow table, its metadata (symbol, timeframe...) kept."""
    import pyarrow as pa

    from cryptodesk.safejson import to_jsonable

    table = pa.Table.from_pandas(frame, preserve_index=True)
    attrs = json.dumps(to_jsonable(dict(frame.attrs))).encode("utf-8")
    return table.replace_schema_metadata({**(table.schema.metadata or {}),
                                          b"cryptodesk.attrs": attrs})


def from_arrow(table: Any) -> Any:
    """The candle frame back from :func:`to_arrow`."""
    frame = table.to_pandas()
    raw = (table.schema.metadata or {}).get(b"cryptodesk.attrs")
    if raw:
        frame.attrs.update(json.loads(raw.decode("utf-8")))
    return frame


def ray_cell(payload_json: str, table: Any) -> bytes:
    """The Ray task: run one cell on shipped candles; the result (or the failure) as wire
    bytes. A user error or a bug comes back as a ``Failed`` event, not an exception, so Ray
    retries only what it should: a task whose worker died."""
    import traceback

    from cryptodesk.app.jobs import wire
    from cryptodesk.app.jobs.events import Failed
    from cryptodesk.app.study.cell_job import run_cell
    from cryptodesk.jobs import TaskContext as Context

    try:
        return wire.encode(run_cell(json.loads(payload_json), Context(), from_arrow(table)))
    except CryptoDeskError as exc:
        return wire.encode(Failed(str(exc), "", "error"))
    except Exception as exc:  # a bug must come back as a failure, not as a retry
        return wire.encode(Failed(f"{type(exc).__name__}: {exc}", traceback.format_exc(), "bug"))


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast, in one line, when nothing listens at ``host:port`` (``ray.init`` itself
    keeps retrying for minutes). ``auto`` and addresses without a port are left to Ray."""
    import socket

    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ClusterError(f"no Ray cluster answers at {address} ({exc.strerror or exc}); start "
                           "one with 'ray start --head', or check the address and the "
                           "firewall") from None


def node_environment() -> dict[str, str]:
    """The Ray task that reports a node's versions."""
    return versions()


class RayRunner:
    """Runs cells as tasks on the Ray cluster at ``address`` (see module docstring)."""

    name = "ray"

    def __init__(self, address: str, threads: int = 1, max_retries: int = MAX_RETRIES) -> None:
        self.address = address
        self.threads = threads
        self.max_retries = max_retries
        self.workers = 1
        self.nodes: dict[str, dict[str, str]] = {}
        self._ray: Any = None

    def describe(self) -> dict[str, Any]:
        return {"runner": "ray", "address": self.address, "cpus": self.workers,
                "threads_per_cell": self.threads, "nodes": self.nodes}

    def connect(self) -> None:
        """Join the cluster and check its versions (a one-line ClusterError otherwise)."""
        if self._ray is not None:
            return
        if importlib.util.find_spec("ray") is None:
            import_ray()  # the one-line "not installed" error
        check_reachable(self.address)  # before importing Ray: seconds saved on a typo
        ray = import_ray()
        self._connect(ray)
        self._ray = ray

    def close(self) -> None:
        """Leave the cluster (the cluster itself keeps running)."""
        if self._ray is not None:
            self._ray.shutdown()
            self._ray = None

    def run(self, cells: list[Cell], series: list[SeriesData],
            ctx: TaskContext) -> Iterator[CellEvent]:
        self.connect()
        yield from self._run(self._ray, cells, series, ctx)

    def _connect(self, ray: Any) -> None:
        try:
            ray.init(address=self.address, logging_level="ERROR", log_to_driver=False,
                     configure_logging=False, include_dashboard=False)
        except ConnectionError as exc:
            raise ClusterError(f"no Ray cluster answers at {self.address} ({_first_line(exc)}); "
                               "start one with 'ray start --head'") from None
        except (RuntimeError, ValueError) as exc:  # Ray's own Python/Ray version check
            raise ClusterError(f"cannot join the Ray cluster at {self.address}: "
                               f"{_first_line(exc)}") from None
        try:
            self.nodes = self._node_versions(ray)
            problems = mismatches(versions(), self.nodes)
            if problems:
                raise ClusterError(
                    "the Ray cluster does not run the same versions as this machine ("
                    + "; ".join(problems) + "); install the same Python, CryptoDesk and "
                    "library versions on every node")
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // self.threads)
        except BaseException:
            ray.shutdown()
            raise

    def _node_versions(self, ray: Any) -> dict[str, dict[str, str]]:
        """Each alive node's versions, from a tiny task pinned to that node."""
        # by name, like Ray itself: no module of CryptoDesk imports Ray statically, so the
        # GUI process (which may call the study API) is never tied to it (import-linter)
        strategies = importlib.import_module("ray.util.scheduling_strategies")
        task = ray.remote(num_cpus=0, max_retries=self.max_retries)(node_environment)
        alive = [n for n in ray.nodes() if n.get("Alive")]
        refs = {n["NodeManagerAddress"] + ":" + str(n.get("NodeManagerPort", "")):
                task.options(scheduling_strategy=strategies.NodeAffinitySchedulingStrategy(
                    n["NodeID"], soft=False)).remote() for n in alive}
        return {name: ray.get(ref, timeout=300) for name, ref in refs.items()}

    def _run(self, ray: Any, cells: list[Cell], series: list[SeriesData],
             ctx: TaskContext) -> Iterator[CellEvent]:
        """Submit every cell at once (Ray schedules them over the nodes); report a cell as
        started when a CPU frees up for it (Ray does not say when a task starts)."""
        from cryptodesk.app.jobs import wire
        from cryptodesk.app.jobs.events import Failed

        needed = {c.series for c in cells}
        shipped = {s.index: ray.put(to_arrow(s.candles)) for s in series if s.index in needed}
        task = ray.remote(num_cpus=self.threads, max_retries=self.max_retries,
                          retry_exceptions=False)(ray_cell).options(name=TASK_NAME)
        pending = {task.remote(json.dumps(c.payload()), shipped[c.series]): c for c in cells}
        queue = list(cells)
        for cell in queue[: self.workers]:
            yield CellEvent(cell, "started")
        del queue[: self.workers]
        try:
            while pending:
                if ctx.cancelled():
                    raise CancelledError("cancelled by the user")
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_S)
                for ref in ready:
                    cell = pending.pop(ref)
                    if queue:
                        yield CellEvent(queue.pop(0), "started")
                    yield _event(cell, ref, ray, wire, Failed)
        finally:  # cancelled, Ctrl+C or an error here: leave no task running on the cluster
            for ref in pending:
                ray.cancel(ref, force=True)


def _event(cell: Cell, ref: Any, ray: Any, wire: Any, failed: type) -> CellEvent:
    """A finished task's cell event: done, failed (an error or bug in the cell), or crashed
    (the task died more often than Ray may retry it)."""
    try:
        value = wire.decode(ray.get(ref))
    except Exception as exc:
        return CellEvent(cell, "failed", failure="crash",
                         message=f"the Ray task failed: {_first_line(exc)}")
    if isinstance(value, failed):
        return CellEvent(cell, "failed", message=value.message, failure=value.kind)
    return CellEvent(cell, "done", result=value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
