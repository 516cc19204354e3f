"""Stage ``embed``: every frame of every sequence of a fold encoded with that fold's auto-encoder."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch

from fer4d.device import resolve_device
from fer4d.formats.checkpoints import read_autoencoder_checkpoint
from fer4d.formats.embeddings import EmbeddedSequence, write_embeddings
from fer4d.formats.hierarchy import read_hierarchy
from fer4d.formats.store import SPLITS
from fer4d.models.spiral import SpiralAutoencoder
from fer4d.progress import progress
from fer4d.store import MeshStore
from fer4d.train.autoencoder import AutoencoderOptions, build_model
from fer4d.train.inputs import InputTransform

log = logging.getLogger(__name__)


@dataclass
class Encoder:
    """A trained auto-encoder with the input transform it was trained with."""

    model: SpiralAutoencoder
    transform: InputTransform
    device: torch.device

    @property
    def latent_size(self) -> int:
        return self.model.latent


def load_encoder(
    checkpoint_path: str | os.PathLike, hierarchy_path: str | os.PathLike, device: str = "auto"
) -> Encoder:
    torch_device = resolve_device(device)
    checkpoint = read_autoencoder_checkpoint(checkpoint_path, torch_device)
    hierarchy = read_hierarchy(hierarchy_path)
    if checkpoint.hierarchy != hierarchy.digest():
        raise ValueError(f"{checkpoint_path} was trained on another mesh hierarchy than {hierarchy_path}")
    model = build_model(hierarchy, AutoencoderOptions.from_dict(checkpoint.options)).to(torch_device)
    model.load_state_dict(checkpoint.model)
    model.eval()
    return Encoder(model, InputTransform.from_stats(checkpoint.input, checkpoint.stats), torch_device)


@torch.no_grad()
def encode_frames(encoder: Encoder, vertices: np.ndarray, neutral: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """vertices (T, V, 3) mm of one sequence, its neutral mesh (V, 3) mm → embeddings (T, latent) float32."""
    neutral = torch.from_numpy(np.ascontiguousarray(neutral, np.float32)).to(encoder.device)
    out = []
    for start in range(0, len(vertices), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(vertices[start : start + batch_size], np.float32))
        out.append(encoder.model.encode(encoder.transform.encode(batch.to(encoder.device), neutral)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, encoder.latent_size), np.float32)


def embed_fold(
    store_path: str | os.PathLike,
    hierarchy_path: str | os.PathLike,
    checkpoint_path: str | os.PathLike,
    fold: int,
    out_path: str | os.PathLike,
    device: str = "auto",
) -> int:
    """Write ``sequences/{key}/embedding (T, latent)`` for every sequence of the fold, with its split
    (``fer4d.formats.embeddings``); return how many were written."""
    encoder = load_encoder(checkpoint_path, hierarchy_path, device)
    with MeshStore(store_path) as store:
        split_of = {key: split for split in SPLITS for key in getattr(store.fold(fold), split)}

        def embedded():
            for key in progress(sorted(split_of), f"embed fold {fold}", logger=log):
                info = store.info(key)
                embedding = encode_frames(encoder, store.sequence(key), store.neutral(key))
                yield EmbeddedSequence(key, info.subject, info.label, info.label_index, split_of[key], embedding)

        return write_embeddings(out_path, fold, encoder.latent_size, embedded(), store.labels)
