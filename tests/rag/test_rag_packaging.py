"""A built wheel carries genforge's documentation (the default RAG corpus) as ``genforge/docs``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_ships_docs_identical_to_the_checkout_and_the_corpus_finds_them(tmp_path):
    if not (REPO / "setup.py").exists():
        pytest.skip("not running from a checkout")
    tree = tmp_path / "tree"  # build from a copy so the checkout gets no build/ folder
    tree.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(REPO / name, tree / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "src", tree / "src", ignore=ignore)
    shutil.copytree(REPO / "docs", tree / "docs")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "whl"),
         str(tree)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "whl").glob("genforge-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            name.removeprefix("genforge/docs/"): archive.read(name)
            for name in archive.namelist()
            if name.startswith("genforge/docs/")
        }
        archive.extractall(tmp_path / "site")
    checkout = {
        p.relative_to(REPO / "docs").as_posix(): p.read_bytes()
        for p in (REPO / "docs").rglob("*")
        if p.is_file()
    }
    assert packaged == checkout
    found = subprocess.run(
        [sys.executable, "-c", "from genforge.rag.corpus import genforge_docs_root; print(genforge_docs_root())"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    assert Path(found) == tmp_path / "site" / "genforge" / "docs"
