"""Stage ``train_autoencoder``: one fold's spiral auto-encoder.

L1 loss on the standardised input of ``fer4d.train.inputs`` (by default each frame's displacement
from its subject's neutral mesh; statistics from the fold's training subjects only), Adam with an
exponentially decaying learning rate, the best epoch chosen on the validation subjects only
(compared on a fixed subset of their frames, ``frames_per_sequence`` central ones of each
sequence, as an epoch trains on that many), reconstruction error in millimetres
(``fer4d.train.reconstruction``: whole mesh and per region) on every frame of the validation and
test subjects. Resumable: after every epoch the whole training state goes to ``resume_dir/last.pt``, outside the rule's declared outputs (which
Snakemake deletes before a rerun); a later call with the same options, data and hierarchy
continues from it. Shuffling uses a generator seeded by ``seed + epoch``, so a resumed run
gives the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from fer4d.atomic import write_json
from fer4d.checkpoint import load_checkpoint, save_checkpoint
from fer4d.device import resolve_device, seed_everything
from fer4d.formats.checkpoints import AutoencoderCheckpoint, write_autoencoder_checkpoint
from fer4d.formats.hierarchy import read_hierarchy
from fer4d.mesh import MeshHierarchy
from fer4d.models.spiral import SpiralAutoencoder
from fer4d.options import SectionOptions
from fer4d.store import FrameDataset, MeshStore
from fer4d.store.sampling import FramesPerSequence, central_frames
from fer4d.train.adam import Adam
from fer4d.train.inputs import INPUTS, NORMALISATIONS, InputTransform, mix_identities
from fer4d.train.reconstruction import reconstruction_errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AutoencoderOptions(SectionOptions):
    """Spiral auto-encoder size, input and training schedule. Filters, spiral length and ELU
    follow Bouritsas et al. (2019); three levels, a 64-d latent and 30 epochs suit the
    ~1,500-vertex default template on a CPU (chosen on fold 2 of the default run: 100% vs 58%
    test accuracy for four levels, latent 32, 20 epochs). ``input``, ``normalise``,
    ``min_std_mm`` and ``identity_mix``: see ``fer4d.train.inputs``; displacement with global
    standardisation chosen on fold 0's validation subjects of the default run (0.120 mm, against
    0.121 per vertex, 2.31 mm for the absolute input and 2.27 mm with ``identity_mix: 0.5``).
    ``frames_per_sequence: 8`` chosen on the validation subjects of all four folds of the default
    run: the classifier's validation accuracy equal to every frame's on each fold (92/92/92/100 %),
    the auto-encoder's validation error 0.17–0.22 mm against 0.10–0.13 mm, an epoch 2.2–3× shorter."""

    SECTION = "autoencoder"

    filters: tuple[int, ...] = (16, 32, 64)
    latent: int = 64
    epochs: int = 30
    batch_size: int = 16
    lr: float = 2e-3
    lr_decay: float = 0.95
    num_workers: int = 0
    frames_per_sequence: int = 8  # frames of each sequence per epoch (fer4d.store.sampling); 0: all
    input: str = "displacement"
    normalise: str = "global"
    min_std_mm: float = 0.1
    identity_mix: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "filters", tuple(int(f) for f in self.filters))
        if self.latent < 1 or self.epochs < 1 or self.batch_size < 1 or not 0 < self.lr_decay <= 1:
            raise ValueError("autoencoder: need latent, epochs, batch_size >= 1 and 0 < lr_decay <= 1")
        if self.frames_per_sequence < 0:
            raise ValueError("autoencoder: frames_per_sequence must be >= 0 (0: every frame)")
        if self.input not in INPUTS or self.normalise not in NORMALISATIONS or self.min_std_mm <= 0:
            raise ValueError(f"autoencoder: need input in {INPUTS}, normalise in {NORMALISATIONS}, min_std_mm > 0")
        if not 0 <= self.identity_mix <= 1 or (self.identity_mix and self.input != "absolute"):
            raise ValueError(
                "autoencoder: identity_mix is a probability, for input: absolute only "
                "(a displacement is the same on any neutral mesh)"
            )


