"""fer4d.mesh: the decimation hierarchy, pooling operators and spirals of a template mesh (pure
geometry: no files; the hierarchy file is ``fer4d.formats.hierarchy``, the stage
``fer4d.train.hierarchy``)."""

from fer4d.mesh.hierarchy import MeshHierarchy, build_hierarchy
from fer4d.mesh.options import HierarchyOptions
from fer4d.mesh.spirals import spirals

__all__ = ["HierarchyOptions", "MeshHierarchy", "build_hierarchy", "spirals"]
