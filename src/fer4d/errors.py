"""Errors that name the offending file and what is wrong with it."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


class InputFileError(Exception):
    """A user-supplied file cannot be used. ``str(err)`` is one line: ``path: problem``."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class Quarantine:
    """Collects the problems of a stage's input files (``add(path, problem)``: one ERROR log line
    naming the file, and an item of ``items``); in strict mode the first one is raised instead."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.items: list[dict] = []

    def add(self, path: str | os.PathLike, problem: str) -> None:
        if self.strict:
            raise InputFileError(path, problem)
        log.error("quarantined %s: %s", path, problem)
        self.items.append({"file": str(path), "problem": problem})
