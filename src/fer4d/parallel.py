"""Thread-level parallelism for per-frame work whose heavy part releases the GIL (KD-tree
builds and searches, NumPy and torch kernels)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

Item = TypeVar("Item")
Result = TypeVar("Result")

THREAD_PREFIX = "fer4d-thread-map"

_pools: dict[int, ThreadPoolExecutor] = {}
"""One pool per worker count, kept for the process: a fit calls ``thread_map`` once per
correspondence round, and starting the threads anew each time cost 0.14 s of a 3.8 s fit."""


def thread_map(function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    """``[function(item) for item in items]``, in order, on as many threads as torch may use
    (the job's thread budget: a workflow rule's ``threads`` sets it). Called from one of its own
    threads, it runs in that thread (the pool's threads could all be waiting on each other)."""
    items = list(items)
    workers = torch.get_num_threads()
    if workers <= 1 or len(items) <= 1 or threading.current_thread().name.startswith(THREAD_PREFIX):
        return [function(item) for item in items]
    if workers not in _pools:
        _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix=THREAD_PREFIX)
    return list(_pools[workers].map(function, items))
