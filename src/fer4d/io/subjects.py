"""Subject selection (config ``dataset.subjects``): run a protocol's subset of a dataset, e.g.
the 60-subject BU-4DFE subset most of its literature reports on.

``include``: null (every subject), a list of names, or the path of a text file with one name a
line (``#`` starts a comment); ``exclude``: a list or a file likewise, applied after ``include``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


def subject_list(value: str | os.PathLike | Iterable[str]) -> list[str]:
    """A list of subject names, or those of a text file (one a line, ``#`` comments, blanks skipped)."""
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        try:
            lines = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: cannot read the subject list: {err}") from err
        return [name for name in (line.split("#", 1)[0].strip() for line in lines) if name]
    return [str(name) for name in value]


@dataclass(frozen=True)
class SubjectSelection:
    """Which subjects a run keeps: ``include`` (None = all) minus ``exclude``."""

    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, section: dict | None) -> SubjectSelection:
        """From ``dataset.subjects`` (``{"include": ..., "exclude": ...}``; lists or file paths)."""
        section = section or {}
        unknown = sorted(set(section) - {"include", "exclude"})
        if unknown:
            raise ValueError(f"unknown dataset.subjects key(s) {unknown}; known: ['include', 'exclude']")
        include = section.get("include")
        return cls(
            None if include is None else tuple(subject_list(include)),
            tuple(subject_list(section.get("exclude") or [])),
        )

    def select(self, subjects: Iterable[str]) -> set[str]:
        """The kept subjects among ``subjects``; a listed subject the data lacks is logged, and a
        selection that keeps none raises ValueError."""
        found = set(subjects)
        for listed, role in ((self.include or (), "include"), (self.exclude, "exclude")):
            missing = sorted(set(listed) - found)
            if missing:
                log.warning("dataset.subjects.%s names %d subject(s) the data lacks: %s", role, len(missing), missing)
        kept = (found if self.include is None else found & set(self.include)) - set(self.exclude)
        if not kept:
            raise ValueError(f"dataset.subjects keeps none of the {len(found)} subjects found")
        return kept
