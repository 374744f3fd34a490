"""A small real corpus for the RAG tests (one file of every supported type, written into a folder), and the
request handler of an OpenAI-compatible chat server for loopback tests of ``--llm`` (the README test uses it too)."""

from __future__ import annotations

import contextlib
import json
import re
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

TRAINING_MD = """# Training

Train a model with `genforge train vae --data digits`. Runs are written under `runs/`.

## Resuming a run

To resume training from the last checkpoint, run `genforge train --resume RUN_ID`. The optimizer state and
the random number generators are restored, so a resumed run matches an uninterrupted one.

## Learning-rate schedules

The trainer supports cosine decay and linear warmup schedules. Warmup lasts 500 steps by default.
"""

SAMPLING_RST = """========
Sampling
========

Draw images from a trained run.

Temperature
-----------

Lower temperatures make samples sharper but less diverse. The default temperature is 1.0.

Grids
-----

Samples are saved as a PNG grid with eight images per row.
"""

GARDEN_HTML = """<!DOCTYPE html><html><head><title>Garden guide</title><style>p {color: red}</style>
<script>var hidden = "do not index me";</script></head>
<body><nav>Home | About | Contact</nav>
<main>
<h1>Garden guide</h1>
<p>Tomatoes need at least six hours of direct sunlight every day.</p>
<h2>Watering</h2>
<p>Water tomato plants deeply twice a week rather than a little every day.</p>
<ul><li>Use mulch to keep the soil moist.</li><li>Water in the morning.</li></ul>
</main>
<footer>Copyright footer text</footer></body></html>
"""

NOTES_TXT = """Kitchen notes

The sourdough starter is fed with equal weights of flour and water every twelve hours.

Bread is baked at 230 degrees Celsius for forty minutes.
"""


def write_pdf(path: Path, lines: list[str]) -> None:
    """A real one-page PDF with the given text lines (matplotlib's PDF backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.5, 11))
    for i, line in enumerate(lines):
        fig.text(0.08, 0.92 - 0.04 * i, line, fontsize=10)
    fig.savefig(path)
    plt.close(fig)


def make_corpus(root: Path) -> Path:
    """Write the corpus into ``root`` (created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "guide").mkdir(exist_ok=True)
    (root / "training.md").write_text(TRAINING_MD, encoding="utf-8")
    (root / "sampling.rst").write_text(SAMPLING_RST, encoding="utf-8")
    (root / "guide" / "garden.html").write_text(GARDEN_HTML, encoding="utf-8")
    (root / "notes.txt").write_text(NOTES_TXT, encoding="utf-8")
    write_pdf(
        root / "report.pdf", ["Quarterly report", "The warehouse in Rotterdam shipped 1200 pallets in March."]
    )
    (root / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (root / "latin1.md").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    return root


class ChatHandler(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions by quoting the first passage that shares a word with the question."""

    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        if self._failure(body["model"]):
            return
        user = body["messages"][-1]["content"]
        if "scale of 1 to 5" in user:  # judge prompts get a fixed rating
            self._reply(body, "4")
            return
        question = user.rsplit("Question:", 1)[-1].lower()
        passages = re.findall(r"\[(\d+)\] \([^)]*\)\n(.+?)(?=\n\n\[\d+\] |\n\nQuestion:)", user, re.S)
        content = "I don't know based on the provided documents."
        for number, text in passages:
            sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) > 4]
            words = {w for w in re.findall(r"[a-z]{5,}", question)}
            match = next((s for s in sentences if words & set(re.findall(r"[a-z]{5,}", s.lower()))), None)
            if match:
                content = f"{match.rstrip('.')} [{number}]."
                break
        self._reply(body, content)

    def _failure(self, model: str) -> bool:
        """Models named after a failure make the server fail that way (the client's error paths)."""
        if model == "http-500":
            self.send_error(500, "model crashed")
        elif model == "slow":
            time.sleep(2)
            self._send(b'{"choices": []}')
        elif model == "not-json":
            self._send(b"<html>proxy error page</html>")
        elif model == "no-choices":
            self._send(json.dumps({"error": {"message": "model not loaded"}}).encode())
        else:
            return False
        return True

    def _send(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def _reply(self, body: dict, content: str) -> None:
        reply = {"id": "x", "object": "chat.completion", "model": body["model"],
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}  # fmt: skip
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        return
