"""The config sections of the workflow and their option dataclasses, for checking the schema.

``workflow/schemas/config.schema.yaml`` is the user-facing description of every key (with
defaults); ``section_schema(cls)`` derives the same keys, types and defaults from a stage's
options dataclass, so a test can prove the two never drift apart, and a new option can be
pasted into the schema from ``python -m fer4d.configschema SECTION``.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import types
import typing

import yaml

SECTIONS = {
    "synthetic": "fer4d.synth.options:SynthOptions",
    "labels": "fer4d.labels:LabelOptions",
    "flame": "fer4d.flame.options:FlameOptions",
    "ingest": "fer4d.io.options:IngestOptions",
    "fit": "fer4d.fitting.options:FitOptions",
    "landmarks": "fer4d.landmarks.options:LandmarkOptions",
    "landmark_fit": "fer4d.fitting.landmarks:LandmarkFitOptions",
    "store": "fer4d.store.options:StoreOptions",
    "folds": "fer4d.store.options:FoldOptions",
    "hierarchy": "fer4d.mesh.options:HierarchyOptions",
    "autoencoder": "fer4d.train.autoencoder:AutoencoderOptions",
    "transformer": "fer4d.train.classifier.options:TransformerOptions",
    "baselines": "fer4d.train.classifier.options:BaselineOptions",
    "evaluation": "fer4d.train.classifier.options:EvaluationOptions",
    "memory_benchmark": "fer4d.bench.memory:MemoryBenchmarkOptions",
}
"""Config section → ``module:OptionsClass``."""

_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}


def options_class(section: str) -> type:
    module, name = SECTIONS[section].split(":")
    return getattr(importlib.import_module(module), name)


def _json_type(annotation) -> dict:
    origin = typing.get_origin(annotation)
    if origin in (tuple, list):
        item = typing.get_args(annotation)[0]
        return {"type": "array", "items": _json_type(item)}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    if origin in (typing.Union, types.UnionType):
        kinds = [_json_type(arg)["type"] for arg in typing.get_args(annotation)]
        return {"type": kinds}
    return {"type": _JSON_TYPES[annotation]}


def section_schema(cls: type) -> dict:
    """JSON-schema properties of ``cls``'s fields: type and default of each."""
    hints = typing.get_type_hints(cls)
    properties = {}
    for field in dataclasses.fields(cls):
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        if isinstance(default, tuple):
            default = list(default)
        properties[field.name] = {**_json_type(hints[field.name]), "default": default}
    return properties


if __name__ == "__main__":
    for section in sys.argv[1:] or SECTIONS:
        print(
            yaml.safe_dump(
                {
                    section: {
                        "type": "object",
                        "default": {},
                        "additionalProperties": False,
                        "properties": section_schema(options_class(section)),
                    }
                },
                default_flow_style=None,
                sort_keys=False,
                width=120,
            )
        )
