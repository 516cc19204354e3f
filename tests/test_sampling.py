"""Per-epoch frame sampling: a fixed number of stratified frames of every sequence."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from fer4d.store.sampling import FramesPerSequence, central_frames, sequence_runs, stratified_frames

INDEX = [("a", t) for t in range(10)] + [("b", t) for t in range(3)] + [("c", t) for t in range(25)]


def test_sequence_runs_group_consecutive_items_of_one_key():
    runs = sequence_runs(INDEX)
    assert [len(r) for r in runs] == [10, 3, 25] and runs[1].tolist() == [10, 11, 12]


@pytest.mark.parametrize("n_frames, k", [(10, 3), (25, 8), (100, 16), (16, 16), (5, 8)])
def test_stratified_frames_take_one_from_each_stretch(n_frames, k):
    frames = stratified_frames(n_frames, k, np.random.default_rng(0))
    assert len(frames) == min(n_frames, k) and len(set(frames.tolist())) == len(frames)
    assert (np.diff(frames) > 0).all() and frames.min() >= 0 and frames.max() < n_frames
    if n_frames > k:  # frame j lies in the j-th of k equal stretches
        stretch = np.floor(frames * k / n_frames).astype(int)
        assert stretch.tolist() == list(range(k))


def test_an_epoch_draws_the_same_number_of_frames_from_every_sequence():
    sampler = FramesPerSequence(INDEX, per_sequence=4, seed=7)
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == 4 + 3 + 4 and len(set(drawn)) == len(drawn)
    assert Counter(INDEX[i][0] for i in drawn) == {"a": 4, "b": 3, "c": 4}
    assert drawn == list(FramesPerSequence(INDEX, 4, seed=7))  # resumable: same seed, same epoch
    assert drawn != list(FramesPerSequence(INDEX, 4, seed=8))


def test_over_the_epochs_every_frame_is_used():
    seen = set()
    for epoch in range(40):
        seen.update(FramesPerSequence(INDEX, per_sequence=5, seed=epoch))
    assert seen == set(range(len(INDEX)))


def test_zero_frames_per_sequence_is_refused():
    with pytest.raises(ValueError, match="per_sequence"):
        FramesPerSequence(INDEX, 0, seed=0)


def test_central_frames_take_the_middle_of_each_stretch_every_time():
    chosen = central_frames(INDEX, per_sequence=4)
    assert chosen.tolist() == central_frames(INDEX, 4).tolist()  # no chance
    assert Counter(INDEX[i][0] for i in chosen) == {"a": 4, "b": 3, "c": 4}  # short "b": all of it
    frames_of_c = [INDEX[i][1] for i in chosen if INDEX[i][0] == "c"]
    assert frames_of_c == [3, 9, 15, 21]  # centres of the quarters of 25 frames
    with pytest.raises(ValueError, match="per_sequence"):
        central_frames(INDEX, 0)
