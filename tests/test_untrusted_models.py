"""Malicious pickles against the restricted unpickler and weights_only checkpoints (issue #16, item 5).

Each pickle would, if loaded naively, create a marker file (or allocate tens of gigabytes). The
loaders must refuse it with an ``InputFileError`` naming the file, run nothing, and write
nothing: the folder holds the same files after the attempt.
"""

from __future__ import annotations

import builtins
import copyreg
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
import scipy.sparse
import torch

from fer4d.checkpoint import load_checkpoint
from fer4d.errors import InputFileError
from fer4d.flame.files import load_flame
from fer4d.flame.unpickle import restricted_load

HUGE = (200_000, 100_000)  # 20 G elements


class Reduce:
    """Pickles as ``function(*args)``: the building block of every attack here."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def touch(marker) -> str:
    return f"open({str(marker)!r}, 'w').write('pwned')"


def malicious_objects(marker):
    """name → an object whose unpickling runs code (creating ``marker``) or allocates hugely."""
    shell = Reduce(os.system, f"touch {marker}")
    return {
        "os_system": shell,
        "eval": Reduce(builtins.eval, touch(marker)),
        "exec": Reduce(builtins.exec, touch(marker)),
        "getattr_chain": Reduce(getattr, Reduce(builtins.__import__, "os"), "system"),
        "copyreg_builtins": Reduce(
            copyreg._reconstructor, Reduce(getattr, Reduce(builtins.__import__, "builtins"), "eval"), object, None
        ),
        "nested_in_model_dict": {"v_template": np.zeros((3, 3)), "shapedirs": [np.ones(2), {"x": shell}]},
        "nested_in_set": Reduce(copyreg._reconstructor, set, set, [Reduce(builtins.eval, touch(marker))]),
        "huge_ndarray": Reduce(np.ndarray, HUGE),
        "huge_reconstruct": Reduce(np._core.multiarray._reconstruct, np.ndarray, HUGE, np.dtype("float64")),
    }


def write_pickles(folder, marker) -> dict[str, bytes]:
    """Every malicious object pickled at protocols 0, 2 and 5, plus two hand-assembled ones."""
    data = {}
    for name, obj in malicious_objects(marker).items():
        for protocol in (0, 2, 5):
            data[f"{name}_p{protocol}"] = pickle.dumps(obj, protocol=protocol)
    # GLOBAL opcode on a module attribute that only looks harmless
    data["copyreg_dunder_builtins"] = b"ccopyreg\n__builtins__\n."
    # an extension code registered for os.system: the unpickler looks it up through copyreg
    copyreg.add_extension(os.system.__module__, "system", 0x4242)
    try:
        data["copyreg_extension"] = pickle.dumps(Reduce(os.system, f"touch {marker}"), protocol=2)
    finally:
        copyreg.remove_extension(os.system.__module__, "system", 0x4242)
    assert b"\x82" in data["copyreg_extension"] or b"\x83" in data["copyreg_extension"]  # EXT1/EXT2 used
    for name, content in data.items():
        (folder / f"{name}.pkl").write_bytes(content)
    return data


def huge_sparse_model(folder):
    """A FLAME-shaped dict whose J_regressor is a tiny sparse matrix claiming 20 G entries."""
    model = {key: np.zeros((3, 3)) for key in ("v_template", "f", "posedirs", "weights", "kintree_table")}
    model["shapedirs"] = np.zeros((3, 3, 2))
    model["J_regressor"] = scipy.sparse.csc_matrix(HUGE)
    path = folder / "huge_sparse.pkl"
    path.write_bytes(pickle.dumps(model, protocol=4))
    return path


@pytest.fixture
def corpus(tmp_path):
    folder, marker = tmp_path / "models", tmp_path / "marker"
    folder.mkdir()
    names = write_pickles(folder, marker)
    huge_sparse_model(folder)
    if any(name.startswith("copyreg_extension") for name in names):
        copyreg.add_extension(os.system.__module__, "system", 0x4242)  # the registry as an attacker might leave it
        yield folder, marker
        copyreg.remove_extension(os.system.__module__, "system", 0x4242)


def snapshot(tmp_path) -> set[str]:
    return {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}


def test_restricted_unpickler_refuses_every_malicious_pickle(corpus, tmp_path):
    folder, marker = corpus
    before = snapshot(tmp_path)
    paths = sorted(folder.glob("*.pkl"))
    assert len(paths) >= 30
    for path in paths:
        with pytest.raises(InputFileError) as info:
            if path.name == "huge_sparse.pkl":
                load_flame(path)
            else:
                restricted_load(path)
        assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)
        assert not marker.exists(), path.name
    assert snapshot(tmp_path) == before  # nothing written


def test_huge_arrays_are_refused_before_they_are_allocated(corpus):
    folder, _ = corpus
    for name in ("huge_ndarray_p2", "huge_reconstruct_p5"):
        with pytest.raises(InputFileError, match="refusing an array of shape"):
            restricted_load(folder / f"{name}.pkl")
    with pytest.raises(InputFileError, match="huge_sparse.pkl: unusable model arrays: refusing an array"):
        load_flame(folder / "huge_sparse.pkl")


def test_a_plain_model_pickle_still_loads(tmp_path):
    arrays = {"a": np.arange(6.0).reshape(2, 3), "s": scipy.sparse.csc_matrix(np.eye(3)), "n": {1, 2}}
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps(arrays, protocol=4))
    loaded = restricted_load(tmp_path / "ok.pkl")
    np.testing.assert_array_equal(loaded["a"], arrays["a"])
    assert loaded["s"].nnz == 3 and loaded["n"] == {1, 2}


def write_checkpoints(folder, marker) -> list:
    """Checkpoints carrying the attacks: torch.save'd payloads, a raw pickle, a doctored zip."""
    paths = []
    for name, obj in malicious_objects(marker).items():
        if name.startswith("huge"):
            continue
        path = folder / f"{name}.pt"
        torch.save({"model": {"weight": torch.zeros(2)}, "extra": obj}, path)
        paths.append(path)
    raw = folder / "raw_pickle.pt"
    raw.write_bytes(pickle.dumps(Reduce(os.system, f"touch {marker}"), protocol=2))
    paths.append(raw)
    # a real checkpoint whose data.pkl is swapped for a malicious one
    good = folder / "good.pt"
    torch.save({"weight": torch.ones(3)}, good)
    doctored = folder / "doctored.pt"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(doctored, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename.endswith("data.pkl"):
                content = pickle.dumps(Reduce(builtins.eval, touch(marker)), protocol=2)
            target.writestr(item, content)
    paths.append(doctored)
    # a tensor whose storage is claimed far larger than the file holds
    claims = folder / "claims_huge_tensor.pt"
    torch.save({"weight": torch.ones(4)}, claims)
    paths.append(claims)
    with zipfile.ZipFile(claims) as source:
        items = [(item, source.read(item)) for item in source.infolist()]
    with zipfile.ZipFile(claims, "w") as target:
        for item, content in items:
            if item.filename.endswith("data.pkl"):
                size_4, size_huge = b"K\x04\x85", b"J" + struct.pack("<i", 2**31 - 1) + b"\x85"  # (4,) → (2³¹-1,)
                assert content.count(size_4) == 1
                content = content.replace(size_4, size_huge)
            target.writestr(item, content)
    return paths, good


def test_weights_only_checkpoint_loading_refuses_malicious_checkpoints(tmp_path):
    folder, marker = tmp_path / "ckpt", tmp_path / "marker"
    folder.mkdir()
    paths, good = write_checkpoints(folder, marker)
    before = snapshot(tmp_path)
    for path in paths:
        with pytest.raises(InputFileError) as info:
            load_checkpoint(path)
        assert str(info.value).startswith(f"{path}: ") and not marker.exists(), path.name
    assert snapshot(tmp_path) == before
    assert torch.equal(load_checkpoint(good)["weight"], torch.ones(3))  # the untouched one loads
