"""One synthetic expression sequence in memory: raw scans plus the ground truth behind them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from fer4d.flame import FlameModel
from fer4d.formats.groundtruth import GroundTruth
from fer4d.synth.expressions import SequencePlan, SubjectStyle, draw_sequence_plan, make_subject_style
from fer4d.synth.face import FaceRig, build_face_rig, scan_blind_spots
from fer4d.synth.layout import STREAM_SUBJECT, stream_rng, subject_name
from fer4d.synth.options import SynthOptions
from fer4d.synth.scanner import ScanSession, longest_edges, random_scanner_pose
from fer4d.synth.surface import resample_surface
from fer4d.synth.video import draw_look, render_frames


@dataclass(frozen=True)
class SyntheticSequence:
    """A simulated recording.

    ``scans``: per frame ``(vertices (N_t, 3) float32 in truth.units, faces (F_t, 3) int32)``;
    ``surface_masks``: per frame ``(N_t,) bool``, False on spikes and stray fragments;
    ``truth``: ground truth (vertices in mm, scan frame); ``plan``: the random time courses.
    """

    scans: list[tuple[np.ndarray, np.ndarray]]
    surface_masks: list[np.ndarray]
    truth: GroundTruth
    plan: SequencePlan


def subject_style(rig: FaceRig, subject_index: int, options: SynthOptions) -> SubjectStyle:
    """The persistent identity and style of subject ``subject_index`` (depends only on the seed)."""
    rng = stream_rng(options.seed, STREAM_SUBJECT, subject_index)
    return make_subject_style(rig.prototypes, rig.n_shape, options.difficulty, rng)


def perform(
    rig: FaceRig, subject_index: int, label: str, n_frames: int, options: SynthOptions, rng: np.random.Generator
) -> tuple[SubjectStyle, SequencePlan, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Subject ``subject_index`` performing ``label``: its style, the sequence's plan (drawn from
    ``rng``), and ``rig.pose_frames``'s posed (T, V, 3) mm, canonical (T, V, 3) mm, pose and
    translation. What a scanner or a camera then records of it is up to the caller."""
    style = subject_style(rig, subject_index, options)
    plan = draw_sequence_plan(style, label, n_frames, rig.sides, options.difficulty, rng)
    return (style, plan, *rig.pose_frames(style.shape, plan))


def film_sequence(
    rig: FaceRig, subject_index: int, label: str, n_frames: int, options: SynthOptions, rng: np.random.Generator
) -> tuple[Iterator[np.ndarray], GroundTruth]:
    """The sequence :func:`simulate_sequence` would scan, filmed instead
    (``fer4d.synth.video``): an iterator of RGB frames and the ground truth (``vertices``: the
    posed meshes in the model's frame, which the camera films; no scanner transform)."""
    style, plan, posed, canonical, pose, translation = perform(rig, subject_index, label, n_frames, options, rng)
    look = draw_look(rng)
    template = rig.layer.v_template.double().numpy()
    frames = render_frames(posed, rig.layer.faces.numpy(), template, pose[:, 0], look, options.image_size, rng)
    truth = GroundTruth(
        subject=subject_name(subject_index),
        label=label,
        vertices=posed.astype(np.float32),
        vertices_canonical=canonical.astype(np.float32),
        shape=style.shape.astype(np.float32),
        expression=plan.expression.astype(np.float32),
        pose=pose.astype(np.float32),
        translation=translation.astype(np.float32),
        scan_rotation=np.eye(3),
        scan_translation=np.zeros(3),
        units="mm",
    )
    return frames, truth


def simulate_sequence(
    model: FlameModel | FaceRig,
    subject_index: int,
    label: str,
    n_frames: int,
    options: SynthOptions,
    rng: np.random.Generator,
) -> SyntheticSequence:
    """Simulate subject ``subject_index`` performing ``label`` for ``n_frames`` frames.

    The subject's identity and style come from ``options.seed``; everything about this
    recording (timing, intensity, head motion, scanner set-up, noise) from ``rng``. Pass a
    prebuilt ``FaceRig`` to save its set-up when simulating many sequences of one model.
    """
    rig = model if isinstance(model, FaceRig) else build_face_rig(model)
    style, plan, posed, canonical, pose, translation = perform(rig, subject_index, label, n_frames, options, rng)
    neutral = canonical[0].astype(np.float64)
    sampling = resample_surface(neutral, rig.scan_faces, options.scan_points, rng)
    rotation, scan_translation = random_scanner_pose(rng)
    session = ScanSession(
        sampling=sampling,
        rest_edges_mm=longest_edges(sampling.sample(neutral), sampling.faces),
        always_missing=scan_blind_spots(rig, sampling),
        rotation=rotation,
        translation=scan_translation,
        units=options.units,
    )
    scans, masks = [], []
    for frame in posed:
        vertices, faces, is_surface = session.capture(
            frame,
            options.noise_mm,
            options.hole_fraction,
            options.outlier_fraction,
            options.fragments,
            rng,
        )
        scans.append((vertices, faces))
        masks.append(is_surface)
    truth = GroundTruth(
        subject=subject_name(subject_index),
        label=label,
        vertices=session.to_scanner(posed).astype(np.float32),
        vertices_canonical=canonical.astype(np.float32),
        shape=style.shape.astype(np.float32),
        expression=plan.expression.astype(np.float32),
        pose=pose.astype(np.float32),
        translation=translation.astype(np.float32),
        scan_rotation=rotation,
        scan_translation=scan_translation,
        units=options.units,
    )
    return SyntheticSequence(scans=scans, surface_masks=masks, truth=truth, plan=plan)
