"""The README's promises that code can check: the two commands, CI, the configuration table."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _env_names(settings_cls) -> set[str]:
    prefix = settings_cls.model_config.get("env_prefix", "")
    return {f.validation_alias if isinstance(f.validation_alias, str) else prefix + n.upper()
            for n, f in settings_cls.model_fields.items()}


def test_every_setting_is_documented():
    from llara.config import Settings
    from llara_training.promotion import PromotionSettings

    documented = set(re.findall(r"^\| `([A-Z0-9_]+)`", README, re.M))
    missing = (_env_names(Settings) | _env_names(PromotionSettings)) - documented
    assert not missing, f"settings missing from the README configuration table: {sorted(missing)}"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make test" in README and "make demo" in README
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test:", makefile, re.M) and re.search(r"^demo:", makefile, re.M)
