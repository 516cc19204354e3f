"""Matplotlib figures of the report (headless, Agg backend); each writes its files atomically."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fer4d.atomic import atomic_path
from fer4d.report.metrics import row_normalised
from fer4d.report.registration import SEQUENCE_RESIDUALS


def save_figure(figure: plt.Figure, *paths: str | os.PathLike) -> None:
    """Save ``figure`` to each path (format from the suffix) atomically, then close it."""
    for path in paths:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=str(path).rsplit(".", 1)[-1], dpi=150, bbox_inches="tight")
    plt.close(figure)


def plot_confusion_matrix(counts: np.ndarray, labels: Sequence[str], title: str, *paths: str | os.PathLike) -> None:
    """Row-normalised confusion matrix (rows = true label) with percentages in the cells.

    ``counts (C, C) int``. Laid out like Figure 2 of the reference paper: true labels down,
    predicted labels across, a blue colour scale from 0 to 100 %. Beyond six classes the figure
    grows with the class count and empty cells stay blank, so twelve or more stay legible.
    """
    percent = 100.0 * row_normalised(np.asarray(counts))
    n_classes = len(labels)
    grow = max(1.0, n_classes / 6)
    figure, axis = plt.subplots(figsize=(6.4 * grow, 5.4 * grow))
    image = axis.imshow(percent, cmap="Blues", vmin=0, vmax=100)
    for (row, col), value in np.ndenumerate(percent):
        if n_classes > 6 and value == 0:
            continue
        axis.text(
            col,
            row,
            f"{value:.1f}%" if n_classes <= 6 else f"{value:.0f}",
            ha="center",
            va="center",
            fontsize=9,
            color="white" if value > 55 else "black",
        )
    axis.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted label")
    axis.set_ylabel("true label")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, label="% of true label")
    save_figure(figure, *paths)


def plot_probabilities_over_time(examples: Sequence[dict], path: str | os.PathLike) -> None:
    """One panel per example sequence: each class's causal probability (from the frames so far)
    against frame, the true class drawn thick. ``examples``: :func:`fer4d.report.timeline.example_curves`."""
    figure, axes = plt.subplots(1, len(examples), figsize=(3.6 * len(examples), 3.4), sharey=True, squeeze=False)
    colours = plt.get_cmap("tab10" if len(examples[0]["labels"]) <= 10 else "tab20")
    for axis, example in zip(axes[0], examples):
        curve = example["curve"]
        frames = np.arange(1, len(curve) + 1)
        for index, label in enumerate(example["labels"]):
            thick = label == example["true"]
            axis.plot(frames, curve[:, index], color=colours(index), linewidth=2.6 if thick else 1.0, label=label)
        axis.set_title(f"{example['key']}\ntrue {example['true']}, final {example['pred']}", fontsize=9)
        axis.set_xlabel("frames seen")
        axis.set_ylim(0, 1)
    axes[0][0].set_ylabel("probability (causal)")
    labels = examples[0]["labels"]
    handles = [plt.Line2D([], [], color=colours(index), linewidth=1.5) for index in range(len(labels))]
    figure.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, title="thick: true")
    figure.tight_layout()
    save_figure(figure, path)


def plot_training_curves(histories: Sequence[dict], path: str | os.PathLike) -> None:
    """Transformer loss and accuracy (train solid, validation dashed where the validation
    subjects were not trained on) against epoch, one colour per fold, one line per ensemble
    member (the fold's label on its first member only), the kept epochs marked.

    ``histories``: ``[{"fold", "members": [{"seed", "best_epoch", "epochs": [{epoch,
    train_loss, train_accuracy, val_loss, val_accuracy}]}]}]``.
    """
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for position, history in enumerate(histories):
        colour = f"C{position % 10}"
        fold = history.get("fold", position)
        for index, member in enumerate(history.get("members", [])):
            epochs = member.get("epochs", [])
            x = [e["epoch"] for e in epochs]
            for axis, key in ((loss_axis, "loss"), (accuracy_axis, "accuracy")):
                label = (lambda split, fold=fold: f"fold {fold} {split}") if index == 0 else (lambda split: None)
                axis.plot(x, [e[f"train_{key}"] for e in epochs], color=colour, alpha=0.7, label=label("train"))
                validated = [e for e in epochs if f"val_{key}" in e]  # none where it trained on them
                axis.plot(
                    [e["epoch"] for e in validated],
                    [e[f"val_{key}"] for e in validated],
                    color=colour,
                    alpha=0.7,
                    linestyle="--",
                    label=label("val") if validated else None,
                )
                if "best_epoch" in member:
                    axis.axvline(member["best_epoch"], color=colour, alpha=0.2, linewidth=1)
    loss_axis.set(xlabel="epoch", ylabel="cross-entropy", title="transformer loss")
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy", title="transformer accuracy", ylim=(0, 1.02))
    accuracy_axis.legend(fontsize=7, ncol=2)
    save_figure(figure, path)


def plot_reconstruction(curves: Sequence[dict], test_errors: Sequence[float | None], path: str | os.PathLike) -> None:
    """Auto-encoder training curves per fold (left) and test reconstruction error in mm (right).

    ``curves``: per fold ``{series_name: [values per epoch]}``; ``test_errors``: per fold, mm or None.
    """
    figure, (curve_axis, bar_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for fold, series in enumerate(curves):
        for style, (name, values) in zip(("-", "--", ":", "-."), series.items()):
            curve_axis.plot(
                range(1, len(values) + 1),
                values,
                color=f"C{fold % 10}",
                linestyle=style,
                label=f"fold {fold} {name}",
            )
    curve_axis.set(xlabel="epoch", title="auto-encoder training")
    if curves and any(curves):
        curve_axis.legend(fontsize=7)
    folds = [i for i, e in enumerate(test_errors) if e is not None]
    bar_axis.bar([str(i) for i in folds], [test_errors[i] for i in folds], color="C0")
    for i, fold in enumerate(folds):
        bar_axis.text(i, test_errors[fold], f"{test_errors[fold]:.3f}", ha="center", va="bottom", fontsize=8)
    bar_axis.set(xlabel="fold", ylabel="mean per-vertex error (mm)", title="test reconstruction error")
    save_figure(figure, path)


def plot_registration_quality(
    frames: dict[str, np.ndarray], per_sequence: Sequence[dict], path: str | os.PathLike
) -> None:
    """Histograms of per-frame registration quality (left) and per-sequence medians (right).

    ``frames``: ``{measure_name: (N_frames,) float}`` (scan fits: residual median, p90, v2v, mm;
    landmark fits: landmark residual median and p90, px — fractions ``*_iod`` are left to the
    summary table); ``per_sequence``: ``[{key, residual_median_mm | landmark_residual_px,
    flagged_fraction}]``.
    """
    figure, (hist_axis, seq_axis) = plt.subplots(1, 2, figsize=(11, 4))
    residual = next((name for name in SEQUENCE_RESIDUALS if name in per_sequence[0]), None)
    landmarks = residual == "landmark_residual_px"
    for position, (name, values) in enumerate(frames.items()):
        if len(values) and not name.endswith("_iod"):  # one unit on the axis: the fraction is in the table
            hist_axis.hist(values, bins=30, alpha=0.55, color=f"C{position}", label=name)
    hist_axis.set(xlabel="px" if landmarks else "mm", ylabel="frames", title="per-frame registration quality")
    hist_axis.legend(fontsize=8)
    ordered = sorted(per_sequence, key=lambda s: s[residual])
    colours = ["C3" if s["flagged_fraction"] > 0 else "C0" for s in ordered]
    seq_axis.bar(range(len(ordered)), [s[residual] for s in ordered], color=colours)
    seq_axis.set_xticks(
        range(len(ordered)),
        [s["key"] for s in ordered] if len(ordered) <= 60 else [],
        rotation=90,
        fontsize=5,
    )
    seq_axis.set(
        xlabel="sequence (sorted; red = has flagged frames)",
        ylabel="median landmark residual (px)" if landmarks else "median residual (mm)",
        title="per-sequence landmark-to-fit residual" if landmarks else "per-sequence scan-to-fit residual",
    )
    save_figure(figure, path)


def plot_memory(points: Sequence[dict], device: str, batch: int, path: str | os.PathLike) -> None:
    """Peak memory above baseline (MB) and ms per training step against sequence length."""
    frames = [p["frames"] for p in points]
    figure, memory_axis = plt.subplots(figsize=(6.4, 4.2))
    memory_axis.plot(frames, [p["peak_mb"] for p in points], "o-", color="C0", label="peak memory")
    memory_axis.set(
        xlabel="frames per sequence",
        ylabel="peak memory above baseline (MB)",
        title=f"classifier training step, batch {batch}, {device}",
    )
    memory_axis.set_xscale("log", base=2)
    memory_axis.set_xticks(frames, [str(f) for f in frames])
    time_axis = memory_axis.twinx()
    time_axis.plot(frames, [p["ms_per_batch"] for p in points], "s--", color="C1", label="ms per batch")
    time_axis.set_ylabel("ms per batch")
    figure.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88), fontsize=8)
    save_figure(figure, path)


def plot_placeholder(message: str, path: str | os.PathLike) -> None:
    """A small figure that only says why the real one is missing (keeps the report's files complete)."""
    figure, axis = plt.subplots(figsize=(6, 1.5))
    axis.axis("off")
    axis.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, wrap=True)
    save_figure(figure, path)
