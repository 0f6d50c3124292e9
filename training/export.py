"""Export a trained LLaRA model to the serving bundle (ONNX, QInt8) and gate it on parity.

Two graphs leave torch: the text encoder (tokens -> mean-pooled, L2-normalised embedding) and
the query side (title embedding + seeds -> query vector). The query graph contains the cold
item tower (text embedding -> projector -> item vector) so the layer can turn a track the
catalog has never seen into a seed. Both are quantised with ``quantize_dynamic`` (QInt8,
per channel); the item matrix becomes int8 with a per-item scale. An fp32 twin of the bundle is
built beside it and the two are compared through the layer's own serving code; the export
fails when a parity gate is missed. The gates' figures are stored in the manifest.
"""
from __future__ import annotations

import gzip
import logging
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from llara.bundle import finish_manifest, read_manifest
from llara.resolve import normalize_artist, normalize_name
from llara.schemas import SeedTrack

log = logging.getLogger("llara_training.export")
OPSET = 17


class ParityError(RuntimeError):
    """The quantised bundle strays too far from the fp32 one."""


@dataclass(frozen=True)
class EncoderSpec:
    """The text encoder: any Hugging Face model id or folder (``encoder.json`` of a run)."""

    model: str
    max_length: int = 64
    pooling: str = "mean"  # "mean" | "cls"
    normalize: bool = True
    title_template: str = "{}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderSpec:
        known = {k: data[k] for k in ("max_length", "pooling", "normalize", "title_template")
                 if k in data}
        return cls(model=str(data.get("model") or data.get("path") or data["model_id"]), **known)


@dataclass(frozen=True)
class Gates:
    encoder_mean_cosine: float = 0.98
    top50_overlap: float = 0.9


@dataclass
class ExportResult:
    bundle: Path  # the QInt8 bundle (the one to publish)
    fp32_bundle: Path  # its fp32 twin (for benchmarks and parity)
    manifest: dict[str, Any]
    parity: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- graphs
def _encoder_module(spec: EncoderSpec):
    import torch
    from transformers import AutoModel

    class EncoderGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = AutoModel.from_pretrained(spec.model)

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids,
                                attention_mask=attention_mask).last_hidden_state
            if spec.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if spec.normalize:
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
            return pooled

    return EncoderGraph().eval()


def _query_module(model):
    import torch

    class QueryGraph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, title_emb, title_mask, seed_vecs, seed_text_emb, seed_is_cold,
                    seed_mask):
            b, s, e = seed_text_emb.shape
            cold = self.model.cold_item_vectors(seed_text_emb.reshape(b * s, e))
            cold = cold.reshape(b, s, -1)
            seeds = torch.where(seed_is_cold.unsqueeze(-1), cold, seed_vecs)
            return self.model.query(title_emb, title_mask, seeds, seed_mask)

    return QueryGraph().eval()


def _onnx_export(module, args: tuple, path: Path, input_names: list[str], output: str,
                 dynamic_axes: dict[str, dict[int, str]]) -> None:
    import torch

    with torch.no_grad():
        torch.onnx.export(module, args, str(path), input_names=input_names,
                          output_names=[output], dynamic_axes=dynamic_axes,
                          opset_version=OPSET, dynamo=False)


def quantize(fp32: Path, int8: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)


def export_encoder(spec: EncoderSpec, folder: Path) -> dict[str, Path]:
    """encoder.fp32.onnx, encoder.int8.onnx and tokenizer.json in ``folder``."""
    import torch
    from transformers import AutoTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(spec.model)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{spec.model}: the layer needs a fast tokenizer (tokenizer.json)")
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    sample = tokenizer(["a sample sentence", "another one"], padding=True, return_tensors="pt")
    module = _encoder_module(spec)
    axes = {"batch": "batch", "tokens": "tokens"}
    _onnx_export(module, (sample["input_ids"], sample["attention_mask"]),
                 folder / "encoder.fp32.onnx", ["input_ids", "attention_mask"], "embedding",
                 {"input_ids": {0: axes["batch"], 1: axes["tokens"]},
                  "attention_mask": {0: axes["batch"], 1: axes["tokens"]},
                  "embedding": {0: axes["batch"]}})
    quantize(folder / "encoder.fp32.onnx", folder / "encoder.int8.onnx")
    with torch.no_grad():
        dim = int(module(sample["input_ids"], sample["attention_mask"]).shape[-1])
    (folder / "encoder.json").write_text(__import__("json").dumps({
        **asdict(spec), "dim": dim, "pad_token": tokenizer.pad_token,
        "pad_id": int(tokenizer.pad_token_id)}, default=str))
    return {"fp32": folder / "encoder.fp32.onnx", "int8": folder / "encoder.int8.onnx",
            "tokenizer": folder / "tokenizer.json", "spec": folder / "encoder.json"}


