"""Every shell and Python block of the README runs, as a user would type it, on tiny budgets.

The commands are read from README.md itself (so a new block is tested without touching this file) and run in
order in one working directory, through the console script's function (``genforge.cli.main.main``), so
torch is imported once. What changes between the README and the test is only what a tiny budget needs:

- step budgets are cut (``--max-minutes`` and step counts above 200 become ``--max-steps 20``; a train
  command without a budget gets one), sample counts and token counts are cut;
- placeholders (``runs/<id>``, ``PATH/TO/IMAGES``, ``REAL.npz``, ``QA.jsonl``, ``--llm URL --model NAME`` …)
  become real files and runs made here, and ``<id>`` is the latest run of a family the command accepts;
- ``embed bench`` runs two of its six methods and GloVe trains 3 epochs;
- ``make demo`` runs the command the Makefile runs (``genforge demo``) on a 3-step budget; ``make test`` is
  this suite itself and is not run inside it;
- the default RAG store (built from genforge's own docs on first use) is built from two of the doc pages.

The Python block is run verbatim in a fresh interpreter (budgets cut to 30 steps, as the acceptance check
does). The transcript's own 200-step VAE run is kept at 200 steps, and its figures must equal the README's.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from genforge.cli.main import main
from tests.rag.rag_testdata import ChatHandler

README = Path(__file__).resolve().parents[1] / "README.md"
IMAGE_FAMILIES = ("vae", "gan", "pixelcnn", "realnvp")
LANGUAGE_FAMILIES = ("gpt", "lstm-lm")


def _blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced block."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)


def readme_commands(text: str) -> list[str]:
    """The shell commands of the README in order: ``$``-prefixed lines of a transcript block, else every
    ``genforge``/``make`` line of a plain block; trailing ``# comments`` dropped."""
    commands = []
    for language, body in _blocks(text):
        if language not in ("", "sh", "bash", "console"):
            continue
        lines = body.splitlines()
        transcript = any(line.startswith("$ ") for line in lines)
        for line in lines:
            if transcript:
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line.startswith(("genforge ", "make ")):
                commands.append(line)
    return commands


class _Session:
    """Runs README commands in one folder, turning placeholders into files and runs made here."""

    def __init__(self, root: Path, capsys, llm_url: str):
        self.root, self.capsys, self.llm_url = root, capsys, llm_url
        self.runs: list[tuple[str, str]] = []  # (family, run dir) in the order they were trained
        self.outputs: dict[str, str] = {}

    def latest(self, families, skip: int = 0) -> str:
        """The latest run of one of ``families`` (digits runs first: the README's examples use them)."""
        found = [run for family, run in reversed(self.runs) if family in families]
        found.sort(key=lambda run: not run.endswith("-digits"))
        assert len(found) > skip, f"the README uses a {families} run before training one"
        return found[skip]

    def _family_for(self, argv: list[str]) -> tuple[str, ...]:
        if argv[0] == "generate":
            return LANGUAGE_FAMILIES
        if argv[0] == "translate":
            return ("seq2seq",)
        if argv[0] == "train" and "--resume" in argv:
            return (argv[1],)
        return IMAGE_FAMILIES

    def expand(self, command: str) -> list[str]:
        if command == "make demo":
            return ["demo", "--out", "demo-out", "--seed", "0", "--steps", "3"]
        argv = shlex.split(command)[1:]
        families = self._family_for(argv)
        out: list[str] = []
        for i, arg in enumerate(argv):
            if re.fullmatch(r"runs/\d{8}-\d{6}-[\w-]+", arg):  # a run id printed in a transcript
                arg = self.latest((arg.split("-")[2],))
            elif arg == "runs/<id>":
                arg = self.latest(families)
            elif arg == "<id>":
                arg = Path(self.latest(families)).name
            elif arg == "<id2>":
                arg = Path(self.latest(families, skip=1)).name
            elif arg.startswith("folder:PATH"):
                arg = "folder:" + str(self.image_folder())
            elif arg in ("REAL.npz", "FAKE.npz"):
                arg = str(self.features(arg))
            elif arg in ("y_true.csv", "y_pred.csv"):
                arg = str(self.labels(arg))
            elif arg == "text:file:corpus.txt":
                arg = "text:file:" + str(self.corpus())
            elif arg == "QA.jsonl":
                arg = str(self.qa())
            elif arg == "PATH" and argv[:2] == ["rag", "index"]:
                arg = str(self.docs())
            elif arg == "DIR" and out and out[-1] == "--store":
                arg = str(self.root / "store")
            elif out and out[-1] == "--llm":
                arg = self.llm_url
            elif out and out[-1] == "--model" and arg == "NAME":
                arg = "fake-chat"
            elif i and argv[i - 1] == "--n" and int(arg) > 200:
                arg = "200"
            elif i and argv[i - 1] == "--max-tokens":
                arg = "20"
            out.append(arg)
        if out[0] == "train" and "--resume" in out:  # continue ten steps past the resumed run's budget
            config = json.loads((Path(out[out.index("--resume") + 1]) / "config.json").read_text())
            out += ["--max-steps", str(config["train"]["max_steps"] + 10)]
        elif out[0] == "train":
            out = self._budget(out)
        if out[:2] == ["embed", "bench"]:
            # two methods (a trained one and MiniLM): all six take minutes; each runs in tests/embed
            out += ["--methods", "word2vec-skipgram", "minilm"]
        if out[:3] == ["embed", "train", "glove"]:
            out += ["--set", "epochs=3"]
        if out[:2] == ["rag", "search"] and "--store" not in out:
            out += ["--store", str(self.root / "store")]
        return out

    @staticmethod
    def _budget(argv: list[str]) -> list[str]:
        argv = list(argv)
        if "--max-minutes" in argv:
            i = argv.index("--max-minutes")
            del argv[i : i + 2]
        if "--max-steps" in argv:
            i = argv.index("--max-steps")
            if int(argv[i + 1]) > 200:
                argv[i + 1] = "20"
        else:
            argv += ["--max-steps", "20"]
        return argv

    def run(self, command: str) -> str:
        argv = self.expand(command)
        self.capsys.readouterr()
        code = main(argv)
        captured = self.capsys.readouterr()
        assert "Traceback" not in captured.err, f"{command!r} -> {argv}: {captured.err}"
        assert code == 0, (
            f"{command!r} -> {argv} exited {code}: {captured.err.strip()[-300:]}{captured.out[-300:]}"
        )
        if argv[0] == "train":
            match = re.search(r"^run: (\S+)", captured.out, flags=re.M)
            assert match, captured.out
            family = argv[1] if argv[1] in (*IMAGE_FAMILIES, *LANGUAGE_FAMILIES, "seq2seq") else ""
            self.runs.append(
                (family or json.loads((Path(match[1]) / "config.json").read_text())["family"], match[1])
            )
        self.outputs[command] = captured.out
        return captured.out

    # --- the files the placeholders stand for -------------------------------------------------------------
    def image_folder(self) -> Path:
        from PIL import Image
        from sklearn.datasets import load_digits

        folder = self.root / "images"
        if not folder.exists():
            folder.mkdir()
            for i, image in enumerate(load_digits().images[:40]):
                Image.fromarray((image * 15).astype(np.uint8)).save(folder / f"{i}.png")
        return folder

    def features(self, name: str) -> Path:
        rng = np.random.default_rng(0 if name == "REAL.npz" else 1)
        path = self.root / name
        np.savez(path, features=rng.normal(size=(64, 8)))
        return path

    def labels(self, name: str) -> Path:
        path = self.root / name
        values = [0, 1, 2, 2, 1, 0] if name == "y_true.csv" else [0, 2, 2, 2, 1, 1]
        path.write_text("\n".join(map(str, values)) + "\n")
        return path

    def corpus(self) -> Path:
        path = self.root / "corpus.txt"
        path.write_text("the quick brown fox jumps over the lazy dog. " * 400)
        return path

    def docs(self) -> Path:
        folder = self.root / "mydocs"
        folder.mkdir(exist_ok=True)
        (folder / "bakery.md").write_text(
            "# Bakery\n\nThe bakery opens at seven in the morning.\n\nIt sells rye bread and croissants.\n"
        )
        return folder

    def qa(self) -> Path:
        path = self.root / "qa.jsonl"
        # the command has no --store: it evaluates the default store (here two of genforge's doc pages)
        rows = [{"question": "How do I continue a run that was interrupted?", "sources": ["training.md"]}]
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return path


