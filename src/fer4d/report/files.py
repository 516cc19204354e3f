"""The report's file names, spelled once: the ``report`` rule declares its outputs from this
table, ``build_report`` writes them, and ``report.md`` links its figures by them."""

REPORT_FILES = {
    "metrics": "metrics.json",
    "metrics_csv": "metrics.csv",
    "confusion_csv": "confusion_matrix.csv",
    "confusion_png": "confusion_matrix.png",
    "confusion_svg": "confusion_matrix.svg",
    "training_curves": "training_curves.png",
    "over_time": "probabilities_over_time.png",
    "reconstruction": "reconstruction_error.png",
    "reconstruction_json": "reconstruction_error.json",
    "registration": "registration_quality.png",
    "registration_json": "registration_quality.json",
    "registered_sequence": "registered_sequence.png",
    "landmark_overlay": "landmark_overlay.png",
    "memory": "memory.png",
    "memory_csv": "memory.csv",
    "summary": "report.md",
}
"""Report file → its name inside the report folder."""
