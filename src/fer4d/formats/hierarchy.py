"""The mesh hierarchy file ``hierarchy.npz`` (written by stage ``hierarchy``, read by the
auto-encoder stages): ``write_hierarchy`` and ``read_hierarchy``, the only code that opens one.

One ``.npz``: ``levels``; per level ``vertices_{l} (V_l, 3)``, ``faces_{l} (F_l, 3)``,
``spirals_{l} (V_l, S)``; per pair of levels the sparse ``down``/``up`` operators as COO
triplets ``{down,up}_{l}_{row,col,val}`` and their ``{down,up}_{l}_shape``.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError
from fer4d.mesh.hierarchy import MeshHierarchy


def write_hierarchy(path: str | os.PathLike, hierarchy: MeshHierarchy) -> None:
    """Write ``hierarchy`` to ``path`` atomically (compressed ``.npz``)."""
    arrays = {"levels": np.array(len(hierarchy.vertices))}
    for l in range(len(hierarchy.vertices)):
        arrays[f"vertices_{l}"] = hierarchy.vertices[l]
        arrays[f"faces_{l}"] = hierarchy.faces[l]
        arrays[f"spirals_{l}"] = hierarchy.spirals[l]
    for name, ops in (("down", hierarchy.down), ("up", hierarchy.up)):
        for l, op in enumerate(ops):
            coo = op.tocoo()
            arrays[f"{name}_{l}_row"], arrays[f"{name}_{l}_col"] = coo.row, coo.col
            arrays[f"{name}_{l}_val"] = coo.data
            arrays[f"{name}_{l}_shape"] = np.array(coo.shape)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def read_hierarchy(path: str | os.PathLike) -> MeshHierarchy:
    """Read a file written by :func:`write_hierarchy`; anything else raises InputFileError."""
    try:
        with np.load(path, allow_pickle=False) as data:
            levels = int(data["levels"])
            get = lambda name, l: sp.csr_matrix(
                (data[f"{name}_{l}_val"], (data[f"{name}_{l}_row"], data[f"{name}_{l}_col"])),
                shape=tuple(data[f"{name}_{l}_shape"]),
            )
            return MeshHierarchy(
                vertices=[data[f"vertices_{l}"] for l in range(levels)],
                faces=[data[f"faces_{l}"] for l in range(levels)],
                spirals=[data[f"spirals_{l}"] for l in range(levels)],
                down=[get("down", l) for l in range(levels - 1)],
                up=[get("up", l) for l in range(levels - 1)],
            )
    except (OSError, KeyError, ValueError) as err:
        raise InputFileError(path, f"not a mesh hierarchy file ({err})") from err
