"""Subject-independent cross-validation folds, stratified by label, deterministic by seed."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from fer4d.formats.store import Fold
from fer4d.store.options import FoldOptions


def fold_count(options: FoldOptions, subjects: list[str]) -> int:
    """How many folds a run has: ``k`` per repeat for ``kfold``, one per subject for ``loso``.

    The one place this is decided: the workflow plans its per-fold jobs with it from the
    discovered subjects, and ``make_folds`` writes exactly that many folds into the store.
    """
    return len(set(subjects)) if options.scheme == "loso" else options.k * options.repeats


def split_rng(seed: int, repeat: int) -> np.random.Generator:
    """The generator of one repeat's split: ``seed`` itself for the first (so a run without
    repeats keeps its folds), ``(seed, repeat)`` for the others."""
    return np.random.default_rng(seed if repeat == 0 else (seed, repeat))


def assign_test_groups(
    subject_labels: dict[str, list[str]], n_groups: int, rng: np.random.Generator
) -> list[list[str]]:
    """Split subjects into ``n_groups`` test groups with balanced label counts.

    Greedy: subjects in a seeded random order, most sequences first, each to the group where it
    adds least to the sum of squared per-label counts (which balances labels and sizes).
    """
    subjects = list(subject_labels)
    order = rng.permutation(len(subjects))
    subjects = sorted((subjects[i] for i in order), key=lambda s: -len(subject_labels[s]))
    groups: list[list[str]] = [[] for _ in range(n_groups)]
    counts: list[Counter] = [Counter() for _ in range(n_groups)]
    for subject in subjects:
        own = Counter(subject_labels[subject])

        def cost(g: int, own: Counter = own) -> tuple[float, int]:
            return sum((counts[g][label] + n) ** 2 for label, n in own.items()), len(groups[g])

        best = min(range(n_groups), key=cost)
        groups[best].append(subject)
        counts[best].update(own)
    return groups


def make_folds(
    keys: list[str],
    subjects: list[str],
    labels: list[str],
    options: FoldOptions,
    seed: int,
    planned_subjects: list[str] | None = None,
) -> list[Fold]:
    """``fold_count(options, planned_subjects)`` folds over sequences ``keys`` whose subject and
    label are ``subjects[i]``, ``labels[i]``.

    Every subject is tested exactly once per repeat (``options.repeats`` splits, one after the
    other, each from :func:`split_rng`); each fold's validation subjects are a seeded random
    ``val_fraction`` (at least one) of its training subjects. ``planned_subjects`` (default: the
    subjects of ``keys``) are the subjects the workflow planned folds for: under ``loso`` one
    of them whose every sequence was dropped keeps its fold, with an empty test list.
    """
    subject_labels: dict[str, list[str]] = {}
    for subject, label in zip(subjects, labels):
        subject_labels.setdefault(subject, []).append(label)
    n_subjects = len(subject_labels)
    planned = sorted(set(planned_subjects or subject_labels) | set(subject_labels))
    n_folds = fold_count(options, planned) // options.repeats  # per repeat
    needed = 3 if options.scheme == "loso" else max(n_folds, 3)
    if n_subjects < needed:
        raise ValueError(
            f"{n_folds} {options.scheme} folds need at least {needed} subjects with sequences "
            f"(test, validation and training), but the store has {n_subjects}"
        )
    by_subject: dict[str, list[str]] = {}
    for key, subject in zip(keys, subjects):
        by_subject.setdefault(subject, []).append(key)
    pick = lambda chosen: sorted(k for s in sorted(chosen) for k in by_subject.get(s, []))
    folds = []
    for repeat in range(options.repeats):
        rng = split_rng(seed, repeat)
        groups = (
            [[s] for s in planned] if options.scheme == "loso" else assign_test_groups(subject_labels, n_folds, rng)
        )
        for test_subjects in groups:
            rest = sorted(set(subject_labels) - set(test_subjects))
            n_val = min(max(1, math.ceil(options.val_fraction * len(rest))), len(rest) - 1)
            val_subjects = set(rng.choice(rest, size=n_val, replace=False).tolist())
            folds.append(
                Fold(
                    train=pick(s for s in rest if s not in val_subjects),
                    val=pick(val_subjects),
                    test=pick(test_subjects),
                )
            )
    return folds
