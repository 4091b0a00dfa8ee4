"""Where a compare's units of work run: this process and spawned worker processes, or Ray.

A unit is trained by ``run(folder, unit, threads, figures) -> list of results`` (a
top-level function, so that spawned processes and Ray can pickle it); ``done(results)``
records them and says whether to stop (Ctrl-C, ``--fail-fast``).
"""

from __future__ import annotations

import os
import socket
import sys
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from actcli import collector
from actcli.errors import ActcliError, RunError, quote

Run = Callable[[str, Any, int, bool], list[Any]]  # (folder, unit, threads, figures) -> results
Done = Callable[[list[Any]], bool]  # record results; True: stop


def start_worker(parent: int) -> None:
    """A spawned worker's first call: hold the collector while it imports and starts (as
    the console entry does: actcli.collector), and end with the compare."""
    collector.hold()
    follow_parent(parent)


def follow_parent(parent: int) -> None:
    """In a worker: end when the process that started it ends, however that ends (a
    SIGKILLed compare left its workers training for minutes). Linux: the kernel sends the
    worker SIGKILL when its parent dies (PR_SET_PDEATHSIG); elsewhere, and as a check that
    the parent did not die before that was set, a thread watches the parent's pid."""
    import signal
    import threading
    import time

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no prctl here: the thread below still watches
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent:  # re-parented: the compare is gone
                os._exit(1)
            time.sleep(1.0)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="actcli-follow-parent", daemon=True).start()


def on_processes(run: Run, folder: str, work: Sequence[Any], threads: int, figures: bool,
                 workers: int, done: Done) -> bool:
    """Run the units of ``work`` on ``workers`` processes: this one (torch is imported
    here already) and ``workers - 1`` spawned ones, each taking the next unit when it is
    free (spawned ones from the front of ``work``, this one from the back). True when
    ``done`` asked to stop."""
    queue = deque(work)
    if workers == 1 or len(queue) <= 1:
        while queue:
            if done(run(folder, queue.popleft(), threads, figures)):
                return True
        return False
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=get_context("spawn"),
                             initializer=start_worker, initargs=(os.getpid(),)) as pool:
        pending: set[Future[list[Any]]] = set()
        stopped = False

        def fill() -> None:
            while queue and len(pending) < workers - 1 and not stopped:
                pending.add(pool.submit(run, folder, queue.popleft(), threads, figures))

        def collect(block: bool) -> bool:
            nonlocal pending
            finished, pending = wait(pending, timeout=None if block else 0,
                                     return_when=FIRST_COMPLETED)
            try:
                return any([done(future.result()) for future in finished])  # record all
            except BrokenProcessPool:
                raise WorkerLost("a worker process died (killed, or out of memory?) while "
                                 "it trained a unit") from None

        try:
            fill()
            while (queue or pending) and not stopped:
                if queue:
                    stopped = done(run(folder, queue.pop(), threads, figures))
                    stopped = collect(block=False) or stopped
                else:
                    stopped = collect(block=True)
                fill()
        finally:
            for future in pending:
                future.cancel()
        # units already running when the compare stopped finish anyway: keep what they did
        for future in pending:
            if not future.cancelled():
                done(future.result())
        return stopped


class WorkerLost(RunError):
    """A spawned worker process ended without a result (killed, out of memory)."""


class ClusterLost(RunError):
    """The Ray cluster stopped answering while (or before) it ran a compare's units."""


PROBE_SECONDS = 3.0  # how long a Ray address may take to answer before it counts as dead
WAIT_SECONDS = 2.0  # how often a running compare checks that its cluster is still there


def _endpoint(address: str | None) -> tuple[str, int] | None:
    """(host, port) of a ``host:port`` Ray address (its GCS); None for a local Ray,
    ``auto`` or a ``ray://`` client address, which Ray resolves itself."""
    if not address or "://" in address or ":" not in address:
        return None
    host, _, port = address.rpartition(":")
    return (host.strip("[]"), int(port)) if port.isdigit() else None


def _answers(endpoint: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(endpoint, timeout=PROBE_SECONDS):
            return True
    except OSError:
        return False


def check_address(address: str | None) -> None:
    """Refuse, within seconds, a Ray address where nothing answers (Ray itself would
    retry for a minute, then again on every call)."""
    endpoint = _endpoint(address)
    if endpoint is not None and not _answers(endpoint):
        raise ClusterLost(f"--ray-address {quote(address)}: no Ray cluster answers there; "
                          "start it (ray start --head), or run on this machine with "
                          "--backend processes")


def ray_cpus(address: str | None) -> int | None:
    """The CPUs of the Ray cluster at ``address`` (None: no Ray, or a local one: this
    machine's cores count)."""
    if address is None:
        return None
    check_address(address)
    try:
        import ray
    except ImportError:
        return None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        return int(ray.cluster_resources().get("CPU", 0)) or None
    finally:
        if started_here:
            ray.shutdown()


def on_ray(run: Run, folder: str, work: Sequence[Any], threads: int, figures: bool,
           address: str | None, done: Done) -> bool:
    """Run the units of ``work`` as Ray tasks of ``threads`` CPUs each (``address``: the
    cluster, None: a local Ray); True when ``done`` asked to stop. ``folder`` must be on
    storage every Ray node can write."""
    check_address(address)
    try:
        import ray
    except ImportError:
        raise ActcliError('--backend ray needs Ray: pip install "actcli[ray]"') from None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     num_cpus=None if address else (os.cpu_count() or 1))
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ActcliError(f"--ray-address: cannot reach Ray at {quote(address)}: {err}"
                              ) from None
    endpoint = _endpoint(address)
    lost = False
    try:
        # Any: Ray's typing knows remote functions of fixed small arity only
        task: Any = ray.remote(num_cpus=threads)(run)
        pending = [task.remote(folder, unit, threads, figures) for unit in work]
        while pending:
            finished, pending = ray.wait(pending, num_returns=1, timeout=WAIT_SECONDS)
            if not finished:  # nothing done yet: is the cluster still there?
                if endpoint is not None and not _answers(endpoint):
                    lost = True
                    raise ClusterLost(f"the Ray cluster at {address} stopped answering")
                continue
            if done(ray.get(finished[0])):
                for ref in pending:
                    ray.cancel(ref)
                return True
        return False
    except ray.exceptions.RayError as err:  # a node or the cluster died under a task
        lost = True
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ClusterLost(f"the Ray cluster failed: {quote(first, 160)}") from None
    finally:
        if started_here and not lost:  # a lost cluster cannot be shut down: Ray would wait
            ray.shutdown()
