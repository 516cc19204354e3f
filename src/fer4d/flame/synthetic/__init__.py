"""The synthetic FLAME-format face model (geometry, expressions, identity, rig, landmarks)."""

from fer4d.flame.synthetic.build import make_synthetic_flame
from fer4d.flame.synthetic.expressions import EXPRESSION_COMPONENTS

__all__ = ["EXPRESSION_COMPONENTS", "make_synthetic_flame"]
