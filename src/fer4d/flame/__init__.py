"""fer4d.flame: FLAME model files and the FLAME layer (PyTorch). The synthetic FLAME-format face
lives with the synthetic data, in ``fer4d.synth.facemodel``.

FLAME: Li, Bolkart, Black, Li, Romero, "Learning a model of facial shape and expression from
4D scans", ACM Trans. Graph. (SIGGRAPH Asia) 2017. Everything here is in millimetres.
"""

from fer4d.flame.files import load_flame, load_landmark_embedding
from fer4d.flame.layer import FlameLayer, FlameOutput
from fer4d.flame.model import FlameModel, save_flame_npz
from fer4d.flame.options import FlameOptions
from fer4d.flame.regions import expression_regions, face_region

__all__ = [
    "FlameLayer",
    "FlameModel",
    "FlameOptions",
    "FlameOutput",
    "expression_regions",
    "face_region",
    "load_flame",
    "load_landmark_embedding",
    "save_flame_npz",
]
