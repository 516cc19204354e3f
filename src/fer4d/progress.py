"""Progress a person can follow: periodic log lines with counts, rate and ETA.

Works the same in a Snakemake log file (plain lines, no carriage returns) and in a terminal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(
    items: Iterable[T],
    desc: str,
    total: int | None = None,
    logger: logging.Logger | None = None,
    every_s: float = 10.0,
) -> Iterator[T]:
    """Yield ``items`` and log ``desc: i/total (rate/s, ETA s)`` at most every ``every_s`` seconds.

    The first and the last item are always logged.
    """
    log = logger or logging.getLogger("fer4d")
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    start = last = time.monotonic()
    for count, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if count == 1 or now - last >= every_s or count == total:
            last = now
            rate = count / max(now - start, 1e-9)
            if total:
                eta = (total - count) / rate if rate > 0 else float("inf")
                log.info("%s: %d/%d (%.2f/s, ETA %.0f s)", desc, count, total, rate, eta)
            else:
                log.info("%s: %d (%.2f/s)", desc, count, rate)
