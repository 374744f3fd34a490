"""genforge GPT against Hugging Face ``transformers`` GPT2LMHeadModel: training and cached generation speed,
and validation bits per character after the same steps, side by side in one process.

Both models have the identical configuration (layers, heads, width, context, dropout, tied output layer,
tanh GELU) and start from the same weights (genforge's initial weights are copied into the HF model).
They train on the same ``text:`` batches with the same optimizer (AdamW, gradient clipping), one step
of each in turn so that load on the machine hits both alike; the loss is the same cross-entropy on
each model's logits. Generation: greedy continuation of a prompt with each model's key/value cache
(genforge: :func:`genforge.samplers.decoding.iter_tokens`; HF: ``model.generate(use_cache=True)``), on the
same trained weights (their logits are compared, and how many greedy tokens agree), the two timed in turn
(median of ``--repeats``) so that load on the machine hits both alike; an uncached genforge loop
(re-running the whole prefix per token) shows what the cache buys.

    .venv/bin/python benchmarks/gpt_vs_hf_gpt2.py [--data text:lee] [--steps 200] [--batch-size 16]
        [--new-tokens 100] [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

from genforge.data import load_dataset
from genforge.models.base import build_model
from genforge.samplers.decoding import DecodingConfig, iter_tokens


def hf_model_like(model, context: int):
    """A GPT2LMHeadModel with the same configuration as ``model`` holding a copy of its weights."""
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = model.config
    hf_config = GPT2Config(
        vocab_size=model.vocab_size,
        n_positions=context,
        n_embd=cfg.embed_dim,
        n_layer=cfg.num_layers,
        n_head=cfg.num_heads,
        n_inner=cfg.mlp_ratio * cfg.embed_dim,
        resid_pdrop=cfg.dropout,
        embd_pdrop=cfg.dropout,
        attn_pdrop=cfg.dropout,
        activation_function="gelu_new",
        bos_token_id=model.eot_id,
        eos_token_id=model.eot_id,
        pad_token_id=model.eot_id,
        tie_word_embeddings=True,
    )
    hf = GPT2LMHeadModel(hf_config)
    copy_weights(model, hf)
    return hf


def copy_weights(model, hf) -> None:
    """genforge GPT parameters -> HF GPT-2 names (HF's Conv1D stores weights transposed)."""
    state = {
        "transformer.wte.weight": model.token_embedding.weight,
        "transformer.wpe.weight": model.position_embedding.weight,
        "transformer.ln_f.weight": model.ln_f.weight,
        "transformer.ln_f.bias": model.ln_f.bias,
    }
    for i, block in enumerate(model.blocks):
        prefix = f"transformer.h.{i}."
        for name in ("ln_1", "ln_2"):
            state[prefix + name + ".weight"] = getattr(block, name).weight
            state[prefix + name + ".bias"] = getattr(block, name).bias
        for ours, theirs in [
            (block.attn.qkv, "attn.c_attn"),
            (block.attn.proj, "attn.c_proj"),
            (block.fc, "mlp.c_fc"),
            (block.fc_proj, "mlp.c_proj"),
        ]:
            state[prefix + theirs + ".weight"] = ours.weight.T
            state[prefix + theirs + ".bias"] = ours.bias
    missing, unexpected = hf.load_state_dict({k: v.detach().clone() for k, v in state.items()}, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)


def targets_of(batch):
    x, length = batch["x"], batch["length"]
    steps = torch.arange(x.shape[1] - 1)
    return x[:, :-1], x[:, 1:].masked_fill(steps[None, :] >= (length[:, None] - 1), -100)


@torch.no_grad()
def bits_per_char(logits_fn, dataset, token_chars: torch.Tensor) -> float:
    """Validation bits per character: total nats / ln 2 / total characters predicted."""
    nats = chars = 0.0
    for batch in dataset.batches("val", 64):
        inputs, targets = targets_of(batch)
        logits = logits_fn(inputs)
        nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=-100, reduction="none")
        nats += float(nll.sum())
        chars += float((token_chars[targets.clamp(min=0)] * (targets >= 0)).sum())
    return nats / math.log(2) / chars


