"""The Gauss–Newton normal equations of a sequence fit, and their fast solution.

Unknowns: per frame b a local vector ``x_b`` (L,) (expression, fitted pose, translation) and one
shared vector ``s`` (S,) (the identity). Data terms couple a frame's local unknowns with the
shared ones; temporal smoothness couples neighbouring frames entry by entry. The matrix is
therefore block tridiagonal with an arrow::

    [ A_00  C_01              | X_0 ]
    [ C_01  A_11  C_12        | X_1 ]
    [       ...   ...   ...   | ... ]
    [ X_0ᵀ  X_1ᵀ  ...         |  Z  ]

with diagonal coupling blocks ``C``. Block-tridiagonal elimination (the block Thomas algorithm,
one L × L Cholesky factorisation per frame, O(B L³)) solves the local part for the right-hand
side and the S columns of X at once, and the shared unknowns follow from their S × S Schur
complement: exact, and linear in the number of frames where a dense solve is cubic. It runs in
torch (float64) so that it uses torch's thread setting, not a second BLAS thread pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class NormalEquations:
    """``H δ = −g`` for B frames, float64.

    local: (B, L, L) diagonal blocks; coupling: (B-1, L) diagonal of the block between frames b
    and b+1; cross: (B, L, S) blocks X_b; shared: (S, S); local_gradient: (B, L);
    shared_gradient: (S,).
    """

    local: np.ndarray
    coupling: np.ndarray
    cross: np.ndarray
    shared: np.ndarray
    local_gradient: np.ndarray
    shared_gradient: np.ndarray

    def solve(self, damping: float) -> tuple[np.ndarray, np.ndarray]:
        """Levenberg–Marquardt step (Marquardt 1963): solve ``(H + damping · diag(H)) δ = −g``.
        Returns δ_local (B, L) and δ_shared (S,)."""
        n_frames, width = self.local_gradient.shape
        n_shared = len(self.shared_gradient)
        local = torch.from_numpy(self.local).clone()
        diagonal = torch.diagonal(local, dim1=1, dim2=2)
        diagonal += damping * diagonal + 1e-9
        coupling = torch.from_numpy(self.coupling)
        right = torch.cat(
            [-torch.from_numpy(self.local_gradient)[..., None], torch.from_numpy(self.cross)], dim=2
        )  # (B, L, 1 + S)
        solved = block_tridiagonal_solve(local, coupling, right)
        step_local, through_cross = solved[..., 0].numpy(), solved[..., 1:].numpy()
        if n_shared == 0:
            return step_local, np.zeros(0)
        cross = self.cross.reshape(n_frames * width, n_shared)
        through_cross = through_cross.reshape(n_frames * width, n_shared)
        shared = self.shared + np.diag(damping * np.diag(self.shared) + 1e-9)
        schur = torch.from_numpy(shared - cross.T @ through_cross)
        rhs = torch.from_numpy(-self.shared_gradient - cross.T @ step_local.reshape(-1))
        step_shared = torch.linalg.solve(schur, rhs).numpy()
        step_local = step_local - (through_cross @ step_shared).reshape(n_frames, width)
        return step_local, step_shared


def block_tridiagonal_solve(diagonal: torch.Tensor, coupling: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Solve a symmetric positive-definite block-tridiagonal system (block Thomas algorithm).

    diagonal: (B, L, L) blocks; coupling: (B-1, L), block (b, b+1) = diag(coupling[b]);
    right: (B, L, R) right-hand sides. Returns (B, L, R).
    """
    n_frames = diagonal.shape[0]
    factors, eliminated = [], []
    for b in range(n_frames):
        block, rhs = diagonal[b], right[b]
        if b:
            c = coupling[b - 1][:, None]
            through = torch.cholesky_solve(torch.cat([torch.diag(coupling[b - 1]), eliminated[-1]], 1), factors[-1])
            block = block - c * through[:, : block.shape[0]]
            rhs = rhs - c * through[:, block.shape[0] :]
        factors.append(torch.linalg.cholesky(block))
        eliminated.append(rhs)
    solution = [torch.cholesky_solve(eliminated[-1], factors[-1])]
    for b in range(n_frames - 2, -1, -1):
        solution.append(torch.cholesky_solve(eliminated[b] - coupling[b][:, None] * solution[-1], factors[b]))
    return torch.stack(solution[::-1])
