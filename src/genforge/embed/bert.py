"""A BERT sentence encoder that reads a sentence-transformers folder without importing that library.

Why our own: importing sentence-transformers (which imports transformers, scipy and scikit-learn) costs
5 s on an idle 2-core machine and 16 s under load, before a single text is embedded; that was most of
``genforge serve``'s cold start and of every ``rag``/``embed`` command's start-up. A BERT encoder is a
few dozen lines of torch, so for the folders it can read exactly, a plain BERT (``model_type: bert``,
absolute positions, GELU) with mean pooling and optional L2 normalisation, which is what the packaged
all-MiniLM-L6-v2 is, genforge runs the same weights (``model.safetensors``) with the same word pieces
(``tokenizer.json`` through the ``tokenizers`` library) itself. Every other folder is loaded by
sentence-transformers as before (:func:`genforge.embed.sentence.load_encoder`).

The vectors are bit-for-bit those of ``SentenceTransformer.encode`` (same kernels in the same order:
``scaled_dot_product_attention`` with a boolean padding mask, mean pooling summed in the model's dtype,
the folder's ``Normalize`` module and then the caller's normalisation); ``tests/embed/test_bert.py``
checks equality with ``torch.equal``-strictness against sentence-transformers on awkward texts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from genforge.core.errors import CheckpointError

TRANSFORMER = "sentence_transformers.models.Transformer"
POOLING = "sentence_transformers.models.Pooling"
NORMALIZE = "sentence_transformers.models.Normalize"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def readable_folder(path: Path) -> dict[str, Any] | None:
    """The settings this encoder needs if it reproduces the folder's sentence-transformers pipeline
    exactly (a plain BERT, mean pooling, optional ``Normalize``), else ``None``."""
    modules = _read_json(path / "modules.json")
    config = _read_json(path / "config.json")
    if not isinstance(modules, list) or not isinstance(config, dict):
        return None
    types = [m.get("type") for m in modules if isinstance(m, dict)]
    if types not in ([TRANSFORMER, POOLING], [TRANSFORMER, POOLING, NORMALIZE]) or modules[0].get("path"):
        return None
    pooling = _read_json(path / str(modules[1].get("path", "")) / "config.json")
    if not isinstance(pooling, dict):
        return None
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    wanted = {
        "model_type": "bert",
        "hidden_act": "gelu",
        "position_embedding_type": "absolute",
    }
    if modes != {"pooling_mode_mean_tokens"} or pooling.get("include_prompt", True) is not True:
        return None
    if any(config.get(k, v) != v for k, v in wanted.items()) or config.get("is_decoder"):
        return None
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        return None
    st_config = _read_json(path / "sentence_bert_config.json") or {}
    keys = ("hidden_size", "num_attention_heads", "intermediate_size", "num_hidden_layers", "vocab_size")
    if not all(isinstance(config.get(k), int) for k in keys):
        return None
    return {
        **{k: config[k] for k in keys},
        "max_position_embeddings": int(config.get("max_position_embeddings", 512)),
        "type_vocab_size": int(config.get("type_vocab_size", 2)),
        "layer_norm_eps": float(config.get("layer_norm_eps", 1e-12)),
        "max_seq_length": int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512)),
        "normalize_module": NORMALIZE in types,
    }


def _build(settings: dict[str, Any]) -> Any:
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Layer(nn.Module):
        def __init__(self, width: int, heads: int, hidden: int, eps: float) -> None:
            super().__init__()
            self.heads = heads
            self.query, self.key, self.value, self.out = (nn.Linear(width, width) for _ in range(4))
            self.norm1 = nn.LayerNorm(width, eps=eps)
            self.up, self.down = nn.Linear(width, hidden), nn.Linear(hidden, width)
            self.norm2 = nn.LayerNorm(width, eps=eps)

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            b, t, d = x.shape
            shape = (b, t, self.heads, d // self.heads)
            q, k, v = (f(x).view(shape).transpose(1, 2) for f in (self.query, self.key, self.value))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=(d // self.heads) ** -0.5)
            x = self.norm1(self.out(a.transpose(1, 2).contiguous().reshape(b, t, d)) + x)
            return self.norm2(self.down(F.gelu(self.up(x))) + x)

    class Bert(nn.Module):
        def __init__(self, s: dict[str, Any]) -> None:
            super().__init__()
            width, eps = s["hidden_size"], s["layer_norm_eps"]
            self.words = nn.Embedding(s["vocab_size"], width)
            self.positions = nn.Embedding(s["max_position_embeddings"], width)
            self.types = nn.Embedding(s["type_vocab_size"], width)
            self.norm = nn.LayerNorm(width, eps=eps)
            self.layers = nn.ModuleList(
                Layer(width, s["num_attention_heads"], s["intermediate_size"], eps)
                for _ in range(s["num_hidden_layers"])
            )

        def forward(self, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
            x = self.words(ids) + self.types(torch.zeros_like(ids))
            x = self.norm(x + self.positions(torch.arange(ids.shape[1])[None]))
            mask = attention[:, None, None, :].bool()
            for layer in self.layers:
                x = layer(x, mask)
            return x

    return Bert(settings)


_RENAME = {
    "query": "attention.self.query",
    "key": "attention.self.key",
    "value": "attention.self.value",
    "out": "attention.output.dense",
    "norm1": "attention.output.LayerNorm",
    "up": "intermediate.dense",
    "down": "output.dense",
    "norm2": "output.LayerNorm",
}


def _state_dict(tensors: dict[str, Any], layers: int) -> dict[str, Any]:
    """Our parameter names from the Hugging Face BERT names (with or without a ``bert.`` prefix)."""
    w = {k.removeprefix("bert."): v for k, v in tensors.items()}
    out = {
        "words.weight": w["embeddings.word_embeddings.weight"],
        "positions.weight": w["embeddings.position_embeddings.weight"],
        "types.weight": w["embeddings.token_type_embeddings.weight"],
        "norm.weight": w["embeddings.LayerNorm.weight"],
        "norm.bias": w["embeddings.LayerNorm.bias"],
    }
    for i in range(layers):
        for ours, theirs in _RENAME.items():
            for p in ("weight", "bias"):
                out[f"layers.{i}.{ours}.{p}"] = w[f"encoder.layer.{i}.{theirs}.{p}"]
    return out


class BertSentenceEncoder:
    """Mean-pooled sentence vectors and last-layer token vectors of a BERT sentence-transformers folder
    (see the module docstring); build it with :meth:`from_folder`."""

    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        import torch
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        self.path, self.settings = path, settings
        self.dim = int(settings["hidden_size"])
        self.max_seq_length = int(settings["max_seq_length"])
        model = _build(settings)
        try:
            state = _state_dict(load_file(str(path / "model.safetensors")), settings["num_hidden_layers"])
            model.load_state_dict(state)
        except (KeyError, RuntimeError, OSError, SafetensorError) as exc:
            raise CheckpointError(
                f"{path / 'model.safetensors'} is not a BERT checkpoint genforge can read: {exc}"
            ) from None
        self.model = model.eval()
        self._torch = torch
        text = (path / "tokenizer.json").read_text(encoding="utf-8")
        self.tokenizer = Tokenizer.from_str(text)  # batches: truncated at the model's window, padded
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.counter = Tokenizer.from_str(text)  # whole texts, no special tokens: word-piece counts
        self.counter.no_truncation()
        self.counter.no_padding()
        self.lengths = Tokenizer.from_str(text)  # truncated, unpadded: batch ordering by length
        self.lengths.enable_truncation(self.max_seq_length)
        self.lengths.no_padding()

    @classmethod
    def from_folder(cls, path: Path) -> BertSentenceEncoder | None:
        settings = readable_folder(path)
        return None if settings is None else cls(path, settings)

    def encode(self, texts: list[str], normalize: bool) -> np.ndarray:
        """``(len(texts), dim)`` float32, one padded batch (what ``SentenceTransformer.encode`` gives)."""
        torch, F = self._torch, self._torch.nn.functional
        encoded = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encoded], dtype=torch.long)
        attention = torch.tensor([e.attention_mask for e in encoded], dtype=torch.long)
        with torch.inference_mode():
            hidden = self.model(ids, attention)
            mask = attention.unsqueeze(-1).to(hidden.dtype)
            total = (hidden * mask).sum(dim=1, dtype=hidden.dtype)
            vectors = total / torch.clamp(mask.sum(dim=1, dtype=hidden.dtype), min=1e-9)
            if self.settings["normalize_module"]:
                vectors = F.normalize(vectors, p=2, dim=1)
            if normalize:
                vectors = F.normalize(vectors, p=2, dim=1)
        return vectors.numpy().astype(np.float32, copy=False)

    def token_states(self, text: str) -> tuple[list[str], np.ndarray]:
        """Word pieces of ``text`` (no ``[CLS]``/``[SEP]``, within the window) and their last-layer vectors."""
        torch = self._torch
        encoding = self.lengths.encode(text)
        ids = torch.tensor([encoding.ids], dtype=torch.long)
        with torch.inference_mode():
            hidden = self.model(ids, torch.ones_like(ids))[0]
        keep = torch.tensor([not s for s in encoding.special_tokens_mask], dtype=torch.bool)
        tokens = [t for t, s in zip(encoding.tokens, encoding.special_tokens_mask, strict=True) if not s]
        return tokens, np.ascontiguousarray(hidden[keep].float().numpy(), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(self.counter.encode(text, add_special_tokens=False).ids)

    def length_order_tokenizer(self) -> Any:
        return self.lengths
