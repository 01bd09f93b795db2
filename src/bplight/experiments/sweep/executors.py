"""Where the points of a sweep run: in this process, on a local process pool, or on Ray.

Every executor takes tasks (an id and a picklable payload), a task function named as
``"module:function"`` (so that a spawned process or a Ray worker can import it) and a
callback that receives each :class:`Outcome` as soon as the point finishes (the driver
writes it to the store at once). A point whose process dies (``kill -9``, a segfault,
out of memory) or that raises an unexpected exception is retried once, then reported
failed with the error; a :class:`~bplight.errors.BplightError` (a design the code
rejects) is reported at once, without a retry.

* :func:`run_inline` — in this process (cost points; debugging);
* :func:`run_pool` — ``workers`` processes started with the *spawn* context, each with
  ``threads`` torch threads; a dead worker is replaced, so losing one loses only the
  point it held; workers exit when the driver dies;
* :func:`run_ray` — Ray tasks on the cluster at ``address`` (``pip install
  bplight[ray]``); Ray itself retries a task whose worker died once.
"""

from __future__ import annotations

import collections
import importlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bplight.errors import BplightError, ConfigError


@dataclass
class Task:
    id: str
    payload: dict[str, Any]


@dataclass
class Outcome:
    """How one task ended: ``ok`` with ``result``, or not, with ``error`` (one line)."""

    id: str
    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    user_error: bool = False
    attempts: int = 1
    wall_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def resolve_fn(ref: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The function named ``"package.module:function"``."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def limit_threads(threads: int) -> None:
    """Limit this process's math libraries to ``threads`` threads (N workers on N cores
    must not each start N threads): through the environment, which torch reads when it
    is first imported, and through torch itself where it is already loaded."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    torch = sys.modules.get("torch")
    if torch is None:
        return
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set (or parallel work has started)
        pass


def _call(fn: Callable, payload: dict[str, Any]) -> tuple[bool, Any, str | None, bool]:
    """(ok, result, error, user_error) of ``fn(payload)``."""
    try:
        return True, fn(payload), None, False
    except BplightError as exc:
        return False, None, " ".join(str(exc).split()), True
    except Exception as exc:  # a bug or an environment failure: reported, retried once
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
        return False, None, f"{type(exc).__name__}: {' '.join(str(exc).split())}{where}", False


# --- in process ---------------------------------------------------------------------------

def run_inline(tasks: Iterable[Task], fn_ref: str, on_outcome: Callable[[Outcome], None],
               retries: int = 1, progress: Progress | None = None) -> None:
    """Run every task here, one after the other."""
    fn = resolve_fn(fn_ref)
    for t in tasks:
        for attempt in range(1, retries + 2):
            t0 = time.perf_counter()
            ok, result, error, user = _call(fn, t.payload)
            if ok or user or attempt > retries:
                out = Outcome(t.id, ok, result, error, user, attempt,
                              time.perf_counter() - t0)
                on_outcome(out)
                if progress:
                    progress.update(out)
                break


# --- local process pool -------------------------------------------------------------------

def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:  # the driver died: stop (its points are lost)
            os._exit(3)


def _worker_main(conn: Any, fn_ref: str, threads: int, parent_pid: int) -> None:
    """A pool worker: receive tasks, send outcomes, until told to stop or the driver
    goes away."""
    limit_threads(threads)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    fn = resolve_fn(fn_ref)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "stop":
            return
        _, task_id, payload = msg
        t0 = time.perf_counter()
        ok, result, error, user = _call(fn, payload)
        try:
            conn.send((task_id, ok, result, error, user, time.perf_counter() - t0))
        except (BrokenPipeError, OSError):
            return


@dataclass
class _Worker:
    proc: Any
    conn: Any
    task: Task | None = None


def run_pool(tasks: Iterable[Task], fn_ref: str, on_outcome: Callable[[Outcome], None],
             workers: int = 2, threads: int = 1, retries: int = 1,
             progress: Progress | None = None,
             on_start: Callable[[list[int]], None] | None = None) -> None:
    """Run the tasks on ``workers`` spawned processes (see the module docstring).

    ``on_start`` receives the worker pids whenever the set of workers changes (tests
    use it to kill one)."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("spawn")
    queue = collections.deque(tasks)
    attempts: dict[str, int] = collections.defaultdict(int)
    pool: list[_Worker] = []

    def spawn() -> _Worker:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child, fn_ref, threads, os.getpid()),
                           daemon=True)
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def finish(w: _Worker, out: Outcome) -> None:
        w.task = None
        on_outcome(out)
        if progress:
            progress.update(out)

    def failed(w: _Worker, error: str, user: bool, wall: float | None) -> None:
        task = w.task
        assert task is not None
        if user or attempts[task.id] > retries:
            finish(w, Outcome(task.id, False, None, error, user, attempts[task.id], wall))
        else:
            w.task = None
            queue.appendleft(task)  # retried at once, by the next free worker
            if progress:
                progress.retried(task.id, error)

    try:
        for _ in range(min(max(workers, 1), len(queue))):
            pool.append(spawn())
        if on_start:
            on_start([w.proc.pid for w in pool])
        while queue or any(w.task is not None for w in pool):
            for i, w in enumerate(pool):
                if w.task is None and queue:
                    task = queue.popleft()
                    try:
                        if not w.proc.is_alive():
                            raise BrokenPipeError
                        w.conn.send(("task", task.id, task.payload))
                    except (BrokenPipeError, OSError):  # an idle worker died: replace it
                        queue.appendleft(task)
                        w.proc.join(timeout=5)
                        pool[i] = spawn()
                        if on_start:
                            on_start([x.proc.pid for x in pool])
                        continue
                    attempts[task.id] += 1
                    w.task = task
                    w.t0 = time.perf_counter()  # type: ignore[attr-defined]
            busy = [w for w in pool if w.task is not None]
            if not busy:  # every free worker was just replaced: hand out the tasks again
                continue
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy])
            for w in busy:
                if w.conn in ready:
                    try:
                        task_id, ok, result, error, user, wall = w.conn.recv()
                    except (EOFError, OSError):
                        ready.append(w.proc.sentinel)  # handled as a dead worker below
                    else:
                        if ok:
                            finish(w, Outcome(task_id, True, result, None, False,
                                              attempts[task_id], wall))
                        else:
                            failed(w, error, user, wall)
                        continue
                if w.proc.sentinel in ready or not w.proc.is_alive():
                    w.proc.join(timeout=5)
                    code = w.proc.exitcode
                    if w.task is not None:
                        how = (f"killed by signal {-code}" if code is not None and code < 0
                               else f"exit code {code}")
                        failed(w, f"the worker process died ({how}) while running this "
                               "point", False, time.perf_counter() - w.t0)  # type: ignore
                    pool[pool.index(w)] = spawn()
                    if on_start:
                        on_start([x.proc.pid for x in pool])
    finally:
        for w in pool:
            try:
                w.conn.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
        for w in pool:
            w.proc.join(timeout=5)
            if w.proc.is_alive():
                w.proc.terminate()
                w.proc.join(timeout=5)


