"""The training config: defaults, YAML and JSON files, and typos rejected instead of ignored."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from llara_training.config import TrainConfig


def test_yaml_and_json_files_override_only_what_they_name(tmp_path):
    yaml_file = tmp_path / "train.yaml"
    yaml_file.write_text("llara:\n  epochs: 3\n  width: 64\ntracking:\n  model_name: mine\n")
    config = TrainConfig.from_file(yaml_file)
    assert (config.llara.epochs, config.llara.width, config.tracking.model_name) == (3, 64, "mine")
    assert config.llara.heads == TrainConfig().llara.heads and config.als == TrainConfig().als
    json_file = tmp_path / "train.json"
    json_file.write_text(json.dumps({"als": {"factors": 32}, "k": 100}))
    config = TrainConfig.from_file(json_file)
    assert config.als.factors == 32 and config.k == 100


def test_unknown_keys_and_bad_values_are_errors(tmp_path):
    typo = tmp_path / "typo.yaml"
    typo.write_text("llara:\n  epocs: 3\n")
    with pytest.raises(ValidationError, match="epocs"):
        TrainConfig.from_file(typo)
    with pytest.raises(ValidationError):
        TrainConfig.model_validate({"encoder": {"precision": "fp8"}})
