"""Small helpers the serving tests share."""
from __future__ import annotations

import shutil
from pathlib import Path

from llara.bundle import MANIFEST, finish_manifest, read_manifest


def variant(bundle: Path, folder: Path, created: str) -> Path:
    """A copy of ``bundle`` published under another version (same files, other ``created``)."""
    shutil.copytree(bundle, folder)
    manifest = read_manifest(folder)
    (folder / MANIFEST).unlink()
    finish_manifest(folder, {k: v for k, v in manifest.items() if k not in ("files", "version")}
                    | {"created": created})
    return folder
