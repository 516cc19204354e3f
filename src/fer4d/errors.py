"""Errors that name the offending file and what is wrong with it."""

from __future__ import annotations

import os


class InputFileError(Exception):
    """A user-supplied file cannot be used. ``str(err)`` is one line: ``path: problem``."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