def export_query(model, text_dim: int, item_dim: int, folder: Path) -> dict[str, Path]:
    """query.fp32.onnx and query.int8.onnx (dynamic batch and seed axes)."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    b, s = 2, 3
    args = (torch.randn(b, text_dim), torch.ones(b, dtype=torch.bool),
            torch.randn(b, s, item_dim), torch.randn(b, s, text_dim),
            torch.tensor([[True, False, False], [False, True, False]]),
            torch.tensor([[True, True, False], [True, True, True]]))
    names = ["title_emb", "title_mask", "seed_vecs", "seed_text_emb", "seed_is_cold",
             "seed_mask"]
    axes = {"title_emb": {0: "batch"}, "title_mask": {0: "batch"},
            "seed_vecs": {0: "batch", 1: "seeds"}, "seed_text_emb": {0: "batch", 1: "seeds"},
            "seed_is_cold": {0: "batch", 1: "seeds"}, "seed_mask": {0: "batch", 1: "seeds"},
            "query": {0: "batch"}}
    model.eval()
    _onnx_export(_query_module(model), args, folder / "query.fp32.onnx", names, "query", axes)
    quantize(folder / "query.fp32.onnx", folder / "query.int8.onnx")
    return {"fp32": folder / "query.fp32.onnx", "int8": folder / "query.int8.onnx"}


# ---------------------------------------------------------------- item matrix and scorer
def _external(name: str, data_type: int, dims: list[int], location: str):
    import onnx

    tensor = onnx.TensorProto()
    tensor.name, tensor.data_type = name, data_type
    tensor.dims.extend(dims)
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    return tensor


def write_items(folder: Path, vectors: np.ndarray, precision: str) -> dict[str, Any]:
    """The item matrix as the scorer graph's external data; returns the manifest's ``items``."""
    from onnx import TensorProto, helper

    vectors = np.asarray(vectors, dtype=np.float32)
    count, dim = vectors.shape
    query = helper.make_tensor_value_info("query", TensorProto.FLOAT, ["batch", dim])
    k = helper.make_tensor_value_info("k", TensorProto.INT64, [1])
    outputs = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "k"]),
               helper.make_tensor_value_info("rows", TensorProto.INT64, ["batch", "k"])]
    if precision == "int8":
        scales = np.abs(vectors).max(axis=1) / 127.0
        scales[scales == 0] = 1.0
        quantised = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
        np.ascontiguousarray(quantised.T).tofile(folder / "items.int8")
        scales.astype(np.float32).tofile(folder / "item_scales.f32")
        nodes = [helper.make_node("DynamicQuantizeLinear", ["query"], ["q8", "q_scale", "q_zero"]),
                 helper.make_node("MatMulInteger", ["q8", "items", "q_zero"], ["dots"]),
                 helper.make_node("Cast", ["dots"], ["dots_f"], to=TensorProto.FLOAT),
                 helper.make_node("Mul", ["dots_f", "q_scale"], ["scaled"]),
                 helper.make_node("Mul", ["scaled", "item_scales"], ["all_scores"])]
        initializers = [_external("items", TensorProto.INT8, [dim, count], "items.int8"),
                        _external("item_scales", TensorProto.FLOAT, [count], "item_scales.f32")]
        items = {"file": "items.int8", "dtype": "int8", "scales": "item_scales.f32"}
    elif precision == "fp32":
        np.ascontiguousarray(vectors.T).tofile(folder / "items.f32")
        nodes = [helper.make_node("MatMul", ["query", "items"], ["all_scores"])]
        initializers = [_external("items", TensorProto.FLOAT, [dim, count], "items.f32")]
        items = {"file": "items.f32", "dtype": "float32", "scales": None}
    else:
        raise ValueError(f"precision must be int8 or fp32, not {precision!r}")
    nodes.append(helper.make_node("TopK", ["all_scores", "k"], ["scores", "rows"], axis=-1))
    graph = helper.make_graph(nodes, "scorer", [query, k], outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    (folder / "scorer.onnx").write_bytes(model.SerializeToString())
    return {**items, "count": int(count), "dim": int(dim), "layout": "[dim, count]"}


CATALOG_COLUMNS = ("track_uri", "track_name", "artist_name", "name_key", "artist_key")


def catalog_table(track_uris: Sequence[str], track_names: Sequence[str],
                  artist_names: Sequence[str]) -> dict[str, list[str]]:
    """The bundle's catalog, column-wise, with the resolver's normalised keys computed once,
    here. Stored as gzipped JSON (``catalog.json.gz``) so serving needs no pyarrow (the largest
    dependency; the layer must stay under Lambda's 250 MB); gzip keeps a 1M-track catalog from
    outweighing the int8 item matrix."""
    names = [str(n) for n in track_names]
    artists = [str(a) for a in artist_names]
    return {"track_uri": [str(u) for u in track_uris], "track_name": names,
            "artist_name": artists, "name_key": [normalize_name(n) for n in names],
            "artist_key": [normalize_artist(a) for a in artists]}


# ---------------------------------------------------------------- the bundle
def build_bundle(folder: Path, *, precision: str, encoder: dict[str, Path],
                 query: dict[str, Path], catalog: dict[str, list[str]], item_vectors: np.ndarray,
                 manifest: dict[str, Any]) -> dict[str, Any]:
    import json

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copyfile(encoder[precision], folder / "encoder.onnx")
    shutil.copyfile(query[precision], folder / "query.onnx")
    shutil.copyfile(encoder["tokenizer"], folder / "tokenizer.json")
    items = write_items(folder, item_vectors, precision)
    (folder / "catalog.json.gz").write_bytes(gzip.compress(
        orjson.dumps({c: catalog[c] for c in CATALOG_COLUMNS}), compresslevel=6, mtime=0))
    spec = json.loads(encoder["spec"].read_text())
    return finish_manifest(folder, {
        **manifest, "precision": precision, "items": items, "catalog_size": len(catalog["track_uri"]),
        "dims": {"text": spec["dim"], "item": items["dim"]}, "encoder": spec})


def parity(int8: Path, fp32: Path, texts: Sequence[str],
           requests: Sequence[tuple[str | None, list[SeedTrack]]], k: int = 50
           ) -> dict[str, Any]:
    """Encoder cosine and top-``k`` overlap, int8 vs fp32, through the layer's serving code."""
    from llara.recommend import Recommender

    quantised, reference = Recommender(int8), Recommender(fp32)
    a, b = quantised.encoder.encode(list(texts)), reference.encoder.encode(list(texts))
    cosine = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
    overlaps = []
    for title, seeds in requests:
        mine = quantised.recommend(title, seeds, k).rows
        theirs = reference.recommend(title, seeds, k).rows
        overlaps.append(len(set(mine.tolist()) & set(theirs.tolist())) / max(1, len(theirs)))
    return {"encoder_mean_cosine": round(float(cosine.mean()), 5),
            "encoder_min_cosine": round(float(cosine.min()), 5), "texts": len(texts),
            f"top{k}_overlap": round(float(np.mean(overlaps)), 5) if overlaps else None,
            "validation_playlists": len(overlaps)}


def export_bundle(model, *, encoder: EncoderSpec | dict[str, Path], catalog: dict[str, list[str]],
                  item_vectors: np.ndarray,
                  validation: Sequence[tuple[str | None, list[SeedTrack]]],
                  out_dir: Path, source_run: str | None = None,
                  metrics: dict[str, Any] | None = None, gates: Gates = Gates(),
                  max_seeds: int = 50, parity_texts: int = 256, seed: int = 0) -> ExportResult:
    """Export ``model`` with its encoder, catalog and item vectors into a QInt8 bundle.

    ``encoder`` is a spec (exported here) or the files of an earlier ``export_encoder``.
    ``validation`` holds (title, seeds) of validation playlists for the recommendation gate.
    Raises :class:`ParityError` when a gate is missed (the bundles stay for inspection).
    """
    out_dir = Path(out_dir)
    graphs = out_dir / "graphs"
    if isinstance(encoder, EncoderSpec):
        log.info("exporting the text encoder %s", encoder.model)
        encoder = export_encoder(encoder, graphs)
    import json

    text_dim = json.loads(encoder["spec"].read_text())["dim"]
    item_vectors = np.asarray(item_vectors, dtype=np.float32)
    size = len(catalog["track_uri"])
    if item_vectors.shape[0] != size:
        raise ValueError(f"{item_vectors.shape[0]} item vectors for {size} tracks")
    log.info("exporting the query graph")
    query = export_query(model, text_dim, item_vectors.shape[1], graphs)
    base = {"source_run": source_run, "metrics": metrics or {},
            "query": {"max_seeds": max_seeds}, "gates": asdict(gates)}
    fp32_dir, int8_dir = out_dir / "bundle-fp32", out_dir / "bundle"
    fp32_manifest = build_bundle(fp32_dir, precision="fp32", encoder=encoder, query=query,
                                 catalog=catalog, item_vectors=item_vectors, manifest=base)
    manifest = build_bundle(int8_dir, precision="int8", encoder=encoder, query=query,
                            catalog=catalog, item_vectors=item_vectors, manifest=base)
    rng = np.random.default_rng(seed)
    sample = rng.choice(size, size=min(parity_texts, size), replace=False)
    from llara.schemas import track_text

    texts = [track_text(catalog["track_name"][i], catalog["artist_name"][i]) for i in sample]
    texts += [t for t, _ in validation if t][:parity_texts]
    figures = parity(int8_dir, fp32_dir, texts, validation)
    passed = (figures["encoder_mean_cosine"] >= gates.encoder_mean_cosine
              and (figures["top50_overlap"] is None
                   or figures["top50_overlap"] >= gates.top50_overlap))
    figures["passed"] = passed
    figures["fp32_version"] = fp32_manifest["version"]
    sizes = {name: _bundle_bytes(d) for name, d in (("int8", int8_dir), ("fp32", fp32_dir))}
    figures["bundle_bytes"] = sizes
    figures["size_ratio_fp32_over_int8"] = round(sizes["fp32"] / sizes["int8"], 2)
    manifest = finish_manifest(int8_dir, {**{k: v for k, v in manifest.items() if k != "files"},
                                          "parity": figures})
    read_manifest(int8_dir)  # the final manifest matches the files it lists
    result = ExportResult(int8_dir, fp32_dir, manifest, figures)
    if not passed:
        raise ParityError(f"parity gates missed: {figures} (gates {asdict(gates)})")
    return result


def _bundle_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


# ---------------------------------------------------------------- from a training run
def validation_requests(store, run, limit: int = 200
                        ) -> tuple[list[tuple[str | None, list[SeedTrack]]], str]:
    """(title, seeds) of the run's validation playlists, rebuilt from the processed tables
    with the run's split settings; returns them with a description of their source."""
    from llara.processed import read_processed
    from llara_training.split import build_dataset

    data_config = run.config.get("data", {})
    data = build_dataset(read_processed(store), seed=int(data_config.get("seed", 0)),
                         val_fraction=float(data_config.get("val_fraction", 0.1)),
                         test_fraction=float(data_config.get("test_fraction", 0.1)))
    known = set(run.catalog.index)
    requests = []
    for case in data.val_cases:
        uris = [data.catalog.uris[i] for i in case.seeds]
        seeds = [SeedTrack(track_uri=u) for u in uris if u in known]
        if seeds or case.title:
            requests.append((case.title or None, seeds))
        if len(requests) >= limit:
            break
    return requests, f"validation playlists of the processed tables ({len(data.val_cases)})"


def export_run(store, run_id: str | None, out_dir: Path, *, gates: Gates = Gates(),
               validation_limit: int = 200) -> ExportResult:
    """Export ``runs/<run_id>/`` (default: the latest run) into ``out_dir/bundle``."""
    from llara_training.artifacts import load_run

    run = load_run(store, run_id)
    catalog = catalog_table(run.catalog.uris, run.catalog.track_names, run.catalog.artist_names)
    validation, source = validation_requests(store, run, validation_limit)
    log.info("exporting run %s: %d tracks, %d validation playlists", run.run_id, len(run.catalog),
             len(validation))
    summary = {k: v for k, v in run.metrics.items() if isinstance(v, int | float | str)}
    for key in ("overall", "evaluation", "report"):
        if isinstance(run.metrics.get(key), dict):
            summary.update({f"{key}.{k}": v for k, v in run.metrics[key].items()
                            if isinstance(v, int | float)})
    result = export_bundle(
        run.model, encoder=EncoderSpec.from_dict(run.encoder), catalog=catalog,
        item_vectors=run.item_vectors, validation=validation, out_dir=out_dir,
        source_run=run.run_id, metrics=summary, gates=gates,
        max_seeds=int(run.config.get("llara", {}).get("max_seeds", 50)))
    result.manifest.setdefault("parity", {})["validation_source"] = source
    return result
