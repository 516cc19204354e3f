"""Config sections as dataclasses: one ``from_dict`` for every stage's options."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T", bound="SectionOptions")


class SectionOptions:
    """Mixin for a dataclass whose fields are the keys of one config section.

    Subclasses set ``SECTION`` (the config key) and are dataclasses; ``from_dict`` rejects
    unknown keys with a message that names the section and the known keys.
    """

    SECTION: str = ""

    @classmethod
    def from_dict(cls: type[T], values: Mapping[str, Any] | None) -> T:
        values = dict(values or {})
        known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown {cls.SECTION} option(s) {unknown}; known: {known}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]
