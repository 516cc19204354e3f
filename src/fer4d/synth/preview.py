"""Pictures of a FLAME model: the template and the six emotion prototypes of the synthetic face."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from fer4d.flame.files import load_flame
from fer4d.flame.layer import FlameLayer
from fer4d.flame.model import N_JOINTS
from fer4d.render import Panel, render_meshes
from fer4d.synth.emotions import emotion_prototypes

JAW = 2


def emotion_meshes(model_path: str | os.PathLike) -> list[Panel]:
    """Panels (vertices (V, 3) mm, faces) of the template and each emotion prototype's apex."""
    model = load_flame(model_path)
    prototypes = emotion_prototypes()
    n_expr = min(len(next(iter(prototypes.values())).expression), model.exprdirs.shape[2])
    layer = FlameLayer(model, n_shape=0, n_expr=n_expr)
    labels = ["template", *prototypes]
    expression = torch.zeros(len(labels), n_expr)
    pose = torch.zeros(len(labels), N_JOINTS, 3)
    for row, label in enumerate(labels[1:], start=1):
        expression[row] = torch.as_tensor(prototypes[label].expression[:n_expr])
        pose[row, JAW, 0] = prototypes[label].jaw
    with torch.no_grad():
        vertices = layer(expression=expression, pose=pose).vertices.numpy()
    return [Panel(vertices=v.astype(np.float32), faces=model.faces, title=label) for v, label in zip(vertices, labels)]


def render_emotions(model_path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """Render the template and the six emotion prototypes of ``model_path`` to a PNG (dark
    background, so eye and mouth openings look dark)."""
    return render_meshes(emotion_meshes(model_path), out_path, columns=4, background="#2a2222", title_color="white")
