"""fer4d.parallel.thread_map: order, a pool kept across calls, and calls from its own threads."""

from __future__ import annotations

import threading

import pytest
import torch

from fer4d import parallel
from fer4d.parallel import thread_map


@pytest.fixture
def torch_threads():
    """Set torch's thread count for one test: ``torch_threads(n)``; restored afterwards."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@pytest.fixture
def two_threads(torch_threads):
    torch_threads(2)


def test_results_keep_the_items_order_and_the_pool_is_reused(two_threads):
    assert thread_map(lambda x: x * x, range(20)) == [x * x for x in range(20)]
    pool = parallel._pools[2]
    names = set(thread_map(lambda _: threading.current_thread().name, range(8)))
    assert parallel._pools[2] is pool
    assert all(name.startswith(parallel.THREAD_PREFIX) for name in names)


def test_a_call_from_the_pools_own_threads_runs_in_place_instead_of_waiting_for_them(two_threads):
    # both pool threads run the outer function; were the inner calls queued on the same pool,
    # each would wait for a thread that is waiting for it
    gate = threading.Barrier(2, timeout=10)

    def outer(x: int) -> list[int]:
        gate.wait()  # both outer items are running, so the pool has no free thread
        return thread_map(lambda y: x * 10 + y, range(3))

    assert thread_map(outer, [1, 2]) == [[10, 11, 12], [20, 21, 22]]


def test_one_thread_runs_in_the_caller(torch_threads):
    torch_threads(1)
    assert thread_map(lambda _: threading.current_thread().name, range(3)) == [threading.current_thread().name] * 3
