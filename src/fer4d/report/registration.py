"""Registration-quality summary from the store's ``sequences/{key}/quality/*`` datasets.

Per frame the fit stage records the scan-to-fit residual (median and 90th percentile, mm), the
outlier fraction, a ``flagged`` bit and, with ground truth, the vertex-to-vertex error (mm); the
fit to 2D landmarks its landmark residual (median and 90th percentile, px, and the median as a
fraction of the inter-ocular distance) and ``flagged``.
A registered-mesh dataset (``dataset.source: registered``) was never fitted: its sequences have
no quality datasets, and the summary counts them without any measure.
"""

from __future__ import annotations

import os

import numpy as np

from fer4d.errors import InputFileError
from fer4d.formats.store import MeshStore

FRAME_MEASURES = (
    "residual_median_mm",
    "residual_p90_mm",
    "v2v_mean_mm",
    "landmark_residual_px",
    "landmark_residual_p90_px",
    "landmark_residual_iod",
)
SEQUENCE_RESIDUALS = ("residual_median_mm", "landmark_residual_px")
"""Each sequence's own residual, by the fit that made it: scan to mesh (mm), or 2D landmarks (px)."""


def _distribution(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {}
    return {
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "p90": float(np.percentile(values, 90)),
        "max": float(values.max()),
    }


def read_quality(store_path: str | os.PathLike) -> tuple[dict[str, np.ndarray], list[dict]]:
    """All frames' quality measures and a per-sequence summary.

    Returns ``frames``: ``{measure: (N_frames,) float}`` for the measures in
    :data:`FRAME_MEASURES` present in every sequence plus ``flagged (N_frames,) bool``, and
    ``sequences``: ``[{key, n_frames, <residual>, flagged_fraction[, v2v_mean_mm]}]`` where
    ``<residual>`` is ``residual_median_mm`` (scan fits) or ``landmark_residual_px`` (landmark fits)
    (``[{key, n_frames}]`` for a sequence without quality: registered meshes, never fitted).
    A store mixing fitted and unfitted sequences raises InputFileError.
    """
    collected: dict[str, list[np.ndarray]] = {name: [] for name in (*FRAME_MEASURES, "flagged")}
    sequences = []
    with MeshStore(store_path) as store:
        keys = store.keys()
        for key in keys:
            quality = store.quality(key)
            if not quality:
                sequences.append({"key": key, "n_frames": store.info(key).n_frames})
                continue
            name = next((name for name in SEQUENCE_RESIDUALS if name in quality), None)
            if name is None:
                raise InputFileError(store_path, f"sequence {key!r} has no quality/{' or '.join(SEQUENCE_RESIDUALS)}")
            residual = np.asarray(quality[name], dtype=np.float64)
            flagged = np.asarray(quality.get("flagged", np.zeros(len(residual), bool)), dtype=bool)
            entry = {
                "key": key,
                "n_frames": len(residual),
                name: float(np.median(residual)),
                "flagged_fraction": float(flagged.mean()) if len(flagged) else 0.0,
            }
            for name in FRAME_MEASURES:
                if name in quality:
                    collected[name].append(np.asarray(quality[name], dtype=np.float64))
            if "v2v_mean_mm" in quality:
                entry["v2v_mean_mm"] = float(np.mean(quality["v2v_mean_mm"]))
            collected["flagged"].append(flagged)
            sequences.append(entry)
    fitted = len(collected["flagged"])
    if 0 < fitted < len(sequences):
        raise InputFileError(store_path, f"{len(sequences) - fitted} of {len(sequences)} sequences have no fit quality")
    # A measure counts only when every sequence has it, so the frame arrays stay aligned.
    frames = {
        name: np.concatenate(parts) for name, parts in collected.items() if parts and len(parts) == len(sequences)
    }
    return frames, sequences


def summarise_quality(frames: dict[str, np.ndarray], sequences: list[dict]) -> dict:
    """JSON summary: frame/sequence counts, flagged fraction, and mean/median/p90/max of each measure."""
    flagged = frames.get("flagged", np.zeros(0, bool))
    return {
        "n_sequences": len(sequences),
        "n_frames": int(sum(s["n_frames"] for s in sequences)),
        "fitted": bool(flagged.size),
        "flagged_fraction": float(flagged.mean()) if flagged.size else 0.0,
        "frames": {name: _distribution(values) for name, values in frames.items() if name != "flagged"},
        "sequences": sequences,
    }
