"""Process-wide thread settings of fer4d's entry points (the CLI and every workflow script)."""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits

BLAS_THREADS_VARIABLE = "OPENBLAS_NUM_THREADS"


def single_thread_blas() -> None:
    """Run numpy's and SciPy's BLAS on one thread, in this process and the processes it starts,
    unless the user chose a number in ``OPENBLAS_NUM_THREADS``.

    fer4d's numpy products are small (a scan's rigid transform, ICP's 6 × 6 systems, the Schur
    complement of a fit's normal equations); torch does the heavy algebra on its own threads,
    and the fit's KD-tree searches run on ``fer4d.parallel.thread_map``'s. OpenBLAS's worker
    threads, one per core, keep spinning for a while after each call and take those cores:
    measured here (2 cores, ``fer4d bench fit``, two alternating pairs) 8.5 / 8.7 → 10.3 /
    10.9 frames/s and 6.3 → 4.9 CPU s, the same fit. The limit reaches the BLAS libraries
    loaded now (threadpoolctl), later ones and child processes (the variable).
    """
    if BLAS_THREADS_VARIABLE in os.environ:
        return
    os.environ[BLAS_THREADS_VARIABLE] = "1"
    threadpool_limits(1, user_api="blas")
