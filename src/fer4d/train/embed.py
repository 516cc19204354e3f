"""Stage ``embed``: every frame of every sequence encoded with one fold's auto-encoder."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import h5py
import numpy as np
import torch

from fer4d.atomic import atomic_path
from fer4d.checkpoint import load_checkpoint
from fer4d.device import resolve_device
from fer4d.mesh import load_hierarchy
from fer4d.models.spiral import SpiralAutoencoder
from fer4d.progress import progress
from fer4d.store import MeshStore, VertexStats
from fer4d.train.autoencoder import AutoencoderOptions, build_model

log = logging.getLogger(__name__)


@dataclass
class Encoder:
    """A trained auto-encoder with the normalisation it was trained with."""

    model: SpiralAutoencoder
    stats: VertexStats
    device: torch.device

    @property
    def latent_size(self) -> int:
        return self.model.latent


def load_encoder(
    checkpoint_path: str | os.PathLike, hierarchy_path: str | os.PathLike, device: str = "auto"
) -> Encoder:
    torch_device = resolve_device(device)
    checkpoint = load_checkpoint(checkpoint_path, torch_device)
    hierarchy = load_hierarchy(hierarchy_path)
    if checkpoint["hierarchy"] != hierarchy.digest():
        raise ValueError(f"{checkpoint_path} was trained on another mesh hierarchy than {hierarchy_path}")
    model = build_model(hierarchy, AutoencoderOptions.from_dict(checkpoint["options"])).to(torch_device)
    model.load_state_dict(checkpoint["model"])
    model.eval()
    return Encoder(model, VertexStats.from_dict(checkpoint["stats"]), torch_device)


@torch.no_grad()
def encode_frames(encoder: Encoder, vertices: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """vertices (T, V, 3) mm → embeddings (T, latent) float32."""
    out = []
    for start in range(0, len(vertices), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(vertices[start : start + batch_size], np.float32))
        out.append(encoder.model.encode(encoder.stats.normalise(batch.to(encoder.device))).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, encoder.latent_size), np.float32)


def embed_fold(
    store_path: str | os.PathLike,
    hierarchy_path: str | os.PathLike,
    checkpoint_path: str | os.PathLike,
    fold: int,
    out_path: str | os.PathLike,
    device: str = "auto",
) -> None:
    """Write ``sequences/{key}/embedding (T, latent)`` for every store sequence, with its split."""
    encoder = load_encoder(checkpoint_path, hierarchy_path, device)
    with MeshStore(store_path) as store, atomic_path(out_path) as tmp, h5py.File(tmp, "w") as out:
        split_of = {key: name for name, keys in vars(store.fold(fold)).items() for key in keys}
        for key in progress(store.keys(), f"embed fold {fold}", logger=log):
            info = store.info(key)
            group = out.create_group(f"sequences/{key}")
            group["embedding"] = encode_frames(encoder, store.sequence(key))
            group.attrs.update(
                {
                    "subject": info.subject,
                    "label": info.label,
                    "label_index": info.label_index,
                    "split": split_of.get(key, "unused"),
                }
            )
        out.attrs.update({"fold": fold, "latent_size": encoder.latent_size})
