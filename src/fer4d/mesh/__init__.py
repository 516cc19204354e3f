"""fer4d.mesh: the decimation hierarchy, pooling operators and spirals of the template.

Stage function: ``build_hierarchy_file(store_path, out_path, options)``.
"""

from fer4d.mesh.hierarchy import MeshHierarchy, build_hierarchy, build_hierarchy_file, load_hierarchy
from fer4d.mesh.options import HierarchyOptions
from fer4d.mesh.spirals import spirals

__all__ = ["HierarchyOptions", "MeshHierarchy", "build_hierarchy", "build_hierarchy_file", "load_hierarchy", "spirals"]
