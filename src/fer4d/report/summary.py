"""``report.md``: the report's numbers as Markdown tables, with the figures linked."""

from __future__ import annotations

from collections.abc import Sequence

from fer4d.report.classification import FOLD_METRICS
from fer4d.report.files import REPORT_FILES


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    def cell(value) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


REGIONS = ("all", "mouth", "eyes", "brows")


def _measure(value, percent: bool = False):
    """A number, a ``{"mean", "std"}`` over folds (``mean ± std``) or None (``n/a``)."""
    if value is None:
        return "n/a"
    show = _percent if percent else (lambda v: f"{v:.3f}")
    return f"{show(value['mean'])} ± {show(value['std'])}" if isinstance(value, dict) else show(value)


def _reconstruction_table(reconstruction: dict) -> list[str]:
    """Per fold, then mean ± std over folds: the test reconstruction error of the whole mesh and of
    each region, the size of the expression displacement and the share of it not reconstructed."""
    regions = reconstruction.get("regions") or [{} for _ in reconstruction["test_error_mm"]]
    named = [
        (fold, measures or {"all": {"error_mm": error}})
        for fold, (error, measures) in enumerate(zip(reconstruction["test_error_mm"], regions))
    ]
    if reconstruction.get("summary"):
        named.append(("mean ± std", reconstruction["summary"]))
    rows = [
        [
            name,
            *(_measure(measures.get(region, {}).get("error_mm")) for region in REGIONS),
            _measure(measures.get("all", {}).get("expression_mm")),
            _measure(measures.get("all", {}).get("relative"), percent=True),
        ]
        for name, measures in named
    ]
    header = ["fold", *(f"{region} (mm)" for region in REGIONS), "expression size (mm)", "not reconstructed"]
    return [
        "Auto-encoder reconstruction error on the test subjects: mean per-vertex Euclidean distance "
        "(the same for the mesh and for its expression displacement from the neutral face); "
        "expression size: mean displacement from the neutral face.",
        "",
        *_table(header, rows),
    ]


BASELINE_NAMES = {
    "transformer": "transformer on auto-encoder embeddings (ours)",
    "gru": "bidirectional GRU on the same embeddings",
    "mean_linear": "mean-pooled embeddings + linear",
    "apex_linear": "apex frame embedding + linear (no temporal model)",
    "flame_transformer": "transformer on FLAME expression + jaw parameters (no auto-encoder)",
}


def _window_lines(windows: dict | None) -> list[str]:
    """On sliding windows: the window-level accuracy beside the sequence-level one above."""
    if not windows:
        return []
    return [
        f"- on sliding windows: window accuracy **{_percent(windows['window_accuracy'])}** over "
        f"{windows['n_windows']} test windows; each sequence is the mean of its windows' probabilities "
        f"(sequence accuracy {_percent(windows['sequence_accuracy'])})"
    ]


def _repeated_lines(repeated: dict | None) -> list[str]:
    """Repeated cross-validation: each score's mean ± std over repeats and its 95 % interval."""
    if not repeated:
        return []
    rows = []
    for name in FOLD_METRICS:
        spread = repeated[name]
        low, high = spread["ci"]
        rows.append(
            (
                name.replace("_", " "),
                f"{_percent(spread['mean'])} ± {_percent(spread['std'])}",
                f"[{_percent(low)}, {_percent(high)}]",
            )
        )
    return [
        f"### Repeated cross-validation: {repeated['repeats']} splits of {repeated['folds_per_repeat']} folds",
        "",
        *_table(["score", "mean ± std over repeats", "95 % interval of the mean"], rows),
    ]


def _over_time_lines(timeline: dict | None) -> list[str]:
    """Accuracy of the causal prediction from the first part of each test sequence, and the
    figure of a few sequences' probabilities over time."""
    lines = ["### Over time", ""]
    if timeline:
        lines += [
            "The transformer's prediction from the first frames only (causal: no later frame seen). "
            f"Correct sequences settle on their final label after "
            f"{_percent(timeline['decision_fraction_median'])} of their frames (median).",
            "",
            *_table(
                ["part of each sequence seen", "accuracy"],
                [(_percent(f), _percent(a)) for f, a in zip(timeline["fractions"], timeline["accuracy"])],
            ),
        ]
    return [*lines, f"![probabilities over time]({REPORT_FILES['over_time']})", ""]


