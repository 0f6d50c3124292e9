"""The LLaRA model's code contract: the curriculum schedule, finite queries in the corner
cases serving meets (no title, no seeds, masked seeds), and an ONNX export with dynamic batch
and seed counts that matches torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from llara_training.model import LlaraModel, curriculum_probability


def test_curriculum_rises_linearly_from_text_only_to_hybrid():
    total = 200
    probs = [curriculum_probability(s, total) for s in range(0, 260, 10)]
    assert probs[0] == 0.0
    assert curriculum_probability(50, total) == pytest.approx(0.25)
    assert curriculum_probability(100, total) == pytest.approx(0.5)
    assert curriculum_probability(total, total) == 1.0
    assert curriculum_probability(10 * total, total) == 1.0
    assert all(b >= a for a, b in zip(probs, probs[1:]))
    assert np.allclose(np.diff(probs[:21]), 10 / total)  # linear until it reaches 1
    assert curriculum_probability(0, 0) == 1.0  # no curriculum: hybrid from the start


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LlaraModel(text_dim=24, behaviour_dim=8, width=16, hidden=32, heads=2, layers=2).eval()


def test_query_without_title_or_seeds_is_finite(model):
    q = model.query(torch.randn(3, 24), torch.zeros(3), torch.zeros(3, 0, 16), torch.zeros(3, 0))
    assert q.shape == (3, 16) and torch.isfinite(q).all()
    # Fully masked seed rows (padding only) give the same answer as no seeds at all.
    masked = model.query(torch.randn(3, 24), torch.zeros(3), torch.randn(3, 5, 16) * 100,
                         torch.zeros(3, 5))
    assert torch.isfinite(masked).all()
    assert torch.allclose(masked, q, atol=1e-5)


def test_padding_does_not_change_the_query(model):
    title, seeds = torch.randn(1, 24), torch.randn(1, 3, 16)
    short = model.query(title, torch.ones(1), seeds, torch.ones(1, 3))
    padded = model.query(title, torch.ones(1), torch.cat([seeds, torch.randn(1, 4, 16)], 1),
                         torch.tensor([[1, 1, 1, 0, 0, 0, 0]], dtype=torch.float32))
    assert torch.allclose(short, padded, atol=1e-5)
    with_title = model.query(title, torch.ones(1), seeds, torch.ones(1, 3))
    assert not torch.allclose(with_title, model.query(title, torch.zeros(1), seeds,
                                                      torch.ones(1, 3)))


def test_cold_item_vectors_use_the_projector(model):
    text = torch.randn(4, 24)
    assert torch.allclose(model.cold_item_vectors(text),
                          model.item_vectors(text, model.projector(text)))
    assert model.item_vectors(text, torch.randn(4, 8)).shape == (4, 16)
    rebuilt = LlaraModel.from_config(model.config)
    rebuilt.load_state_dict(model.state_dict())
    assert torch.equal(rebuilt.eval().cold_item_vectors(text), model.cold_item_vectors(text))


def test_query_exports_to_onnx_with_dynamic_batch_and_seed_count(model, tmp_path):
    import onnxruntime as ort

    class Query(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, title_emb, title_mask, seed_vecs, seed_mask):
            return self.m.query(title_emb, title_mask, seed_vecs, seed_mask)

    path = tmp_path / "query.onnx"
    names = ["title_emb", "title_mask", "seed_vecs", "seed_mask"]
    torch.onnx.export(Query(model).eval(), (torch.randn(2, 24), torch.ones(2),
                                            torch.randn(2, 3, 16), torch.ones(2, 3)),
                      str(path), input_names=names, output_names=["query"], opset_version=17,
                      dynamic_axes={"title_emb": {0: "B"}, "title_mask": {0: "B"},
                                    "seed_vecs": {0: "B", 1: "S"}, "seed_mask": {0: "B", 1: "S"}},
                      dynamo=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for batch, seeds in ((1, 0), (4, 7), (2, 120)):
        inputs = [rng.standard_normal((batch, 24)).astype(np.float32),
                  (rng.random(batch) < 0.5).astype(np.float32),
                  rng.standard_normal((batch, seeds, 16)).astype(np.float32),
                  (rng.random((batch, seeds)) < 0.7).astype(np.float32)]
        got = session.run(None, dict(zip(names, inputs)))[0]
        want = model.query(*map(torch.as_tensor, inputs)).detach().numpy()
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, atol=1e-4)
