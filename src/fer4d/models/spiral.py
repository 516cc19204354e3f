"""Spiral convolutional mesh auto-encoder (Bouritsas et al. 2019, "Neural 3D Morphable Models:
Spiral Convolutional Networks"; the gather + one linear layer form of Gong et al. 2019,
"SpiralNet++").

Encoder: at each level a spiral convolution + ELU, then pooling to the next level by the sparse
down-sampling operator; a linear layer maps the coarsest features to the latent code. The
decoder mirrors it with the up-sampling operators; its last convolution has no activation.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn


class SpiralConv(nn.Module):
    """``x (B, V, C_in) → (B, V, C_out)``: gather each vertex's spiral ``indices (V, S)`` and apply
    one linear layer to the concatenated ``S * C_in`` features.

    When the layer narrows (``C_out < C_in``) the same product is computed in the other order,
    which moves less data: every vertex is first mapped by the ``S`` per-position blocks of the
    weight, ``(B, V, S*C_out)``, and the spiral then gathers and sums those blocks. The result is
    identical up to float rounding.
    """

    def __init__(self, in_channels: int, out_channels: int, indices: torch.Tensor):
        super().__init__()
        indices = torch.as_tensor(indices, dtype=torch.long)
        self.register_buffer("indices", indices, persistent=False)
        self.linear = nn.Linear(in_channels * indices.shape[1], out_channels)
        self.transform_first = out_channels < in_channels
        positions = torch.arange(indices.shape[1])
        self.register_buffer("block_indices", (indices * indices.shape[1] + positions).reshape(-1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n_vertices, in_channels = x.shape
        if not self.transform_first:
            gathered = x.index_select(1, self.indices.reshape(-1)).reshape(batch, n_vertices, -1)
            return self.linear(gathered)
        spiral_length, out_channels = self.indices.shape[1], self.linear.out_features
        # weight (C_out, S*C_in) → per-position blocks (C_in, S*C_out)
        blocks = self.linear.weight.reshape(out_channels, spiral_length, in_channels).permute(2, 1, 0)
        mapped = x @ blocks.reshape(in_channels, spiral_length * out_channels)
        mapped = mapped.reshape(batch, n_vertices * spiral_length, out_channels)
        picked = mapped.index_select(1, self.block_indices).reshape(batch, n_vertices, spiral_length, out_channels)
        return picked.sum(2) + self.linear.bias


class SparsePool(nn.Module):
    """``x (B, V_in, C) → (B, V_out, C)`` with a sparse ``(V_out, V_in)`` operator, the whole batch
    in one sparse product: features are laid out ``(V_in, B*C)``."""

    def __init__(self, operator: sp.spmatrix):
        super().__init__()
        coo = operator.tocoo()
        matrix = torch.sparse_coo_tensor(
            np.vstack([coo.row, coo.col]), coo.data.astype(np.float32), coo.shape, check_invariants=True
        ).coalesce()
        self.register_buffer("operator", matrix, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n_in, channels = x.shape
        flat = x.permute(1, 0, 2).reshape(n_in, batch * channels)
        out = torch.sparse.mm(self.operator, flat)
        return out.reshape(-1, batch, channels).permute(1, 0, 2)


class SpiralAutoencoder(nn.Module):
    """``forward(x (B, V, 3)) → (B, V, 3)``; ``encode → (B, latent)``, ``decode(z) → (B, V, 3)``.

    ``spirals[l] (V_l, S)``, ``down[l] (V_{l+1} × V_l)``, ``up[l] (V_l × V_{l+1})`` for the
    ``len(filters)`` pooling levels (a ``MeshHierarchy`` provides them).
    """

    def __init__(
        self, spirals: list, down: list, up: list, filters=(16, 32, 64), latent: int = 64, in_channels: int = 3
    ):
        super().__init__()
        levels = len(filters)
        if len(down) < levels or len(up) < levels or len(spirals) < levels + 1:
            raise ValueError(f"{levels} filters need {levels} pooling levels; the hierarchy has {len(down)}")
        self.filters, self.latent = tuple(filters), latent
        self.coarsest = down[levels - 1].shape[0]
        channels = [in_channels, *filters]
        self.encoder_convs = nn.ModuleList(
            SpiralConv(channels[l], channels[l + 1], torch.as_tensor(spirals[l])) for l in range(levels)
        )
        self.pools = nn.ModuleList(SparsePool(down[l]) for l in range(levels))
        self.to_latent = nn.Linear(self.coarsest * filters[-1], latent)
        self.from_latent = nn.Linear(latent, self.coarsest * filters[-1])
        self.unpools = nn.ModuleList(SparsePool(up[l]) for l in reversed(range(levels)))
        out_channels = [*reversed(channels[1:-1])]
        self.decoder_convs = nn.ModuleList(
            SpiralConv(c_in, c_out, torch.as_tensor(spirals[l]))
            for c_in, c_out, l in zip(reversed(filters), out_channels, reversed(range(1, levels)))
        )
        self.output_conv = SpiralConv(filters[0], in_channels, torch.as_tensor(spirals[0]))
        self.activation = nn.ELU()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        for conv, pool in zip(self.encoder_convs, self.pools):
            x = pool(self.activation(conv(x)))
        return self.to_latent(x.reshape(x.shape[0], -1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        x = self.from_latent(z).reshape(z.shape[0], self.coarsest, self.filters[-1])
        for unpool, conv in zip(self.unpools[:-1], self.decoder_convs):
            x = self.activation(conv(unpool(x)))
        return self.output_conv(self.unpools[-1](x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @classmethod
    def from_hierarchy(cls, hierarchy, filters=(16, 32, 64), latent: int = 64) -> SpiralAutoencoder:
        return cls(hierarchy.spirals, hierarchy.down, hierarchy.up, filters, latent)
