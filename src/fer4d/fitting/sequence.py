"""Register FLAME to every frame of one scan sequence, in memory."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree

from fer4d.device import resolve_device
from fer4d.fitting.correspondences import ScanFrame
from fer4d.fitting.geometry import apply_transform, vertex_normals
from fer4d.fitting.nonrigid import SequenceParams, fit_batch
from fer4d.fitting.options import FitOptions
from fer4d.fitting.quality import frame_quality, mean_edge_length
from fer4d.fitting.rigid import MODEL_FORWARD, RigidTarget, rigid_init
from fer4d.flame.layer import FlameLayer
from fer4d.flame.model import FlameModel
from fer4d.parallel import thread_map
from fer4d.progress import progress

log = logging.getLogger(__name__)

QUALITY_KEYS = ("residual_median_mm", "residual_p90_mm", "outlier_fraction", "flagged")


@dataclass
class FitResult:
    """A registered sequence of T frames with a V-vertex model.

    vertices: (T, V, 3) float32 mm, FLAME output without global rotation and translation.
    vertices_scan: (T, V, 3) float32 mm, the fit in the scan's frame.
    faces: (F, 3) int32. params: the FLAME parameters (model frame).
    scan_to_model: (4, 4) float64 rigid transform, scan frame → model frame.
    quality: residual_median_mm, residual_p90_mm, outlier_fraction (T,) float32, flagged (T,) bool.
    """

    vertices: np.ndarray
    vertices_scan: np.ndarray
    faces: np.ndarray
    params: SequenceParams
    scan_to_model: np.ndarray
    quality: dict[str, np.ndarray]


def scan_normals(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """points (N, 3), faces (F, 3) → (N, 3) float32 unit normals (zeros for loose points)."""
    if len(faces) == 0:
        return np.zeros_like(points, dtype=np.float32)
    normals = vertex_normals(
        torch.as_tensor(points, dtype=torch.float64), torch.as_tensor(np.ascontiguousarray(faces), dtype=torch.long)
    )
    return normals.numpy().astype(np.float32)


def scan_in_model_frame(points: np.ndarray, faces: np.ndarray, scan_to_model: np.ndarray) -> ScanFrame:
    """A scan ``points (N, 3)``, ``faces (F, 3)`` moved by ``scan_to_model (4, 4)`` into the model
    frame, its normals facing out of the face (+z, as the model's) whichever way the scanner
    wound its triangles."""
    normals = scan_normals(np.asarray(points, np.float64), np.asarray(faces)) @ scan_to_model[:3, :3].T
    if (normals @ MODEL_FORWARD).sum() < 0:
        normals = -normals
    moved = apply_transform(scan_to_model, points).astype(np.float32)
    return ScanFrame(moved, normals.astype(np.float32), cKDTree(moved))


def rigid_from_first_frame(
    points: np.ndarray,
    normals: np.ndarray,
    layer: FlameLayer,
    options: FitOptions,
    rng: np.random.Generator,
    landmarks: np.ndarray | None,
) -> np.ndarray:
    """Scan → model (4, 4) estimated on one frame against the mean-shape template."""
    template = layer.v_template.double().cpu()
    target = RigidTarget.build(template.numpy(), vertex_normals(template, layer.faces.cpu()).numpy())
    subset = rng.choice(len(points), size=min(options.rigid_points, len(points)), replace=False)
    target_landmarks = None
    if landmarks is not None and layer.lmk_face_idx is not None:
        with torch.no_grad():
            target_landmarks = layer(batch_size=1).landmarks[0].double().cpu().numpy()
    return rigid_init(
        points[subset],
        normals[subset],
        target,
        options.rigid_iterations,
        options.rigid_keep,
        rng,
        landmarks,
        target_landmarks,
    )


def fit_sequence(
    frames: list[tuple[np.ndarray, np.ndarray]],
    model: FlameModel,
    options: FitOptions,
    device: str = "auto",
    seed: int = 0,
    landmarks: np.ndarray | None = None,
) -> FitResult:
    """Register ``model`` to a sequence of scans.

    frames: per frame ``(vertices (N_t, 3) mm in the scan frame, faces (F_t, 3) int)``; at least
    one frame, each with points. landmarks: optional (L, 3) mm 3D landmarks of the first frame
    in the model's landmark order. The scanner transform is estimated on the first frame; the
    identity is estimated on the first chunk of ``options.chunk_frames`` frames and kept for the
    rest; each chunk starts from the last frame of the previous one.
    """
    if not frames or any(len(points) == 0 for points, _ in frames):
        raise ValueError("fit_sequence needs at least one frame and no empty frames")
    torch_device = resolve_device(device)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    n_shape = min(options.n_shape, model.shapedirs.shape[2])
    n_expr = min(options.n_expr, model.exprdirs.shape[2])
    layer = FlameLayer(model, n_shape, n_expr).to(torch_device)

    first_points = np.asarray(frames[0][0], np.float64)
    first_normals = scan_normals(first_points, np.asarray(frames[0][1]))
    scan_to_model = rigid_from_first_frame(first_points, first_normals, layer, options, rng, landmarks)
    scans = thread_map(lambda frame: scan_in_model_frame(*frame, scan_to_model), frames)

    chunks = [
        range(start, min(start + options.chunk_frames, len(scans)))
        for start in range(0, len(scans), options.chunk_frames)
    ]
    parts: list[SequenceParams] = []
    shape = np.zeros(n_shape, np.float32)
    for index, chunk in enumerate(progress(chunks, "fit chunks", logger=log)):
        init = SequenceParams.zeros(len(chunk), n_shape, n_expr)
        init.shape = shape
        if parts:
            for name in ("expression", "pose", "translation"):
                getattr(init, name)[:] = getattr(parts[-1], name)[-1]
        parts.append(fit_batch(layer, [scans[t] for t in chunk], init, index == 0, options, torch_device, rng))
        shape = parts[0].shape
    params = SequenceParams(
        shape, *(np.concatenate([getattr(p, name) for p in parts]) for name in ("expression", "pose", "translation"))
    )
    return finish(layer, params, scans, scan_to_model, options, torch_device)


def finish(
    layer: FlameLayer,
    params: SequenceParams,
    scans: list[ScanFrame],
    scan_to_model: np.ndarray,
    options: FitOptions,
    device: torch.device,
) -> FitResult:
    """Pose the fitted parameters, map them back to the scan frame and measure quality."""
    n_frames = len(scans)
    as_tensor = lambda array: torch.as_tensor(array, dtype=torch.float32, device=device)
    shapes = as_tensor(np.repeat(params.shape[None], n_frames, axis=0))
    still = params.pose.copy()
    still[:, 0] = 0.0
    with torch.no_grad():
        posed = layer(
            shapes, as_tensor(params.expression), as_tensor(params.pose), as_tensor(params.translation)
        ).vertices
        canonical = layer(shapes, as_tensor(params.expression), as_tensor(still)).vertices
        normals = vertex_normals(posed, layer.faces).cpu().numpy()
    posed = posed.cpu().numpy()
    faces = layer.faces.cpu().numpy()
    spacing = mean_edge_length(posed[0], faces)
    rows = thread_map(lambda t: frame_quality(scans[t].points, posed[t], normals[t], spacing, options), range(n_frames))
    quality = {key: np.array([row[key] for row in rows], np.float32) for key in QUALITY_KEYS}
    quality["flagged"] = quality["flagged"].astype(bool)
    model_to_scan = np.linalg.inv(scan_to_model)
    return FitResult(
        vertices=canonical.cpu().numpy().astype(np.float32),
        vertices_scan=apply_transform(model_to_scan, posed).astype(np.float32),
        faces=faces.astype(np.int32),
        params=params,
        scan_to_model=scan_to_model,
        quality=quality,
    )
