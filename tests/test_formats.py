"""File formats: each owner writes what its reader reads, and refuses what a reader would reject."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fer4d import LABELS
from fer4d.checkpoint import save_checkpoint
from fer4d.errors import InputFileError
from fer4d.formats.checkpoints import (
    AutoencoderCheckpoint,
    read_autoencoder_checkpoint,
    read_classifier_checkpoint,
    write_autoencoder_checkpoint,
)
from fer4d.formats.embeddings import EmbeddedSequence, embedding_width, read_embeddings, write_embeddings
from fer4d.formats.predictions import Prediction, read_predictions, write_predictions


def sequence(key, split, frames=3, dim=4):
    return EmbeddedSequence(key, key.split("__")[0], "anger", 0, split, np.ones((frames, dim), np.float32))


def test_embeddings_round_trip(tmp_path):
    written = [sequence("b__anger", "test"), sequence("a__anger", "train", frames=5)]
    assert write_embeddings(tmp_path / "e.h5", 2, 4, written, labels=["anger", "calm"]) == 2
    embeddings = read_embeddings(tmp_path / "e.h5")
    read = embeddings.sequences
    assert embeddings.fold == 2 and embeddings.labels == ["anger", "calm"]
    assert [s.key for s in read] == ["a__anger", "b__anger"]
    assert [s.split for s in read] == ["train", "test"] and read[0].embedding.shape == (5, 4)
    assert embedding_width(tmp_path / "e.h5") == 4
    with pytest.raises(InputFileError, match="nothing.h5"):
        embedding_width(tmp_path / "nothing.h5")


def test_embeddings_with_a_label_index_outside_the_classes_are_refused(tmp_path):
    beyond = EmbeddedSequence("a__x", "a", "x", 2, "train", np.ones((3, 4), np.float32))
    write_embeddings(tmp_path / "e.h5", 0, 4, [beyond], labels=["anger", "calm"])
    with pytest.raises(InputFileError, match="e.h5.*label index 2 of 2 classes"):
        read_embeddings(tmp_path / "e.h5")


@pytest.mark.parametrize("bad", [sequence("x__anger", "unused"), sequence("x__anger", "train", dim=3)])
def test_embeddings_writer_refuses_what_the_classifier_would_reject(tmp_path, bad):
    with pytest.raises(ValueError, match="x__anger"):
        write_embeddings(tmp_path / "e.h5", 0, 4, [sequence("a__anger", "train"), bad])
    assert not list(tmp_path.iterdir())  # nothing renamed into place


def test_checkpoints_round_trip_and_name_missing_keys(tmp_path):
    checkpoint = AutoencoderCheckpoint({"w": torch.ones(2)}, {"latent": 8}, "abc", {"mean": torch.zeros(1)}, 1, 7)
    write_autoencoder_checkpoint(tmp_path / "ae.pt", checkpoint)
    again = read_autoencoder_checkpoint(tmp_path / "ae.pt")
    assert again.hierarchy == "abc" and again.epoch == 7 and torch.equal(again.model["w"], torch.ones(2))
    with pytest.raises(InputFileError, match="ClassifierCheckpoint.*member_states"):
        read_classifier_checkpoint(tmp_path / "ae.pt")
    save_checkpoint(tmp_path / "other.pt", {"model": {}})
    with pytest.raises(InputFileError, match="other.pt.*missing"):
        read_autoencoder_checkpoint(tmp_path / "other.pt")


def test_predictions_round_trip(tmp_path):
    items = [Prediction("s__fear", "s", "fear", "surprise", [0.1, 0.1, 0.3, 0.1, 0.1, 0.3000004])]
    write_predictions(tmp_path / "p.json", 3, items, list(LABELS))
    data = read_predictions(tmp_path / "p.json")
    with pytest.raises(ValueError, match="does not fit the 2 classes"):
        write_predictions(tmp_path / "q.json", 3, items, ["fear", "surprise"])
    assert not (tmp_path / "q.json").exists()
    assert data["fold"] == 3 and data["items"][0]["pred"] == "surprise" and data["items"][0]["probs"][-1] == 0.3
