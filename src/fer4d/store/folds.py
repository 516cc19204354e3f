"""Subject-independent cross-validation folds, stratified by label, deterministic by seed."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from fer4d.store.options import FoldOptions


@dataclass(frozen=True)
class Fold:
    """Sequence keys of one fold; no subject appears in two of the three lists."""

    train: list[str]
    val: list[str]
    test: list[str]


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


def make_folds(keys: list[str], subjects: list[str], labels: list[str], options: FoldOptions, seed: int) -> list[Fold]:
    """Folds over sequences ``keys`` whose subject and label are ``subjects[i]``, ``labels[i]``.

    Every subject is tested exactly once; each fold's validation subjects are a seeded random
    ``val_fraction`` (at least one) of its training subjects.
    """
    rng = np.random.default_rng(seed)
    subject_labels: dict[str, list[str]] = {}
    for subject, label in zip(subjects, labels):
        subject_labels.setdefault(subject, []).append(label)
    n_subjects = len(subject_labels)
    n_folds = n_subjects if options.scheme == "loso" else options.k
    if n_subjects < n_folds or n_subjects < 3:
        raise ValueError(
            f"{n_folds} {options.scheme} folds need at least {max(n_folds, 3)} subjects "
            f"(test, validation and training), but the store has {n_subjects}"
        )
    if options.scheme == "loso":
        groups = [[s] for s in sorted(subject_labels)]
    else:
        groups = assign_test_groups(subject_labels, n_folds, rng)
    by_subject: dict[str, list[str]] = {}
    for key, subject in zip(keys, subjects):
        by_subject.setdefault(subject, []).append(key)
    folds = []
    for test_subjects in groups:
        rest = sorted(set(subject_labels) - set(test_subjects))
        n_val = min(max(1, math.ceil(options.val_fraction * len(rest))), len(rest) - 1)
        val_subjects = set(rng.choice(rest, size=n_val, replace=False).tolist())
        pick = lambda chosen: sorted(k for s in sorted(chosen) for k in by_subject[s])
        folds.append(
            Fold(
                train=pick(s for s in rest if s not in val_subjects),
                val=pick(val_subjects),
                test=pick(test_subjects),
            )
        )
    return folds