@pytest.fixture()
def chat_server():
    """The RAG tests' chat server on loopback (it quotes a retrieved passage that shares a word with the
    question), at the ``/v1`` base URL the README's ``--llm`` names."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_the_readme_lists_its_commands():
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert "make demo" in commands and any(c.startswith("genforge rag ask") for c in commands)
    assert len(commands) > 30


@pytest.mark.slow
def test_every_shell_command_in_the_readme_runs(tmp_path, monkeypatch, capsys, chat_server):
    import shutil

    from genforge.rag import corpus

    docs = tmp_path / "genforge-docs"
    docs.mkdir()
    for name in ("training.md", "rag.md"):  # two real pages keep the default store fast to build
        shutil.copy(corpus.genforge_docs_root() / name, docs / name)
    monkeypatch.setattr(corpus, "genforge_docs_root", lambda: docs)
    monkeypatch.setenv("GENFORGE_RAG_STORE", str(tmp_path / "default-store"))
    monkeypatch.chdir(tmp_path)
    session = _Session(tmp_path, capsys, chat_server)
    commands = [c for c in readme_commands(README.read_text(encoding="utf-8")) if c != "make test"]
    for command in dict.fromkeys(commands):  # the transcript repeats `make demo`: run it once
        session.run(command)

    # the transcript's figures are the README's (a step budget: the same on any CPU)
    transcript_train = next(
        c for c in commands if c.startswith("genforge train vae --data digits --max-steps")
    )
    readme = README.read_text(encoding="utf-8")
    promised = re.search(r"test split: bits_per_dim_iwae ([\d.]+)", readme)[1]
    assert f"bits_per_dim_iwae {promised}" in session.outputs[transcript_train]
    assert Path("grid.png").stat().st_size > 0 and Path("interp.png").stat().st_size > 0
    ask = next(c for c in commands if c.startswith('genforge rag ask "how do I resume'))
    assert "training.md" in session.outputs[ask]


@pytest.mark.slow
def test_the_python_block_runs_verbatim_in_one_interpreter(tmp_path):
    blocks = [body for language, body in _blocks(README.read_text(encoding="utf-8")) if language == "python"]
    assert len(blocks) == 1 and "import genforge" in blocks[0]
    code = re.sub(r"max_minutes=[0-9.]+", "max_steps=30", blocks[0])
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "grid.png").stat().st_size > 0 and (tmp_path / "interp.png").stat().st_size > 0
    assert "tensor(" in result.stdout  # log_prob of four test images was printed
