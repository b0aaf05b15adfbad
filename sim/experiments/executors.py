"""Where sweep runs execute: local worker processes, this process, or a Dask cluster.

Every executor takes an iterator of tasks and yields rows as runs finish, in
whatever order they finish; the sweep sorts them. ``close()`` ends a session
whose runs are done; ``kill()`` stops everything at once (Ctrl-C, or an error in
the sweep such as a full disk) and returns within seconds, no worker left.

Local workers are separate Python processes running ``sim.experiments.worker.main``
fed over pipes, one reader thread each, so nothing depends on ``fork`` and a
script or notebook needs no ``if __name__ == "__main__"`` guard. Workers ignore
Ctrl-C (a terminal sends it to the whole process group; the sweep stops its
workers itself), and when the sweep is killed outright they see their input
close and exit after the run under way. Only lines marked as rows are read from
a worker: a library that prints cannot stall or spoil a sweep.

A worker that dies under a run (killed from outside, out of memory, a node lost)
is not the run's failure: the run goes to a fresh worker, up to ``retries``
times, and is then returned with ``status = "lost"`` for ``--resume`` to run
again. A worker that exits with an error status of its own (a broken
installation) stops the sweep with :class:`WorkerError`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from sim.errors import SetupError
from sim.experiments.worker import ROW_PREFIX, lost_row, run_task

log = logging.getLogger(__name__)

#: The worker's command line; Ctrl-C is ignored from its first statement (see ``main``).
#: Once its input closes it leaves at once: its rows are flushed, and the interpreter's
#: teardown (a third of a second with pandas and Mesa loaded) would only delay the sweep.
WORKER = ("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
          "import os, sys, sim.experiments.worker as w; code = w.main(); "
          "sys.stderr.flush(); os._exit(code)")

#: Seconds to wait for a worker to exit once told to (its input closed, or killed).
EXIT_WAIT_S = 10.0


class WorkerError(RuntimeError):
    """A local worker process exited with an error of its own, not a run's and not a kill."""


def exit_cause(code: int) -> str:
    """How a worker process ended, from its exit status (``-9``: killed by SIGKILL)."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


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
    """``n`` worker processes on this machine, each fed one task at a time.

    Parameters
    ----------
    n : int
        Worker processes (at least one).
    retries : int
        How many times a run whose worker was lost goes to a fresh worker before
        it is returned as ``"lost"``.
    """

    def __init__(self, n: int, retries: int = 1) -> None:
        self.n = max(1, n)
        self.retries = max(0, retries)
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen] = []
        self._idle: list[subprocess.Popen] = []
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def start(self) -> None:
        """Start the workers now, so their imports overlap the sweep's own preparation."""
        for _ in range(self.n):
            proc = self._start()
            if proc is not None:
                with self._lock:
                    self._idle.append(proc)

    def _start(self) -> subprocess.Popen | None:
        """A new worker process, or None once the workers are being stopped."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self._lock:  # held while starting, so kill() never misses a new worker
            if self._stopping:
                return None
            proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
            self._procs.append(proc)
        log.debug("started worker process %d", proc.pid)
        return proc

    @staticmethod
    def _read_row(proc: subprocess.Popen) -> dict | None:
        """The worker's next row, skipping any stray output; None if the worker died."""
        while line := proc.stdout.readline():
            if line.startswith(ROW_PREFIX):
                return json.loads(line[len(ROW_PREFIX):])
            log.warning("worker %d printed %r (ignored)", proc.pid, line.rstrip()[:200])
        return None

    def _exchange(self, proc: subprocess.Popen, task: dict) -> dict | None:
        """Send ``task`` to ``proc`` and read its row; None if the worker died meanwhile."""
        try:
            proc.stdin.write(json.dumps(task) + "\n")
            proc.stdin.flush()
            return self._read_row(proc)
        except (OSError, ValueError):  # a broken pipe, or a row cut short
            return None

    def _bury(self, proc: subprocess.Popen) -> int:
        """Reap a worker whose pipe broke (killing it if it lingers); its exit status."""
        try:
            code = proc.wait(EXIT_WAIT_S)
        except subprocess.TimeoutExpired:  # its pipe broke, yet it lives on
            proc.kill()
            code = proc.wait()
        with self._lock:
            if proc in self._procs:
                self._procs.remove(proc)
        _close_pipes(proc)
        return code

    def _run_one(self, proc: subprocess.Popen,
                 task: dict) -> tuple[dict | None, subprocess.Popen | None]:
        """Run ``task``, on fresh workers while its worker is lost; its row and the worker.

        Returns ``(None, None)`` when the workers are being stopped.

        Raises
        ------
        WorkerError
            If a worker exited with an error status of its own.
        """
        cause = ""
        for attempt in range(self.retries + 1):
            row = self._exchange(proc, task)
            if row is not None:
                return row, proc
            pid, code = proc.pid, self._bury(proc)
            if self._stopping:
                return None, None
            if code > 0:
                raise WorkerError(f"worker process {pid} exited with status {code} by itself "
                                  f"during run {task['run_id']} (its error is printed above)")
            cause = exit_cause(code)
            proc = self._start()
            if proc is None:
                return None, None
            if attempt < self.retries:
                log.warning("run %d: its worker process %d was lost (%s); running it again",
                            task["run_id"], pid, cause)
        tries = f"{self.retries + 1} attempt{'s' if self.retries else ''}"
        log.warning("run %d: its worker process was lost (%s, %s); recorded as lost, "
                    "--resume runs it again", task["run_id"], cause, tries)
        return lost_row(task, f"worker process lost: {cause} ({tries})"), proc

    def _serve(self, next_task: Callable[[], dict | None], results: queue.Queue) -> None:
        """One reader thread: feed tasks to a worker and pass on its rows."""
        with self._lock:
            proc = self._idle.pop() if self._idle else None
        proc = proc or self._start()
        while proc is not None and (task := next_task()) is not None:
            row, proc = self._run_one(proc, task)
            if row is not None:
                results.put(row)
        if proc is not None:
            with self._lock:
                self._idle.append(proc)  # ready for the next batch of this session

    def run(self, tasks: Iterable[dict]) -> Iterator[dict]:
        """Yield rows as the workers finish them."""
        source = iter(tasks)
        results: queue.Queue = queue.Queue()

        def next_task() -> dict | None:
            with self._lock:
                return None if self._stopping else next(source, None)

        def serve_then_signal() -> None:
            try:
                self._serve(next_task, results)
            except BaseException as exc:  # never leave the sweep waiting for this thread
                results.put(exc)
            finally:
                results.put(None)

        threads = [threading.Thread(target=serve_then_signal, daemon=True)
                   for _ in range(self.n)]
        with self._lock:
            self._threads = threads
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
        with self._lock:
            self._threads = []  # every task done: close() may end the workers gently

    def close(self) -> None:
        """End the session: idle workers see their input close and exit.

        If runs are still under way (``run()`` was left early), every worker is killed.
        """
        if self._threads:  # run() was left before its end
            self.kill()
            return
        with self._lock:
            self._stopping = True
            procs = list(self._procs)
        for proc in procs:
            with contextlib.suppress(OSError):  # a worker that died: its pipe is broken
                proc.stdin.close()
        self._reap(procs, kill_late=True)

    def kill(self) -> None:
        """Stop every worker at once, start none (on an error or Ctrl-C in the sweep)."""
        with self._lock:
            self._stopping = True
            procs, threads = list(self._procs), list(self._threads)
        for proc in procs:
            proc.kill()
        for thread in threads:  # each sees its worker's pipe close, and ends
            thread.join(EXIT_WAIT_S)
        self._reap(procs, kill_late=False)

    def _reap(self, procs: list[subprocess.Popen], kill_late: bool) -> None:
        """Wait for ``procs`` to exit (killing those still running after a while)."""
        for proc in procs:
            try:
                proc.wait(EXIT_WAIT_S)
            except subprocess.TimeoutExpired:
                log.warning("worker process %d did not exit; killing it", proc.pid)
                proc.kill()
                if kill_late:
                    proc.wait()
            _close_pipes(proc)
        with self._lock:
            self._procs = [p for p in self._procs if p not in procs]
            self._idle.clear()


