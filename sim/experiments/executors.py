"""Where sweep runs execute: local worker processes, this process, or a Dask cluster.

Every executor takes an iterator of tasks and yields rows as runs finish, in
whatever order they finish; the sweep sorts them. Local workers are separate
Python processes running ``sim.experiments.worker.main`` fed over pipes, so
nothing depends on ``fork`` and a script or notebook needs no ``if __name__ ==
"__main__"`` guard; when the sweep is killed, its workers see their input close
and exit. Only lines marked as rows are read from a worker: a library that
prints cannot stall or spoil a sweep.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from sim.experiments.worker import ROW_PREFIX, failed_row, run_task

log = logging.getLogger(__name__)

#: The worker's command line.
WORKER = "import sys, sim.experiments.worker as w; sys.exit(w.main())"


class InProcess:
    """Run tasks one after another in this process (``workers=0``)."""

    def start(self) -> None:
        """Nothing to start."""

    def run(self, tasks: Iterable[dict]) -> Iterator[dict]:
        """Yield each task's row."""
        for task in tasks:
            yield run_task(task)

    def close(self) -> None:
        """Nothing to release."""

    def kill(self) -> None:
        """Nothing to stop: the run under way is interrupted with this process."""


class LocalWorkers:
    """``n`` worker processes on this machine, each fed one task at a time."""

    def __init__(self, n: int) -> None:
        self.n = max(1, n)
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen] = []
        self._idle: list[subprocess.Popen] = []

    def start(self) -> None:
        """Start the workers now, so their imports overlap the sweep's own preparation."""
        self._idle = [self._start() for _ in range(self.n)]

    def _start(self) -> subprocess.Popen:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
        log.debug("started worker process %d", proc.pid)
        with self._lock:
            self._procs.append(proc)
        return proc

    @staticmethod
    def _read_row(proc: subprocess.Popen) -> dict | None:
        """The worker's next row, skipping any stray output; None if the worker died."""
        while line := proc.stdout.readline():
            if line.startswith(ROW_PREFIX):
                return json.loads(line[len(ROW_PREFIX):])
            log.warning("worker %d printed %r (ignored)", proc.pid, line.rstrip()[:200])
        return None

    def run(self, tasks: Iterable[dict]) -> Iterator[dict]:
        """Yield rows as the workers finish them."""
        source = iter(tasks)
        results: queue.Queue = queue.Queue()

        def next_task() -> dict | None:
            with self._lock:
                return next(source, None)

        def serve() -> None:
            with self._lock:
                proc = self._idle.pop() if self._idle else None
            proc = proc or self._start()
            while (task := next_task()) is not None:
                try:
                    proc.stdin.write(json.dumps(task) + "\n")
                    proc.stdin.flush()
                    row = self._read_row(proc)
                except (OSError, ValueError):  # a broken pipe, or a row cut short
                    row = None
                if row is not None:
                    results.put(row)
                    continue
                code = proc.wait()
                results.put(failed_row(task, f"worker process died (exit status {code})"))
                proc = self._start()

        def serve_then_signal() -> None:
            try:
                serve()
            except BaseException as exc:  # never leave the sweep waiting for this thread
                results.put(exc)
            finally:
                results.put(None)

        threads = [threading.Thread(target=serve_then_signal, daemon=True)
                   for _ in range(self.n)]
        for thread in threads:
            thread.start()
        running = len(threads)
        while running:
            row = results.get()
            if row is None:
                running -= 1
            elif isinstance(row, BaseException):
                raise row
            else:
                yield row

    def close(self) -> None:
        """Close the workers' input; idle workers exit at once (a blocking wait, no polling)."""
        for proc in self._procs:
            if proc.stdin and not proc.stdin.closed:
                proc.stdin.close()
        for proc in self._procs:
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
        self._procs.clear()

    def kill(self) -> None:
        """Stop every worker at once (on an error or Ctrl-C in the sweep)."""
        for proc in self._procs:
            proc.kill()
        self.close()


class DaskCluster:
    """Runs on a Dask distributed cluster at ``address`` (needs ``dask[distributed]``)."""

    def __init__(self, address: str) -> None:
        from distributed import Client

        self.client = Client(address)
        workers = self.client.scheduler_info().get("workers", {})
        self.window = max(2, 2 * sum(w.get("nthreads", 1) for w in workers.values()))

    def start(self) -> None:
        """The cluster is already running."""

    def run(self, tasks: Iterable[dict]) -> Iterator[dict]:
        """Yield rows as the cluster finishes them, keeping a bounded number in flight."""
        from distributed import as_completed

        source = iter(tasks)
        submitted = {}

        def submit(task: dict) -> Any:
            future = self.client.submit(run_task, task, pure=False)
            submitted[future.key] = task
            return future

        pending = as_completed([submit(task) for task in islice(source, self.window)])
        for future in pending:
            task = submitted.pop(future.key)
            if future.status == "error":
                yield failed_row(task, f"dask: {future.exception()!r}")
            else:
                yield future.result()
            future.release()
            nxt = next(source, None)
            if nxt is not None:
                pending.add(submit(nxt))

    def close(self) -> None:
        """Disconnect from the cluster (it keeps running)."""
        self.client.close()

    kill = close


def executor(workers: int | None = None, scheduler: str | None = None) -> Any:
    """The executor for ``workers`` local processes, or for a Dask ``scheduler`` address."""
    if scheduler:
        return DaskCluster(scheduler)
    if workers == 0:
        return InProcess()
    return LocalWorkers(workers or os.cpu_count() or 1)
