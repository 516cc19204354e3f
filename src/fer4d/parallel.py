"""Thread-level parallelism for per-frame work whose heavy part releases the GIL (KD-tree
builds and searches, NumPy and torch kernels)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def thread_map(function: Callable[[Item], Result], items: Iterable[Item], workers: int) -> list[Result]:
    """``[function(item) for item in items]``, in order, on up to ``workers`` threads."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        return list(pool.map(function, items))
