"""The planted-fault dataset of issue #16: a synthetic BU-4DFE-layout folder with the faults a new
user's data has, for the workflow to survive (``strict: false``) or fail on by name (``strict: true``).

Faults, planted into ``fer4d synth`` output:

- every frame of ``F001/Angry`` truncated (the sequence ends up empty, dropped by the store);
- in ``F002/Happy`` one truncated, one empty and one random-bytes ``.wrl`` (quarantined, the
  sequence kept);
- an unknown ``Neutral`` expression folder (skipped with a warning) and a stray text file;
- ``M001/Sad`` cut to 2 frames with its longer ``ground_truth.h5`` left beside it (the ground
  truth quarantined, the frames kept).

``python tests/planted_faults.py OUT [--subjects 6]`` writes the dataset and a config for it
(``OUT/config.yaml``): ``snakemake --configfile OUT/config.yaml`` then runs on it.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import yaml

from fer4d.synth import SynthOptions, synthesize_dataset
from fer4d.synth.facemodel import make_synthetic_flame

MODEL_NAME = "flame_synthetic.pkl"


def plant_faults(root: Path, seed: int = 0) -> dict[str, list[Path]]:
    """Plant the faults into the dataset at ``root`` → {fault: the files it concerns}."""
    rng = np.random.default_rng(seed)
    angry = sorted((root / "F001" / "Angry").glob("*.wrl"))
    for path in angry:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    happy = sorted((root / "F002" / "Happy").glob("*.wrl"))
    truncated, empty, noise = happy[1], happy[3], happy[5]
    truncated.write_bytes(truncated.read_bytes()[:2000])
    empty.write_bytes(b"")
    noise.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    neutral = root / "F002" / "Neutral"
    neutral.mkdir()
    shutil.copy(happy[0], neutral / "000.wrl")
    (root / "F002" / "notes.txt").write_text("scanned on a rainy day\n")
    sad = sorted((root / "M001" / "Sad").glob("*.wrl"))
    for path in sad[2:]:
        path.unlink()
    return {
        "F001/Angry truncated": angry,
        "F002/Happy bad": [truncated, empty, noise],
        "M001/Sad ground truth": [root / "M001" / "Sad" / "ground_truth.h5"],
    }


def write_planted_dataset(out: Path, synthetic: dict, workers: int = 1) -> tuple[Path, dict[str, list[Path]]]:
    """Synthesize a dataset (``synthetic``: config section ``synthetic``) under ``out/raw``, plant
    the faults, and write ``out/config.yaml`` pointing the workflow at it.

    Returns the config path and the planted faults."""
    out.mkdir(parents=True, exist_ok=True)
    options = SynthOptions.from_dict(synthetic)
    model = make_synthetic_flame(out / MODEL_NAME, n_vertices=options.model_vertices, seed=options.seed)
    synthesize_dataset(out / MODEL_NAME, out / "raw", options, workers=workers)
    faults = plant_faults(out / "raw")
    config = {
        "dataset": {"source": "directory", "root": str(out / "raw"), "layout": "bu4dfe", "extension": "wrl"},
        "flame": {"model": str(model)},
    }
    (out / "config.yaml").write_text(yaml.safe_dump(config))
    return out / "config.yaml", faults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--subjects", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config, faults = write_planted_dataset(args.out, {"subjects": args.subjects}, args.workers)
    for fault, files in faults.items():
        print(f"{fault}: {len(files)} file(s)")
    print(f"config: {config}")


if __name__ == "__main__":
    main()
