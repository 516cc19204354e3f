"""Recurrent baseline of the temporal model: a bidirectional GRU over the frame embeddings.

The GRU (Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder", EMNLP 2014)
reads each sequence forwards and backwards; the two directions' last hidden states of the top
layer summarise the sequence, and a linear head predicts the class. Padded frames never reach
the recurrence: sequences are packed to their own lengths before the GRU runs.

It takes the transformer's inputs and gives its outputs (``forward(x, mask)`` → logits), so the
training loop, the ensembles and the predictions are the same for both.
"""

from __future__ import annotations

import torch
from torch import nn


class ExpressionGRU(nn.Module):
    """Sequence of frame embeddings → expression logits.

    ``forward(x, mask)``: ``x (B, T, in_dim) float32``, ``mask (B, T) bool``, True for valid
    frames, which come first (every sequence needs at least one) → logits ``(B, n_classes)``.
    """

    def __init__(self, in_dim: int, hidden: int = 64, layers: int = 1, dropout: float = 0.1, n_classes: int = 6):
        super().__init__()
        self.input_dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(
            in_dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.norm = nn.LayerNorm(2 * hidden)
        self.head = nn.Linear(2 * hidden, n_classes)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x (B, T, in_dim)``, ``mask (B, T) bool`` (True = valid) → logits ``(B, n_classes)``."""
        lengths = mask.sum(1).clamp_min(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.input_dropout(x), lengths, batch_first=True, enforce_sorted=False
        )
        _, hidden = self.gru(packed)  # (layers * 2, B, hidden)
        summary = torch.cat([hidden[-2], hidden[-1]], dim=-1)  # top layer, forward and backward
        return self.head(self.norm(summary))
