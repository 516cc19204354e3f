"""The synthetic FLAME-format face model (geometry, expressions, identity, rig, landmarks)."""

from fer4d.synth.facemodel.build import make_synthetic_flame
from fer4d.synth.facemodel.expressions import EXPRESSION_COMPONENTS

__all__ = ["EXPRESSION_COMPONENTS", "make_synthetic_flame"]