def common_prefix(a: list[int], b: list[int]) -> int:
    """How many leading tokens two continuations share (float rounding can flip a near-tie)."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def timed_generation(fns: dict, repeats: int) -> dict[str, tuple[float, list[int]]]:
    """Median seconds and the output of each function, run in turn ``repeats`` times (interleaved, so a
    change of load on the machine hits all of them alike)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    outputs: dict[str, list[int]] = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            outputs[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), outputs[name]) for name in fns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="text:lee", help="text dataset spec (default text:lee, char tokens)"
    )
    parser.add_argument("--steps", type=int, default=200, help="training steps for each model (default 200)")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per step (default 16)")
    parser.add_argument("--new-tokens", type=int, default=100, help="tokens generated per run (default 100)")
    parser.add_argument("--prompt", default="The government", help="generation prompt")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed generations of each model, interleaved (default 5)"
    )
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import transformers

    dataset = load_dataset(args.data)
    info = dataset.info
    context = info.extra["context_length"]
    torch.manual_seed(0)
    ours = build_model("gpt", {}, info)
    theirs = hf_model_like(ours, context)
    token_chars = torch.tensor(info.extra["token_chars"])

    optimizers = {
        name: torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)
        for name, m in (("genforge", ours), ("hf", theirs))
    }
    train = dataset.split("train")
    order = torch.randperm(len(train["x"]), generator=torch.Generator().manual_seed(0))
    seconds = {"genforge": 0.0, "hf": 0.0}
    tokens = 0
    ours.train()
    theirs.train()
    for step in range(args.steps):
        ids = order[(step * args.batch_size) % len(order) :][: args.batch_size]
        batch = {k: v[ids] for k, v in train.items()}
        inputs, targets = targets_of(batch)
        tokens += int((targets >= 0).sum())
        for name, model in (("genforge", ours), ("hf", theirs)):
            start = time.perf_counter()
            logits = model.logits(inputs) if name == "genforge" else model(input_ids=inputs).logits
            loss = next_token_loss(logits, targets)
            optimizers[name].zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizers[name].step()
            seconds[name] += time.perf_counter() - start
    ours.eval()
    theirs.eval()
    bpc = {
        "genforge": bits_per_char(ours.logits, dataset, token_chars),
        "hf": bits_per_char(lambda x: theirs(input_ids=x).logits, dataset, token_chars),
    }

    # generation on identical weights: HF gets a copy of the trained genforge weights
    twin = hf_model_like(ours, context).eval()
    tokenizer = dataset.extra["tokenizer"]
    prompt = [ours.eot_id, *tokenizer.encode(args.prompt)]
    if len(prompt) + args.new_tokens > context:
        raise SystemExit(f"prompt + new tokens must fit the context of {context} tokens")
    greedy = DecodingConfig(max_new_tokens=args.new_tokens, temperature=0)

    def ours_cached():
        return list(iter_tokens(ours, prompt, greedy))

    @torch.no_grad()
    def ours_uncached():
        seq = list(prompt)
        for _ in range(args.new_tokens):
            seq.append(int(ours.logits(torch.tensor([seq]))[0, -1].argmax()))
        return seq[len(prompt) :]

    @torch.no_grad()
    def hf_cached():
        ids = torch.tensor([prompt])  # starts with <|endoftext|> = pad id: pass the mask, or HF masks it out
        out = twin.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=args.new_tokens,
            do_sample=False,
            use_cache=True,
            eos_token_id=None,
            pad_token_id=ours.eot_id,
        )
        return out[0, len(prompt) :].tolist()

    timed = timed_generation({"ours": ours_cached, "hf": hf_cached}, args.repeats)
    (gen_ours, ids_ours), (gen_hf, ids_hf) = timed["ours"], timed["hf"]
    gen_uncached, ids_uncached = timed_generation({"uncached": ours_uncached}, 1)["uncached"]

    n = args.new_tokens
    train_rate = {k: tokens / v for k, v in seconds.items()}
    print(
        f"data {args.data}: vocabulary {info.vocab_size}, context {context}; model {ours.num_parameters():,} "
        f"parameters ({ours.config.num_layers} layers, width {ours.config.embed_dim}, {ours.config.num_heads} heads);"
        f" {args.steps} steps of batch {args.batch_size}; torch {torch.__version__}, transformers "
        f"{transformers.__version__}, {torch.get_num_threads()} thread(s)"
    )
    rows = [
        ("training tokens/s", train_rate["genforge"], train_rate["hf"]),
        (f"val bits/char after {args.steps} steps", bpc["genforge"], bpc["hf"]),
        (f"cached greedy generation tokens/s ({n} new)", n / gen_ours, n / gen_hf),
    ]
    print(f"| {'measure':<44} | {'genforge GPT':>12} | {'HF GPT2LMHeadModel':>18} | {'genforge / HF':>13} |")
    print(f"|{'-' * 46}|{'-' * 14}|{'-' * 20}|{'-' * 15}|")
    for label, a, b in rows:
        print(f"| {label:<44} | {a:>12.4g} | {b:>18.4g} | {a / b:>13.3f} |")
    print(
        f"| {'genforge without KV cache, tokens/s':<44} | {n / gen_uncached:>12.4g} | {'':>18} | "
        f"{(n / gen_uncached) / (n / gen_hf):>13.3f} |"
    )
    with torch.no_grad():
        probe = next(dataset.batches("val", 8))["x"][:, :-1]
        gap = float((ours.logits(probe) - twin(input_ids=probe).logits).abs().max())
    print(
        f"same weights: max |logit difference| genforge vs HF {gap:.2e}; greedy tokens equal before the first "
        f"divergence: HF {common_prefix(ids_ours, ids_hf)}/{n}, uncached {common_prefix(ids_ours, ids_uncached)}/{n}"
    )
    print(f"sample: {args.prompt}{tokenizer.decode(ids_ours)!r}")


if __name__ == "__main__":
    main()
