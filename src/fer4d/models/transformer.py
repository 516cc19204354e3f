"""Temporal transformer that classifies a sequence of frame embeddings into an expression.

A transformer encoder (Vaswani et al., "Attention Is All You Need", NeurIPS 2017) runs over the
per-frame auto-encoder embeddings of a sequence; a learned class token (as in BERT, Devlin et
al. 2019, and ViT, Dosovitskiy et al. 2021) or a masked mean over valid frames summarises the
sequence, and a linear head predicts one of the six expressions.

Padded frames never influence the result: they are excluded as attention keys through
``src_key_padding_mask`` and from the mean pooling, and the positional encoding is computed for
whatever length arrives (no maximum-length table).
"""

from __future__ import annotations

import math

import torch
from torch import nn

POOLINGS = ("cls", "mean")


def sinusoidal_encoding(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Sinusoidal positional encoding of Vaswani et al. (2017) for positions ``0..length-1``.

    Returns ``(length, dim) float32``: even channels ``sin(p / 10000^(2i/dim))``, odd channels
    the matching cosine. Computed on the fly, so any sequence length works.
    """
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    half = torch.arange(0, dim, 2, dtype=torch.float32, device=device)
    frequency = torch.exp(-math.log(10000.0) * half / dim)
    encoding = torch.zeros(length, dim, dtype=torch.float32, device=device)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return encoding


class ExpressionTransformer(nn.Module):
    """Sequence of frame embeddings → expression logits.

    ``forward(x, mask)``: ``x (B, T, in_dim) float32``, ``mask (B, T) bool`` with True for valid
    frames (every sequence needs at least one) → logits ``(B, n_classes)``.
    """

    def __init__(
        self,
        in_dim: int,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 2,
        ff: int = 128,
        dropout: float = 0.1,
        n_classes: int = 6,
        pooling: str = "mean",
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if d_model % heads != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by heads ({heads})")
        self.pooling = pooling
        self.d_model = d_model
        self.input_projection = nn.Linear(in_dim, d_model)
        self.input_dropout = nn.Dropout(dropout)
        self.class_token = nn.Parameter(torch.zeros(1, 1, d_model)) if pooling == "cls" else None
        if self.class_token is not None:
            nn.init.normal_(self.class_token, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=ff, dropout=dropout, batch_first=True, norm_first=True
        )
        # Nested tensors would drop padded positions in eval mode and change the summation
        # order; keeping them off makes padded and unpadded runs agree to float precision.
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x (B, T, in_dim)``, ``mask (B, T) bool`` (True = valid) → logits ``(B, n_classes)``."""
        batch, length, _ = x.shape
        tokens = self.input_projection(x) * math.sqrt(self.d_model)
        tokens = tokens + sinusoidal_encoding(length, self.d_model, x.device)
        valid = mask.to(torch.bool)
        if self.class_token is not None:
            tokens = torch.cat([self.class_token.expand(batch, 1, -1), tokens], dim=1)
            valid = torch.cat([valid.new_ones(batch, 1), valid], dim=1)
        encoded = self.encoder(self.input_dropout(tokens), src_key_padding_mask=~valid)
        encoded = self.norm(encoded)
        if self.class_token is not None:
            pooled = encoded[:, 0]
        else:
            weights = valid.unsqueeze(-1).to(encoded.dtype)
            pooled = (encoded * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        return self.head(pooled)