def _baseline_lines(baselines: dict) -> list[str]:
    """The transformer against its baselines on the same folds: pooled accuracy, balanced
    accuracy, macro F1, and accuracy per fold as mean ± std."""
    if len(baselines) < 2:
        return []
    rows = [
        (
            BASELINE_NAMES.get(kind, kind),
            _percent(b["accuracy"]),
            _percent(b["balanced_accuracy"]),
            b["macro_f1"],
            f"{_percent(b['fold_mean']['accuracy'])} ± {_percent(b['fold_std']['accuracy'])}",
        )
        for kind, b in baselines.items()
    ]
    return [
        "### Baselines on the same folds",
        "",
        "What the spatial half (the embeddings) and the temporal half (the sequence model) each "
        "contribute: every row is trained and tested on the same folds, embeddings and features.",
        "",
        *_table(["classifier", "accuracy", "balanced accuracy", "macro F1", "accuracy per fold"], rows),
    ]


def render_summary(metrics: dict, registration: dict | None, reconstruction: dict, memory: dict | None) -> str:
    """Markdown text of the whole report (figure files are expected beside ``report.md``)."""
    mean, std = metrics["fold_mean"], metrics["fold_std"]
    lines = [
        "# fer4d report",
        "",
        "## Expression classification (cross-validated, test subjects unseen in training)",
        "",
        f"- accuracy: **{_percent(metrics['accuracy'])}** over {metrics['n']} test sequences "
        f"(per fold {_percent(mean['accuracy'])} ± {_percent(std['accuracy'])})",
        f"- balanced accuracy: **{_percent(metrics['balanced_accuracy'])}** "
        f"(per fold {_percent(mean['balanced_accuracy'])} ± {_percent(std['balanced_accuracy'])})",
        f"- macro F1: {metrics['macro_f1']:.3f}",
        *_window_lines(metrics.get("windows")),
        "",
        f"![confusion matrix]({REPORT_FILES['confusion_png']})",
        "",
    ]
    lines += _table(
        ["label", "precision", "recall", "F1", "support"],
        [(label, s["precision"], s["recall"], s["f1"], s["support"]) for label, s in metrics["per_class"].items()],
    )
    lines += _table(
        ["fold", "test sequences", "accuracy", "balanced accuracy", "macro F1"],
        [(f["fold"], f["n"], f["accuracy"], f["balanced_accuracy"], f["macro_f1"]) for f in metrics["folds"]],
    )
    lines += _repeated_lines(metrics.get("repeated"))
    lines += _baseline_lines(metrics.get("baselines") or {})
    lines += _over_time_lines(metrics.get("time_resolved"))
    lines += [
        "## Training",
        "",
        f"![training curves]({REPORT_FILES['training_curves']})",
        "",
        f"![reconstruction error]({REPORT_FILES['reconstruction']})",
        "",
    ]
    lines += _reconstruction_table(reconstruction)
    lines += ["## Registration", ""]
    if registration and not registration["fitted"]:
        lines += [
            f"{registration['n_sequences']} sequences, {registration['n_frames']} frames of a registered-mesh "
            "dataset: already in the model's topology, aligned rigidly, not fitted (no residuals).",
            "",
        ]
    elif registration:
        lines += [
            f"{registration['n_sequences']} sequences, {registration['n_frames']} frames, "
            f"{_percent(registration['flagged_fraction'])} flagged.",
            "",
        ]
        lines += _table(
            ["measure (unit in its name)", "mean", "median", "p90", "max"],
            [(name, d["mean"], d["median"], d["p90"], d["max"]) for name, d in registration["frames"].items() if d],
        )
    else:
        lines += ["No store given: registration quality not available.", ""]
    lines += [
        f"![registration quality]({REPORT_FILES['registration']})",
        "",
        f"![registered sequence]({REPORT_FILES['registered_sequence']})",
        "",
        f"![landmarks and the projected fit]({REPORT_FILES['landmark_overlay']})",
        "",
        "## Memory against sequence length",
        "",
    ]
    if memory:
        lines += [f"Classifier training step, batch {memory['batch']}, device {memory['device']}.", ""]
        lines += _table(
            ["frames", "peak memory above baseline (MB)", "baseline (MB)", "ms per batch"],
            [(p["frames"], p["peak_mb"], p.get("baseline_mb", "n/a"), p["ms_per_batch"]) for p in memory["points"]],
        )
    else:
        lines += ["No memory benchmark given.", ""]
    lines += [f"![memory]({REPORT_FILES['memory']})", ""]
    return "\n".join(lines)