def _close_pipes(proc: subprocess.Popen) -> None:
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):  # flushing a broken pipe
                pipe.close()


#: Seconds to wait for a Dask scheduler before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10


class DaskCluster:
    """Runs on a Dask distributed cluster at ``address`` (needs ``dask[distributed]``).

    A task that errs on the cluster (its worker died, or the task could not reach it)
    is resubmitted ``retries`` times by Dask and then returned as ``"lost"``: a run's
    own error comes back as its row, never as a Dask error.
    """

    def __init__(self, address: str, retries: int = 1) -> None:
        from distributed import Client

        try:
            self.client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise SetupError(f"cannot reach the Dask scheduler at {address} ({exc})",
                             "start one with `dask scheduler` (it prints its address) and "
                             "workers with `dask worker ADDRESS`, then pass --scheduler "
                             "ADDRESS") from None
        self.retries = max(0, retries)
        self._submitted: dict[Any, tuple[dict, Any]] = {}
        workers = self.client.scheduler_info().get("workers", {})
        self.window = max(2, 2 * sum(w.get("nthreads", 1) for w in workers.values()))

    def start(self) -> None:
        """The cluster is already running."""

    def run(self, tasks: Iterable[dict]) -> Iterator[dict]:
        """Yield rows as the cluster finishes them, keeping a bounded number in flight."""
        from distributed import as_completed

        source = iter(tasks)
        submitted = self._submitted

        def submit(task: dict) -> Any:
            future = self.client.submit(run_task, task, pure=False, retries=self.retries)
            submitted[future.key] = (task, future)
            return future

        pending = as_completed([submit(task) for task in islice(source, self.window)])
        for future in pending:
            task, _ = submitted.pop(future.key)
            if future.status == "error":
                yield lost_row(task, f"dask: {future.exception()!r}")
            else:
                yield future.result()
            future.release()
            nxt = next(source, None)
            if nxt is not None:
                pending.add(submit(nxt))

    def close(self) -> None:
        """Disconnect from the cluster (it keeps running)."""
        self.client.close()

    def kill(self) -> None:
        """Cancel the runs in flight and disconnect."""
        futures = [future for _, future in self._submitted.values()]
        self._submitted.clear()
        if futures:
            self.client.cancel(futures)
        self.client.close()


def executor(workers: int | None = None, scheduler: str | None = None,
             retries: int = 1) -> Any:
    """The executor for ``workers`` local processes, or for a Dask ``scheduler`` address.

    ``retries``: how often a run whose worker is lost is run again before it is
    returned as ``"lost"``.
    """
    if scheduler:
        return DaskCluster(scheduler, retries)
    if workers == 0:
        return InProcess()
    return LocalWorkers(workers or os.cpu_count() or 1, retries)