# --- Ray ----------------------------------------------------------------------------------

def _ray_call(fn_ref: str, payload: dict[str, Any], threads: int
              ) -> tuple[bool, Any, str | None, bool, float]:
    limit_threads(threads)
    t0 = time.perf_counter()
    ok, result, error, user = _call(resolve_fn(fn_ref), payload)
    return ok, result, error, user, time.perf_counter() - t0


def ray_available() -> str | None:
    """None if Ray can be imported, else why not (one sentence)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return ("--backend ray needs the optional package ray (pip install 'bplight[ray]'); "
                "use --backend pool")
    return None


def _check_reachable(address: str) -> None:
    """ConfigError unless ``HOST:PORT`` accepts a TCP connection within 10 s (Ray itself
    would keep retrying for minutes)."""
    import socket

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address {address!r} must look like HOST:PORT, e.g. "
                          "127.0.0.1:6379")
    try:
        with socket.create_connection((host, int(port)), timeout=10):
            pass
    except OSError as exc:
        raise ConfigError(f"--address {address}: no Ray cluster could be reached "
                          f"({exc.strerror or exc}); start one with `ray start --head` or "
                          "give its HOST:PORT") from None


def run_ray(tasks: Iterable[Task], fn_ref: str, on_outcome: Callable[[Outcome], None],
            address: str | None, threads: int = 1, retries: int = 1,
            progress: Progress | None = None) -> None:
    """Run the tasks as Ray tasks on the cluster at ``address`` (``HOST:PORT`` of a
    running head; ``None`` starts a local one for this run)."""
    why = ray_available()
    if why:
        raise ConfigError(why)
    import ray

    started = not ray.is_initialized()
    if started and address:
        _check_reachable(address)
    if started:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     logging_level="ERROR",
                     runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}})
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"--address {address}: no Ray cluster could be reached "
                              f"({' '.join(str(exc).split())[:200]}); start one with "
                              "`ray start --head` or give its HOST:PORT") from None
    remote = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=False)(_ray_call)
    attempts: dict[str, int] = collections.defaultdict(int)
    running: dict[Any, Task] = {}

    def submit(t: Task) -> None:
        attempts[t.id] += 1
        running[remote.remote(fn_ref, t.payload, threads)] = t

    try:
        for t in tasks:
            submit(t)
        _ray_loop(ray, running, submit, attempts, retries, on_outcome, progress)
    finally:
        if started:
            ray.shutdown()


def _ray_loop(ray: Any, running: dict[Any, Task], submit: Callable[[Task], None],
              attempts: dict[str, int], retries: int, on_outcome: Callable[[Outcome], None],
              progress: Progress | None) -> None:
    while running:
        done, _ = ray.wait(list(running), num_returns=1)
        for ref in done:
            t = running.pop(ref)
            try:
                ok, result, error, user, wall = ray.get(ref)
            except ray.exceptions.RayError as exc:  # the worker died (after Ray's retry)
                ok, result, user, wall = False, None, False, None
                error = ("the worker process died while running this point "
                         f"({type(exc).__name__})")
                attempts[t.id] = retries + 1
            if not ok and not user and attempts[t.id] <= retries:
                if progress:
                    progress.retried(t.id, error or "")
                submit(t)
                continue
            out = Outcome(t.id, ok, result, error, user, attempts[t.id], wall)
            on_outcome(out)
            if progress:
                progress.update(out)


# --- progress -----------------------------------------------------------------------------

class Progress:
    """A tqdm bar over the points: done, failed, retried, and tqdm's ETA."""

    def __init__(self, total: int, desc: str, enabled: bool = True) -> None:
        from tqdm import tqdm

        self.done = self.failed = self.retries = 0
        self.bar = tqdm(total=total, desc=desc, disable=not enabled, file=sys.stderr,
                        unit="pt", dynamic_ncols=True)

    def update(self, out: Outcome) -> None:
        if out.ok:
            self.done += 1
        else:
            self.failed += 1
        self.bar.update(1)
        self._postfix()

    def retried(self, task_id: str, error: str) -> None:
        self.retries += 1
        self._postfix()

    def _postfix(self) -> None:
        post = {"done": self.done, "failed": self.failed}
        if self.retries:
            post["retried"] = self.retries
        self.bar.set_postfix(post)

    def close(self) -> None:
        self.bar.close()
