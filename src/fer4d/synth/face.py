"""The face rig the simulator drives: a FLAME model with emotion prototypes and scan regions.

``FaceRig`` gathers what the simulator needs from ``fer4d.flame`` once per model: the layer,
the six emotion prototypes as expression coefficients, which coefficients act on the left or
right side, the blink direction, the part of the surface a frontal scanner sees, and where
the scanner is blind (eye openings, nostrils).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components

from fer4d.flame import FlameLayer, FlameModel, face_region
from fer4d.synth.emotions import EmotionPrototype, emotion_prototypes
from fer4d.synth.expressions import ComponentSides, SequencePlan
from fer4d.synth.facemodel import EXPRESSION_COMPONENTS
from fer4d.synth.surface import SurfaceSampling

SCAN_MARGIN_MM = 5.0
"""How far in front of the jaw hinge the scanned surface reaches (face_region's margin)."""

MAX_SHAPE = 30
"""At most this many leading identity coefficients are drawn per subject."""

BLINK_CLOSURE = 1.3
"""Eyelid-tightening coefficient of a full blink (closes the synthetic eye opening)."""

EYE_HOLE_MM = (14.0, 6.0)
"""Half width and half height of the eye opening a scanner cannot see (around each eye centre)."""

NOSTRIL_HOLE_MM = 4.5
"""Radius of each nostril hole."""

NOSTRIL_OFFSET_MM = (8.0, -7.0, -9.0)
"""Nostril centres relative to the nose tip: ±x, then y and z."""


@dataclass(frozen=True)
class FaceRig:
    """A posable face with its scanning set-up (all lengths mm, model frame: y up, +z forward).

    ``scan_faces (F_s, 3)``: the model triangles a frontal scanner sees;
    ``eye_centres (2, 3)``, ``nostrils (2, 3)``: blind spots on the neutral template.
    """

    layer: FlameLayer
    n_shape: int
    n_expr: int
    prototypes: dict[str, EmotionPrototype]
    sides: ComponentSides
    scan_faces: np.ndarray
    eye_centres: np.ndarray
    nostrils: np.ndarray

    @torch.no_grad()
    def pose_frames(
        self, shape: np.ndarray, plan: SequencePlan
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Pose one sequence.

        Returns ``(posed (T, V, 3) mm with head motion, canonical (T, V, 3) mm without it,
        pose (T, 5, 3) axis-angle, translation (T, 3) mm)``.
        """
        n_frames = len(plan.expression)
        pose = np.zeros((n_frames, 5, 3))
        pose[:, 0] = plan.head_rotation
        pose[:, 2, 0] = plan.jaw
        pose[:, 3] = pose[:, 4] = plan.gaze
        as_tensor = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)
        shapes = as_tensor(np.repeat(shape[None, : self.n_shape], n_frames, axis=0))
        expression = as_tensor(plan.expression[:, : self.n_expr])
        still = pose.copy()
        still[:, 0] = 0.0
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # same float32 sums whatever the machine: bit-identical datasets
        try:
            posed = self.layer(shapes, expression, as_tensor(pose), as_tensor(plan.head_translation))
            canonical = self.layer(shapes, expression, as_tensor(still))
        finally:
            torch.set_num_threads(threads)
        return (
            posed.vertices.double().numpy(),
            canonical.vertices.double().numpy(),
            pose,
            np.asarray(plan.head_translation, dtype=np.float64),
        )


def scan_blind_spots(rig: FaceRig, sampling: SurfaceSampling) -> np.ndarray:
    """``(N,) bool``: scan vertices inside the eye openings or nostrils, where real scanners
    return nothing. Tested where each scan vertex lies on the neutral template, so the holes
    follow the face through identity, expression and head motion."""
    on_template = sampling.sample(rig.layer.v_template.double().numpy())
    blind = np.zeros(len(on_template), bool)
    for centre in rig.eye_centres:
        d = (on_template - centre)[:, :2] / np.asarray(EYE_HOLE_MM)
        blind |= ((d**2).sum(axis=1) < 1.0) & (on_template[:, 2] > centre[2])
    for nostril in rig.nostrils:
        blind |= np.linalg.norm(on_template - nostril, axis=1) < NOSTRIL_HOLE_MM
    return blind


def scannable_faces(model: FlameModel) -> np.ndarray:
    """The model triangles ``(F_s, 3)`` a frontal scanner sees: inside the face region of
    ``fer4d.flame.face_region`` (widened by ``SCAN_MARGIN_MM`` towards the ears), facing
    forward (normal within ~95° of +z), in the largest connected patch."""
    vertices, faces = model.v_template, model.faces
    tri = vertices[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    visible = face_region(model, margin_mm=SCAN_MARGIN_MM)[faces].all(axis=1)
    front = faces[visible & (normals[:, 2] > -0.1 * np.linalg.norm(normals, axis=1))]
    edges = np.concatenate([front[:, [0, 1]], front[:, [1, 2]], front[:, [2, 0]]])
    graph = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(len(vertices),) * 2)
    _, component = connected_components(graph, directed=False)
    largest = np.bincount(component[front[:, 0]]).argmax()
    return front[component[front[:, 0]] == largest].astype(np.int32)


def nose_tip_and_nostrils(vertices: np.ndarray, eye_centres: np.ndarray) -> np.ndarray:
    """Centres ``(2, 3)`` mm of the nostrils: either side of the midline between the eyes,
    below and behind the nose tip (the most forward vertex in a narrow band under the eyes)."""
    mid_x = eye_centres[:, 0].mean()
    eye_gap = abs(eye_centres[0, 0] - eye_centres[1, 0])
    below_eyes = (
        (np.abs(vertices[:, 0] - mid_x) < 0.15 * eye_gap)
        & (vertices[:, 1] < eye_centres[:, 1].min())
        & (vertices[:, 1] > eye_centres[:, 1].min() - 1.0 * eye_gap)
    )
    tip = vertices[below_eyes][np.argmax(vertices[below_eyes, 2])]
    side = NOSTRIL_OFFSET_MM[0] * np.array([1.0, 0.0, 0.0])
    centre = np.array([mid_x, tip[1] + NOSTRIL_OFFSET_MM[1], tip[2] + NOSTRIL_OFFSET_MM[2]])
    return np.stack([centre + side, centre - side])


def sides_from_names(names: tuple[str, ...]) -> ComponentSides:
    """Left/right components from ``*_left`` / ``*_right`` names; a blink closes both lids."""
    left = np.array([n.endswith("_left") for n in names])
    right = np.array([n.endswith("_right") for n in names])
    blink = np.array([BLINK_CLOSURE if n.startswith("lid_tighten") else 0.0 for n in names])
    return ComponentSides(left=left, right=right, blink=blink)


def build_face_rig(model: FlameModel) -> FaceRig:
    """Everything the simulator needs from a synthetic FLAME-format ``model`` (mm).

    The expression coefficients must be the anatomical ``EXPRESSION_COMPONENTS`` of
    ``fer4d.flame.make_synthetic_flame``'s models (a learned FLAME basis has no such meaning).
    """
    n_expr = len(EXPRESSION_COMPONENTS)
    if model.exprdirs.shape[2] < n_expr:
        raise ValueError(
            f"the model has {model.exprdirs.shape[2]} expression components, the synthetic emotions need {n_expr}"
        )
    used_identity = np.abs(model.shapedirs).reshape(-1, model.shapedirs.shape[2]).max(axis=0) > 0
    n_shape = int(min(MAX_SHAPE, used_identity.sum()))
    eye_centres = model.J_regressor[3:5] @ model.v_template
    return FaceRig(
        layer=FlameLayer(model, n_shape=n_shape, n_expr=n_expr),
        n_shape=n_shape,
        n_expr=n_expr,
        prototypes=emotion_prototypes(),
        sides=sides_from_names(EXPRESSION_COMPONENTS),
        scan_faces=scannable_faces(model),
        eye_centres=eye_centres,
        nostrils=nose_tip_and_nostrils(model.v_template, eye_centres),
    )
