"""FlameLayer against an independent NumPy LBS (per-joint loops, scipy Rotation)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from fer4d.flame import FlameLayer, load_flame
from fer4d.flame.lbs import rodrigues
from fer4d.synth.facemodel import make_synthetic_flame

N_SHAPE, N_EXPR = 20, 18


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = make_synthetic_flame(tmp_path_factory.mktemp("flame") / "model.pkl", n_vertices=600)
    return load_flame(path)


def reference_lbs(model, shape, expression, pose, translation):
    """FLAME for one parameter set, written joint by joint in world coordinates."""
    rest = model.v_template + model.shapedirs[:, :, :N_SHAPE] @ shape + model.exprdirs[:, :, :N_EXPR] @ expression
    joints = model.J_regressor @ rest
    local = [Rotation.from_rotvec(p).as_matrix() for p in pose]
    features = np.concatenate([(r - np.eye(3)).ravel() for r in local[1:]])
    rest = rest + model.posedirs @ features
    world_rotation, world_position = [None] * 5, [None] * 5
    for joint in range(5):
        parent = model.parents[joint]
        if parent < 0:
            world_rotation[joint], world_position[joint] = local[joint], joints[joint]
        else:
            world_rotation[joint] = world_rotation[parent] @ local[joint]
            world_position[joint] = world_position[parent] + world_rotation[parent] @ (joints[joint] - joints[parent])
    posed = np.zeros_like(rest)
    for joint in range(5):
        moved = (rest - joints[joint]) @ world_rotation[joint].T + world_position[joint]
        posed += model.weights[:, joint : joint + 1] * moved
    return posed + translation, np.array(world_position) + translation


def test_layer_matches_independent_numpy_lbs(model):
    rng = np.random.default_rng(1)
    batch = 3
    shape = rng.normal(size=(batch, N_SHAPE))
    expression = rng.normal(size=(batch, N_EXPR))
    pose = rng.normal(scale=0.3, size=(batch, 5, 3))
    translation = rng.normal(scale=20, size=(batch, 3))
    layer = FlameLayer(model, N_SHAPE, N_EXPR, dtype=torch.float64)
    out = layer(*(torch.as_tensor(a) for a in (shape, expression, pose, translation)))
    for b in range(batch):
        vertices, joints = reference_lbs(model, shape[b], expression[b], pose[b], translation[b])
        np.testing.assert_allclose(out.vertices[b].numpy(), vertices, atol=1e-5)
        np.testing.assert_allclose(out.joints[b].numpy(), joints, atol=1e-5)
        corners = vertices[model.faces[model.lmk_face_idx]]  # (L, 3, 3)
        landmarks = np.einsum("lk,lkc->lc", model.lmk_b_coords, corners)
        np.testing.assert_allclose(out.landmarks[b].numpy(), landmarks, atol=1e-5)
    assert np.abs(out.vertices[0].numpy() - model.v_template).max() > 5.0  # it did pose


def test_zero_parameters_give_the_template(model):
    layer = FlameLayer(model, N_SHAPE, N_EXPR, dtype=torch.float64)
    out = layer(batch_size=2)
    assert out.vertices.shape == (2, model.n_vertices, 3)
    np.testing.assert_allclose(out.vertices[1].numpy(), model.v_template, atol=1e-9)
    np.testing.assert_allclose(out.joints[0].numpy(), model.J_regressor @ model.v_template, atol=1e-9)


def test_jaw_rotation_moves_only_jaw_weighted_vertices(model):
    layer = FlameLayer(model, N_SHAPE, N_EXPR, dtype=torch.float64)
    pose = torch.zeros(1, 5, 3, dtype=torch.float64)
    pose[0, 2, 0] = 0.3
    moved = np.linalg.norm(layer(pose=pose).vertices[0].numpy() - model.v_template, axis=1)
    jaw = model.weights[:, 2]
    assert moved[jaw == 0].max() < 1e-9
    assert moved[jaw > 0.9].min() > 1.0
    assert (jaw == 0).sum() > model.n_vertices / 2


def test_float32_and_float64_agree(model):
    rng = np.random.default_rng(2)
    params = [
        rng.normal(size=(2, N_SHAPE)),
        rng.normal(size=(2, N_EXPR)),
        rng.normal(scale=0.2, size=(2, 5, 3)),
        rng.normal(size=(2, 3)),
    ]
    out64 = FlameLayer(model, N_SHAPE, N_EXPR, dtype=torch.float64)(*(torch.as_tensor(p) for p in params))
    layer32 = FlameLayer(model, N_SHAPE, N_EXPR).to(torch.device("cpu"), torch.float32)
    out32 = layer32(*(torch.as_tensor(p, dtype=torch.float32) for p in params))
    assert out32.vertices.dtype == torch.float32
    np.testing.assert_allclose(out32.vertices.numpy(), out64.vertices.numpy(), atol=1e-3)


def test_gradients_flow_to_every_parameter(model):
    layer = FlameLayer(model, N_SHAPE, N_EXPR)
    params = [torch.zeros(2, N_SHAPE), torch.zeros(2, N_EXPR), torch.zeros(2, 5, 3), torch.zeros(2, 3)]
    for p in params:
        p.requires_grad_(True)
    target = torch.as_tensor(model.v_template, dtype=torch.float32) + 3.0
    loss = ((layer(*params).vertices - target) ** 2).mean()
    loss.backward()
    for p in params:
        assert torch.isfinite(p.grad).all()
        assert p.grad.abs().sum() > 0


def test_rodrigues_matches_scipy_and_is_identity_at_zero():
    vectors = np.random.default_rng(3).normal(size=(7, 3))
    vectors[0] = 0.0
    ours = rodrigues(torch.as_tensor(vectors)).numpy()
    np.testing.assert_allclose(ours, Rotation.from_rotvec(vectors).as_matrix(), atol=1e-12)


def test_negligible_model_entries_become_zero_and_leave_the_mesh_as_it_was(model):
    """Entries 1e-12 of a matrix's largest are set to zero (their products would underflow into
    slow subnormal floats); every other entry, and so the posed mesh, is unchanged."""
    planted = copy.deepcopy(model)
    planted.shapedirs[5, 1, 2] = 1e-30
    planted.exprdirs[7, 0, 1] = -1e-15 * np.abs(planted.exprdirs).max()
    layer = FlameLayer(planted, N_SHAPE, N_EXPR)
    directions = layer.directions.reshape(-1, 3, N_SHAPE + N_EXPR)
    assert directions[5, 1, 2] == 0 and directions[7, 0, N_SHAPE + 1] == 0
    assert torch.count_nonzero(directions) >= torch.count_nonzero(FlameLayer(model, N_SHAPE, N_EXPR).directions) - 2
    rng = np.random.default_rng(4)
    shape = torch.as_tensor(rng.normal(size=(1, N_SHAPE)), dtype=torch.float32)
    expression = torch.as_tensor(rng.normal(size=(1, N_EXPR)), dtype=torch.float32)
    original = FlameLayer(model, N_SHAPE, N_EXPR)(shape, expression).vertices
    torch.testing.assert_close(layer(shape, expression).vertices, original, rtol=0, atol=1e-6)
