"""The config schema describes exactly the options each stage reads, with the same defaults."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from fer4d.configschema import SECTIONS, options_class, section_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "workflow" / "schemas" / "config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())


def _essentials(properties: dict) -> dict:
    """Type, default and item type of each key (descriptions and bounds left out)."""
    return {
        name: {
            k: ({"type": v["type"]} if k == "items" else v)
            for k, v in spec.items()
            if k in ("type", "default", "items")
        }
        for name, spec in properties.items()
    }


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_schema_section_matches_the_options_dataclass(section):
    documented = SCHEMA["properties"][section]
    assert documented.get("additionalProperties") is False, section
    derived = section_schema(options_class(section))
    assert _essentials(documented["properties"]) == _essentials(derived)


@pytest.mark.parametrize("config_file", ["config.yaml", "tests/data/tiny_config.yaml"])
def test_configs_validate_and_build_every_stage_option(config_file):
    config = yaml.safe_load((ROOT / config_file).read_text())
    validate(config, str(SCHEMA_PATH))  # fills in defaults
    for section in SECTIONS:
        options_class(section).from_dict(config[section])
    assert config["resources"]["default"]["mem_mb"] > 0


def test_unknown_keys_are_rejected():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    bad = copy.deepcopy(config)
    bad["fit"] = {"n_shpe": 3}
    with pytest.raises(Exception, match="n_shpe"):
        validate(bad, str(SCHEMA_PATH))
