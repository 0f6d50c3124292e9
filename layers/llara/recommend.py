"""A loaded bundle that recommends: resolve seeds, encode the unknown ones and the title, run the
query graph, score the catalog. onnxruntime, numpy, tokenizers, rapidfuzz and orjson only (no
pyarrow either: the serving layer must fit Lambda's 250 MB).
"""
from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort
import orjson
from tokenizers import Tokenizer

from llara.bundle import read_manifest
from llara.resolve import Resolution, Resolver
from llara.schemas import track_text
from llara.scoring import ItemScorer, session_options


class SeedLike(Protocol):
    track_uri: str | None
    track_name: str | None
    artist_name: str | None
    album_name: str | None


class TextEncoder:
    """Texts -> L2-normalised embeddings with the bundle's tokenizer and encoder graph."""

    def __init__(self, folder: Path, spec: dict[str, Any], options: ort.SessionOptions):
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(spec["max_length"]))
        self.tokenizer.enable_padding(pad_id=int(spec["pad_id"]), pad_token=spec["pad_token"])
        self.session = ort.InferenceSession(str(folder / "encoder.onnx"), options,
                                            providers=["CPUExecutionProvider"])
        self.dim = int(spec["dim"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


@dataclass
class Recommendation:
    rows: np.ndarray
    scores: np.ndarray
    tracks: list[dict[str, Any]]  # track_uri, track_name, artist_name, score
    seeds: list[Resolution]

    def counts(self) -> dict[str, int]:
        found = Counter(s.how for s in self.seeds)
        return {"seeds": len(self.seeds), "resolved": found["uri"] + found["exact"],
                "fuzzy": found["fuzzy"], "unknown": found["unknown"],
                "unmatched": found["unmatched"]}


class NothingToRecommendFrom(ValueError):
    """No usable seed and no title."""


class Recommender:
    """Everything a function needs from one bundle, loaded once and shared by threads."""

    def __init__(self, folder: str | Path, *, threads: int = 1, verify: bool = True):
        folder = Path(folder)
        self.folder = folder
        self.manifest = read_manifest(folder, verify=verify)
        self.version: str = self.manifest["version"]
        options = session_options(threads)
        self.encoder = TextEncoder(folder, self.manifest["encoder"], options)
        self.query_session = ort.InferenceSession(str(folder / "query.onnx"), options,
                                                  providers=["CPUExecutionProvider"])
        self.scorer = ItemScorer(folder, self.manifest["items"], options)
        self.max_seeds = int(self.manifest["query"]["max_seeds"])
        self.title_template: str = self.manifest["encoder"].get("title_template", "{}")
        catalog = orjson.loads(gzip.decompress((folder / "catalog.json.gz").read_bytes()))
        self.track_uris: list[str] = catalog["track_uri"]
        self.track_names: list[str] = catalog["track_name"]
        self.artist_names: list[str] = catalog["artist_name"]
        self.resolver = Resolver(self.track_uris, catalog["name_key"], catalog["artist_key"],
                                 threshold=float(self.manifest.get("fuzzy_threshold", 90.0)))
        if len(self.track_uris) != self.scorer.count:
            raise ValueError(f"{folder}: catalog has {len(self.track_uris)} rows, "
                             f"item matrix {self.scorer.count}")

    @property
    def catalog_size(self) -> int:
        return self.scorer.count

    def resolve(self, seeds: Sequence[SeedLike]) -> list[Resolution]:
        return [self.resolver.resolve(s.track_uri, s.track_name, s.artist_name) for s in seeds]

    def query_vector(self, title: str | None, seeds: Sequence[SeedLike],
                     resolutions: Sequence[Resolution]) -> np.ndarray:
        used = [(s, r) for s, r in zip(seeds, resolutions) if r.how != "unmatched"]
        used = used[-self.max_seeds:]  # the most recent tracks of the playlist
        if not used and not title:
            raise NothingToRecommendFrom("none of the tracks is in the catalog or has a name "
                                         "and artist to encode, and there is no playlist_name")
        cold = [s for s, r in used if r.index < 0]
        texts = [track_text(s.track_name, s.artist_name, s.album_name) for s in cold]
        if title:
            texts.append(self.title_template.format(title))
        embedded = self.encoder.encode(texts)
        dim_text, dim_item = self.encoder.dim, self.scorer.dim
        slots = max(1, len(used))
        seed_vecs = np.zeros((1, slots, dim_item), np.float32)
        seed_text = np.zeros((1, slots, dim_text), np.float32)
        is_cold = np.zeros((1, slots), bool)
        seed_mask = np.zeros((1, slots), bool)
        warm_slots = [i for i, (_, r) in enumerate(used) if r.index >= 0]
        if warm_slots:
            seed_vecs[0, warm_slots] = self.scorer.vectors([used[i][1].index for i in warm_slots])
        cold_slots = [i for i, (_, r) in enumerate(used) if r.index < 0]
        if cold_slots:
            seed_text[0, cold_slots] = embedded[:len(cold_slots)]
            is_cold[0, cold_slots] = True
        seed_mask[0, :len(used)] = True
        title_emb = embedded[-1:] if title else np.zeros((1, dim_text), np.float32)
        return self.query_session.run(None, {
            "title_emb": title_emb, "title_mask": np.array([bool(title)]),
            "seed_vecs": seed_vecs, "seed_text_emb": seed_text, "seed_is_cold": is_cold,
            "seed_mask": seed_mask})[0][0]

    def recommend(self, title: str | None, seeds: Sequence[SeedLike], k: int) -> Recommendation:
        resolutions = self.resolve(seeds)
        query = self.query_vector(title, seeds, resolutions)
        exclude = np.array([r.index for r in resolutions if r.index >= 0], dtype=np.int64)
        rows, scores = self.scorer.top_k(query, k, exclude)
        rounded = np.round(scores.astype(np.float64), 5).tolist()
        tracks = [{"track_uri": self.track_uris[r], "track_name": self.track_names[r],
                   "artist_name": self.artist_names[r], "score": s}
                  for r, s in zip(rows.tolist(), rounded, strict=True)]
        return Recommendation(rows, scores, tracks, resolutions)