def build_model(hierarchy: MeshHierarchy, options: AutoencoderOptions) -> SpiralAutoencoder:
    return SpiralAutoencoder.from_hierarchy(hierarchy, options.filters, options.latent)


def _loader(dataset, options: AutoencoderOptions, shuffle_seed: int | None) -> DataLoader:
    """Every frame in order (``shuffle_seed=None``), or one training epoch: shuffled, and with
    ``options.frames_per_sequence`` only that many frames of each sequence (``FramesPerSequence``).
    ``dataset``: a ``FrameDataset``, or a ``Subset`` of one (in order only)."""
    generator = torch.Generator().manual_seed(shuffle_seed) if shuffle_seed is not None else None
    sampler = None
    if shuffle_seed is not None and options.frames_per_sequence:
        sampler, generator = FramesPerSequence(dataset.index, options.frames_per_sequence, shuffle_seed), None
    return DataLoader(
        dataset,
        batch_size=options.batch_size,
        shuffle=shuffle_seed is not None and sampler is None,
        sampler=sampler,
        generator=generator,
        num_workers=options.num_workers,
        persistent_workers=options.num_workers > 0,
    )


def train_autoencoder(
    store_path: str | os.PathLike,
    hierarchy_path: str | os.PathLike,
    fold: int,
    checkpoint_path: str | os.PathLike,
    metrics_path: str | os.PathLike,
    resume_dir: str | os.PathLike,
    options: AutoencoderOptions,
    device: str = "auto",
    seed: int = 0,
) -> dict:
    """Train, select the best validation epoch, write checkpoint and metrics; return the metrics.

    Metrics: ``best_epoch``, ``test_euclidean_mm`` / ``test_l1_mm`` (whole mesh), ``reconstruction``
    ``{"val", "test"}`` → region → ``fer4d.train.reconstruction`` measures, the per-epoch
    ``history`` and the frame counts.
    """
    torch_device = resolve_device(device)
    seed_everything(seed)
    hierarchy = read_hierarchy(hierarchy_path)
    with MeshStore(store_path) as store:
        split = store.fold(fold)
        regions = store.regions
        data_id = f"{store.attrs.get('config_hash')}:{store.attrs.get('created')}"
    transform = InputTransform.compute(store_path, split.train, options.input, options.normalise, options.min_std_mm)
    train_set, val_set, test_set = (FrameDataset(store_path, keys) for keys in (split.train, split.val, split.test))
    neutrals = {
        name: torch.from_numpy(dataset.neutrals()).to(torch_device)
        for name, dataset in (("train", train_set), ("val", val_set), ("test", test_set))
    }
    subject_codes = torch.tensor([sorted(set(train_set.subjects)).index(s) for s in train_set.subjects])
    model = build_model(hierarchy, options).to(torch_device)
    optimiser = Adam(model.parameters(), lr=options.lr)  # its lr decays by lr_decay each epoch
    identity = {
        "options": dataclasses.asdict(options),
        "hierarchy": hierarchy.digest(),
        "fold": fold,
        "seed": seed,
        "data": data_id,
        "optimiser": "fer4d.train.adam",
    }
    state = {"epoch": 0, "history": [], "best": None, "best_state": None}
    resume_path = Path(resume_dir) / "last.pt"
    if resume_path.exists():
        saved = load_checkpoint(resume_path, torch_device)
        if saved.get("identity") == identity:
            model.load_state_dict(saved["model"])
            optimiser.load_state_dict(saved["optimiser"])
            state = saved["state"]
            log.info("resuming fold %d from epoch %d (%s)", fold, state["epoch"], resume_path)
        else:
            log.info("ignoring %s: it belongs to other options, data or hierarchy", resume_path)
    log.info(
        "fold %d: %d train, %d val, %d test frames; %s input, %s normalisation; hierarchy %s; %d parameters on %s",
        fold,
        len(train_set),
        len(val_set),
        len(test_set),
        options.input,
        options.normalise,
        hierarchy.sizes,
        sum(p.numel() for p in model.parameters()),
        torch_device,
    )
    # epochs are compared on the same frames of each validation sequence, as many as an epoch
    # trains on: every frame would cost more than the epoch's training itself
    epoch_val_set = (
        Subset(val_set, central_frames(val_set.index, options.frames_per_sequence).tolist())
        if options.frames_per_sequence
        else val_set
    )
    val_loader = _loader(epoch_val_set, options, None)
    start = time.monotonic()
    for epoch in range(state["epoch"] + 1, options.epochs + 1):
        model.train()
        total = frames = 0.0
        mixing = torch.Generator().manual_seed(seed + epoch)
        for vertices, positions in _loader(train_set, options, seed + epoch):
            vertices, neutral = vertices.to(torch_device), neutrals["train"][positions.to(torch_device)]
            if options.identity_mix:  # the frame's displacement on another subject's neutral mesh
                other = neutrals["train"][mix_identities(positions, subject_codes, options.identity_mix, mixing)]
                vertices, neutral = vertices - neutral + other.to(torch_device), other
            batch = transform.encode(vertices, neutral)
            loss = (model(batch) - batch).abs().mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
            frames += len(batch)
        optimiser.lr *= options.lr_decay  # as torch's ExponentialLR
        val = reconstruction_errors(model, val_loader, neutrals["val"], transform, {}, torch_device)["all"]
        state["history"].append(
            {
                "epoch": epoch,
                "train_l1": total / frames,
                "val_euclidean_mm": val["error_mm"],
                "val_l1_mm": val["l1_mm"],
                "lr": optimiser.lr,
            }
        )
        if state["best"] is None or val["error_mm"] < state["best"]["val_euclidean_mm"]:
            state["best"] = {"epoch": epoch, "val_euclidean_mm": val["error_mm"]}
            state["best_state"] = copy.deepcopy(model.state_dict())
        state["epoch"] = epoch
        save_checkpoint(
            resume_path,
            {
                "identity": identity,
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "state": state,
            },
        )
        elapsed = time.monotonic() - start
        remaining = elapsed / (epoch - 0) * (options.epochs - epoch) if epoch else 0
        log.info(
            "fold %d epoch %d/%d: train L1 %.4f, val %.3f mm (best %.3f @ %d), ETA %.0f s",
            fold,
            epoch,
            options.epochs,
            total / frames,
            val["error_mm"],
            state["best"]["val_euclidean_mm"],
            state["best"]["epoch"],
            remaining,
        )
    model.load_state_dict(state["best_state"])
    reconstruction = {
        split_name: reconstruction_errors(
            model, _loader(dataset, options, None), neutrals[split_name], transform, regions, torch_device
        )
        for split_name, dataset in (("val", val_set), ("test", test_set))
    }
    write_autoencoder_checkpoint(
        checkpoint_path,
        AutoencoderCheckpoint(
            model=model.state_dict(),
            options=dataclasses.asdict(options),
            hierarchy=hierarchy.digest(),
            stats=transform.stats(),
            fold=fold,
            epoch=state["best"]["epoch"],
            input=transform.input,
        ),
    )
    test = reconstruction["test"]["all"]
    metrics = {
        "fold": fold,
        "best_epoch": state["best"]["epoch"],
        "test_euclidean_mm": test["error_mm"],
        "test_l1_mm": test["l1_mm"],
        "reconstruction": reconstruction,
        "history": state["history"],
        "frames": {"train": len(train_set), "val": len(val_set), "test": len(test_set)},
    }
    write_json(metrics_path, metrics)
    log.info(
        "fold %d: test reconstruction %.3f mm (Euclidean; expression displacement %.3f mm, %s unexplained)",
        fold,
        test["error_mm"],
        test["expression_mm"],
        "n/a" if test["relative"] is None else f"{100 * test['relative']:.0f}%",
    )
    return metrics
