"""Export: ONNX graphs, QInt8 quantisation, parity gates, the manifest."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from llara.bundle import read_manifest, sha256_file
from llara.recommend import Recommender

from .conftest import ITEM_DIM, TEXT_DIM, make_tiny_llara


def test_manifest_describes_the_bundle(exported):
    result, (uris, _, _) = exported
    manifest = read_manifest(result.bundle)  # verifies every checksum
    assert manifest["precision"] == "int8" and manifest["source_run"] == "run-test"
    assert manifest["catalog_size"] == len(uris)
    assert manifest["dims"] == {"text": TEXT_DIM, "item": ITEM_DIM}
    assert manifest["metrics"] == {"ndcg": 0.1}
    assert set(manifest["files"]) == {"encoder.onnx", "query.onnx", "scorer.onnx", "items.int8",
                                      "item_scales.f32", "tokenizer.json", "catalog.json.gz"}
    for name, meta in manifest["files"].items():
        assert sha256_file(result.bundle / name) == meta["sha256"]
    parity = manifest["parity"]
    assert parity["passed"] is True
    assert parity["encoder_mean_cosine"] >= 0.98 and parity["top50_overlap"] >= 0.9
    assert parity["validation_playlists"] == 40
    assert manifest["version"].startswith(manifest["created"][:4])


def test_graphs_are_quantised_with_dynamic_axes(exported):
    result, _ = exported
    fp32, int8 = result.fp32_bundle, result.bundle
    assert (int8 / "items.int8").stat().st_size * 4 == (fp32 / "items.f32").stat().st_size
    assert (int8 / "encoder.onnx").stat().st_size < (fp32 / "encoder.onnx").stat().st_size / 2
    ops = {n.op_type for n in __import__("onnx").load(str(int8 / "encoder.onnx")).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops
    query = ort.InferenceSession(str(int8 / "query.onnx"))
    for batch, seeds in ((1, 1), (3, 7)):  # any batch and seed count
        out = query.run(None, {
            "title_emb": np.zeros((batch, TEXT_DIM), np.float32),
            "title_mask": np.ones(batch, bool),
            "seed_vecs": np.ones((batch, seeds, ITEM_DIM), np.float32),
            "seed_text_emb": np.ones((batch, seeds, TEXT_DIM), np.float32),
            "seed_is_cold": np.zeros((batch, seeds), bool),
            "seed_mask": np.ones((batch, seeds), bool)})[0]
        assert out.shape == (batch, ITEM_DIM)


def test_query_graph_matches_torch_including_the_cold_tower(exported):
    import torch

    result, _ = exported
    model = make_tiny_llara()
    rng = np.random.default_rng(3)
    title = rng.standard_normal((2, TEXT_DIM)).astype(np.float32)
    seed_vecs = rng.standard_normal((2, 4, ITEM_DIM)).astype(np.float32)
    seed_text = rng.standard_normal((2, 4, TEXT_DIM)).astype(np.float32)
    is_cold = np.array([[True, False, True, False], [False, False, False, True]])
    mask = np.array([[True, True, True, False], [True, True, True, True]])
    with torch.no_grad():
        cold = model.cold_item_vectors(torch.from_numpy(seed_text.reshape(8, TEXT_DIM)))
        seeds = np.where(is_cold[..., None], cold.numpy().reshape(2, 4, ITEM_DIM), seed_vecs)
        expected = model.query(torch.from_numpy(title), torch.tensor([True, False]),
                               torch.from_numpy(seeds.astype(np.float32)),
                               torch.from_numpy(mask)).numpy()
    got = ort.InferenceSession(str(result.fp32_bundle / "query.onnx")).run(None, {
        "title_emb": title, "title_mask": np.array([True, False]), "seed_vecs": seed_vecs,
        "seed_text_emb": seed_text, "seed_is_cold": is_cold, "seed_mask": mask})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_int8_scorer_ranks_like_fp32(exported):
    result, _ = exported
    int8, fp32 = Recommender(result.bundle), Recommender(result.fp32_bundle)
    query = np.random.default_rng(0).standard_normal(ITEM_DIM).astype(np.float32)
    rows8, _ = int8.scorer.top_k(query, 50)
    rows32, scores32 = fp32.scorer.top_k(query, 50)
    assert len(set(rows8) & set(rows32)) >= 45
    assert np.all(np.diff(scores32) <= 0)  # best first
    exclude = rows32[:5]
    rows, _ = fp32.scorer.top_k(query, 50, exclude=exclude)
    assert len(rows) == 50 and not set(exclude) & set(rows)
    np.testing.assert_array_equal(rows[:45], rows32[5:50])


def test_missed_gate_fails_the_export(tmp_path, tiny_encoder_dir, exported):
    from llara_training.export import EncoderSpec, Gates, ParityError, catalog_table, export_bundle

    from .conftest import make_catalog, validation_requests

    uris, names, artists = make_catalog(300)
    vectors = np.random.default_rng(1).standard_normal((300, ITEM_DIM)).astype(np.float32)
    with pytest.raises(ParityError, match="parity gates missed"):
        export_bundle(make_tiny_llara(), encoder=EncoderSpec(str(tiny_encoder_dir), max_length=16),
                      catalog=catalog_table(uris, names, artists), item_vectors=vectors,
                      validation=validation_requests(uris, names, artists, count=5),
                      out_dir=tmp_path, gates=Gates(encoder_mean_cosine=1.01))


def test_encoder_graph_matches_transformers_on_padded_batches(exported, tiny_encoder_dir):
    import torch
    from transformers import AutoModel, AutoTokenizer

    result, _ = exported
    texts = ["a", "Toxic by Britney Spears from In The Zone", "quite a bit longer text " * 3]
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    model = AutoModel.from_pretrained(tiny_encoder_dir).eval()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    expected = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    got = Recommender(result.fp32_bundle).encoder.encode(texts)  # the layer's tokenizer path
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4)
    single = Recommender(result.fp32_bundle).encoder.encode(texts[:1])  # no padding at all
    np.testing.assert_allclose(single[0], expected[0].numpy(), atol=1e-4)
