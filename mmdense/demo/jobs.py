"""Run the demo's independent trainings side by side, one CPU thread each.

The demo's jobs (pre-trainings, probe passes, fine-tunes) are small networks on small
batches, where two threads of one process scale poorly (on this project's 2-core machine a
DenseCL demo iteration takes 0.27 s with two threads, and two one-thread runs side by side
take 0.44 s each: 1.2x the throughput, and more counting start-up). So the demo runs them in
a pool of processes with one torch thread each. A job's result depends only on its own
arguments (seeds included) and its thread count, never on which worker runs it or when.

``concurrent.futures`` with the ``spawn`` start method is the pool: a fresh interpreter per
worker, no forked torch/OpenMP state. Nothing here is specific to training; a job is any
importable function with picklable arguments and result.
"""
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Callable, Dict, Hashable, Optional

import torch

__all__ = ['Job', 'run_jobs']


@dataclass
class Job:
    """One unit of work of :func:`run_jobs`.

    Args:
        fn: Module-level function (workers import it by name).
        kwargs: Its keyword arguments.
        title: What the progress lines call it.
        log: File receiving the job's stdout and stderr in a worker process (None: the
            worker's own streams).
        after: Key of a job that must finish first.
        bind: ``{kwarg: key_in_that_result}``: arguments taken from the result of
            ``after`` once it is known.
    """
    fn: Callable
    kwargs: dict = field(default_factory=dict)
    title: str = ''
    log: Optional[str] = None
    after: Optional[Hashable] = None
    bind: Dict[str, str] = field(default_factory=dict)


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def _call_logged(fn: Callable, kwargs: dict, log: Optional[str]):
    """Run ``fn(**kwargs)`` with file descriptors 1 and 2 (C++ and Python output alike) sent
    to ``log``, restoring them afterwards."""
    if log is None:
        return fn(**kwargs)
    os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, 'a') as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            return fn(**kwargs)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _ready_kwargs(job: Job, results: dict) -> dict:
    kwargs = dict(job.kwargs)
    for name, key in job.bind.items():
        kwargs[name] = results[job.after][key]
    return kwargs


def run_jobs(jobs: Dict[Hashable, Job], workers: int = 1,
             on_done: Optional[Callable[[Hashable, Job, float], None]] = None) -> dict:
    """Run every job, each after the one it waits for, and return their results by key.

    Args:
        jobs: Key -> job; a job's ``after`` must be the key of an earlier entry. With one
            worker the jobs run in this order in the calling process (their output is
            not redirected); with more, in a pool of spawned processes, started in this
            order as workers and dependencies allow.
        workers: Processes side by side (each sets torch to the calling process's
            thread count; pass 1-thread callers for one thread per worker).
        on_done: Called as ``on_done(key, job, seconds)`` when a job finishes.

    Returns:
        dict: Key -> the job function's return value.

    Raises:
        RuntimeError: A job failed; names the job and its log file (the other running
            jobs are cancelled).
    """
    keys = list(jobs)
    for index, key in enumerate(keys):
        after = jobs[key].after
        if after is not None and after not in keys[:index]:
            raise ValueError(f'job {key!r} waits for {after!r}, which is not an earlier job')
    results: dict = {}
    if workers <= 1:
        for key in keys:
            job, start = jobs[key], time.perf_counter()
            results[key] = job.fn(**_ready_kwargs(job, results))
            if on_done is not None:
                on_done(key, job, time.perf_counter() - start)
        return results

    pending, running = list(keys), {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context('spawn'),
                             initializer=_init_worker,
                             initargs=(torch.get_num_threads(), )) as pool:
        while pending or running:
            for key in list(pending):
                if len(running) >= workers:
                    break
                job = jobs[key]
                if job.after is not None and job.after not in results:
                    continue
                pending.remove(key)
                future = pool.submit(_call_logged, job.fn, _ready_kwargs(job, results), job.log)
                running[future] = (key, time.perf_counter())
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                key, start = running.pop(future)
                try:
                    results[key] = future.result()
                except Exception as error:
                    for other in running:
                        other.cancel()
                    where = f'; its output is in {jobs[key].log}' if jobs[key].log else ''
                    raise RuntimeError(f'demo job {jobs[key].title or key!r} failed: '
                                       f'{type(error).__name__}: {error}{where}') from error
                if on_done is not None:
                    on_done(key, jobs[key], time.perf_counter() - start)
    return results
