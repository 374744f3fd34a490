"""Build hook: ship the repository's ``docs/`` inside the package as ``genforge/docs``.

genforge's own documentation is the default RAG corpus (``genforge.rag.corpus.genforge_docs_root``): a
checkout reads ``docs/`` directly, an installed wheel reads the copy this hook puts into the build tree,
so there is one source of truth and no second copy in git. All metadata lives in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DOCS = Path(__file__).resolve().parent / "docs"


class BuildPyWithDocs(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install runs from the checkout, which has docs/ itself
            return
        if not (DOCS / "rag.md").exists():
            raise SystemExit(
                f"{DOCS} is missing: genforge's wheel ships its documentation (build from a checkout)"
            )
        target = Path(self.build_lib) / "genforge" / "docs"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(DOCS, target)


setup(cmdclass={"build_py": BuildPyWithDocs})
