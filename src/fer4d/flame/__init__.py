"""fer4d.flame: FLAME model files, the FLAME layer (PyTorch) and the synthetic FLAME-format face.

FLAME: Li, Bolkart, Black, Li, Romero, "Learning a model of facial shape and expression from
4D scans", ACM Trans. Graph. (SIGGRAPH Asia) 2017. Everything here is in millimetres.
"""

from fer4d.flame.emotions import EmotionPrototype, emotion_prototypes
from fer4d.flame.files import load_flame, load_landmark_embedding
from fer4d.flame.layer import FlameLayer, FlameOutput
from fer4d.flame.model import FlameModel, save_flame_npz
from fer4d.flame.options import FlameOptions
from fer4d.flame.regions import face_region
from fer4d.flame.synthetic import EXPRESSION_COMPONENTS, make_synthetic_flame

__all__ = [
    "EXPRESSION_COMPONENTS",
    "EmotionPrototype",
    "FlameLayer",
    "FlameModel",
    "FlameOptions",
    "FlameOutput",
    "emotion_prototypes",
    "face_region",
    "load_flame",
    "load_landmark_embedding",
    "make_synthetic_flame",
    "save_flame_npz",
]
