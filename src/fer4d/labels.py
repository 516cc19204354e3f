"""The label set of a run (config section ``labels``): the class names in index order and the
expression-folder names that map to them.

The six basic emotions are the default; any list of two or more names works (e.g. CoMA's twelve
expressions, or MUG's emotions plus ``neutral``). A folder maps to a class through the user's
``aliases`` first, then its own name, then the built-in aliases of the emotions and ``neutral``
(BU-4DFE's ``Angry``/``Happy``/``Sad``, MUG's ``anger``/``happiness``/``neutral``, ...), always
case-insensitively and only to a name of the set: a folder of a class the set leaves out
(``neutral`` unless named) maps to nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fer4d import LABELS
from fer4d.options import SectionOptions

BUILTIN_ALIASES: dict[str, tuple[str, ...]] = {
    "anger": ("angry", "anger", "an", "ang"),
    "disgust": ("disgust", "disgusted", "di", "dis"),
    "fear": ("fear", "fearful", "afraid", "fe"),
    "happiness": ("happy", "happiness", "ha", "hap", "joy"),
    "sadness": ("sad", "sadness", "sa"),
    "surprise": ("surprise", "surprised", "su", "sur"),
    "neutral": ("neutral", "ne", "neu"),
}
"""Class name → folder names that mean it without any configuration (lower case)."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class LabelOptions(SectionOptions):
    """``names``: the classes, in the order of their indices everywhere (store, models,
    predictions, report); lower-case letters, digits, ``-`` and ``_``, no ``__`` (it separates
    subject and label in store keys). ``aliases``: folder name → class name, for folders whose
    name is neither a class name nor a built-in alias."""

    SECTION = "labels"

    names: tuple[str, ...] = LABELS
    aliases: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "aliases", dict(self.aliases))
        problems = []
        if len(self.names) < 2 or len(set(self.names)) != len(self.names):
            problems.append(f"names must be two or more distinct class names, got {list(self.names)}")
        bad = [name for name in self.names if not _NAME.match(str(name)) or "__" in str(name)]
        if bad:
            problems.append(f"names {bad} must be lower-case letters, digits, '-' or '_' (no '__')")
        wrong = {alias: name for alias, name in self.aliases.items() if name not in self.names}
        if wrong:
            problems.append(f"aliases {wrong} map to no class of names {list(self.names)}")
        if problems:
            raise ValueError("invalid labels options: " + "; ".join(problems))

    def folder_label(self, folder_name: str) -> str | None:
        """The class an expression folder named ``folder_name`` holds, or None."""
        lowered = folder_name.lower()
        for alias, name in self.aliases.items():
            if alias.lower() == lowered:
                return name
        if lowered in self.names:
            return lowered
        return next((name for name in self.names if lowered in BUILTIN_ALIASES.get(name, ())), None)
