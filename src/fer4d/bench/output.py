"""How every benchmark reports: readable ``key: value`` lines, then the JSON object last."""

from __future__ import annotations

import json
from typing import Any


def emit(result: dict[str, Any], json_only: bool) -> int:
    """Print ``result`` (unless ``json_only``, first as ``key: value`` lines) and its JSON line; return 0."""
    if not json_only:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    print(json.dumps(result))
    return 0
