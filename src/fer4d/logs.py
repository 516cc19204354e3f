"""Logging set-up for workflow scripts and the CLI: one format, to a log file and the terminal."""

from __future__ import annotations

import logging
import os
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(log_path: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Send fer4d's log records to stderr and, when given, to ``log_path`` (appended)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="a"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
