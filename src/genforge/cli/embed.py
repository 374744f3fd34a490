"""``genforge embed train|neighbors|analogy|eval|bench|plot``: word and text embeddings.

MODEL arguments are a directory saved by ``embed train`` or ``minilm`` / ``sentence`` for the shipped
all-MiniLM-L6-v2 model.
"""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_overrides, add_seed, console, print_json, table

METHODS = ("word2vec", "fasttext", "glove", "elmo")
BENCH_ENTRIES = ("word2vec-skipgram", "word2vec-cbow", "fasttext", "glove", "elmo", "minilm")
MODEL_HELP = (
    "saved embedding directory, or minilm (shipped all-MiniLM-L6-v2), or minilm-onnx (same, ONNX Runtime)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    train = sub.add_parser("train", help="train word vectors on a text corpus and save them")
    train.add_argument("method", choices=METHODS, help="embedding method")
    train.add_argument(
        "--corpus", default="text:lee", help="text:lee, text:file:PATH, text:dir:PATH (default text:lee)"
    )
    train.add_argument("--dim", type=int, default=100, help="vector size (default 100)")
    train.add_argument(
        "--out", default=None, metavar="DIR", help="output directory (default embeddings/METHOD)"
    )
    add_overrides(train, "method option, e.g. architecture=cbow, window=5, epochs=10, x_max=100 (repeatable)")
    add_seed(train)
    add_json(train)
    train.set_defaults(handler=run_train)

    neighbors = sub.add_parser("neighbors", help="nearest words by cosine similarity")
    neighbors.add_argument("model", help=MODEL_HELP)
    neighbors.add_argument("word")
    neighbors.add_argument("--k", type=int, default=10, help="how many neighbours (default 10)")
    add_json(neighbors)
    neighbors.set_defaults(handler=run_neighbors)

    analogy = sub.add_parser("analogy", help="A - B + C: e.g. 'king man woman' -> queen")
    analogy.add_argument("model", help=MODEL_HELP)
    analogy.add_argument("words", nargs=3, metavar="WORD", help="A B C: words nearest to A - B + C")
    analogy.add_argument("--k", type=int, default=5, help="how many answers (default 5)")
    analogy.add_argument("--method", choices=("3cosadd", "3cosmul"), default="3cosadd")
    add_json(analogy)
    analogy.set_defaults(handler=run_analogy)

    evaluate = sub.add_parser("eval", help="WordSim353, SimLex-999 Spearman, Google analogies, OOV rate")
    evaluate.add_argument("model", help=MODEL_HELP)
    add_json(evaluate)
    evaluate.set_defaults(handler=run_eval)

    bench = sub.add_parser("bench", help="train every method on one corpus and rank them on the same tests")
    bench.add_argument("--corpus", default="text:lee", help="corpus spec (default text:lee)")
    bench.add_argument("--dim", type=int, default=100, help="vector size of trained methods (default 100)")
    bench.add_argument(
        "--methods", nargs="+", choices=BENCH_ENTRIES, default=None, help="subset (default all)"
    )
    bench.add_argument("--out", default=None, metavar="FILE", help="also write the JSON result here")
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    add_seed(bench)
    add_json(bench)
    bench.set_defaults(handler=run_bench)

    plot = sub.add_parser("plot", help="2-D projection (PCA or t-SNE) of chosen words as a PNG")
    plot.add_argument("model", help=MODEL_HELP)
    plot.add_argument("--words", required=True, metavar="FILE", help="words, whitespace or one per line")
    plot.add_argument("--out", default="map.png", help="PNG path (default map.png)")
    plot.add_argument("--projection", choices=("pca", "tsne"), default="pca")
    add_seed(plot)
    add_json(plot)
    plot.set_defaults(handler=run_plot)


def run_train(args: argparse.Namespace) -> int:
    import sys

    from genforge.core.config import parse_overrides
    from genforge.core.paths import check_output_dir
    from genforge.core.seed import seed_everything
    from genforge.embed.training import train_embedding

    seed_everything(args.seed)
    out = check_output_dir(args.out or f"embeddings/{args.method}")
    embedding, summary = train_embedding(
        args.method, args.corpus, args.dim, args.seed, None, **parse_overrides(args.overrides)
    )
    summary["out"] = str(out)
    if args.json:
        print_json(summary)
    else:
        rows = [[k, v] for k, v in summary.items() if k != "options"]
        rows.append(["options", ", ".join(f"{k}={v}" for k, v in summary["options"].items())])
        console().print(table(f"embed train {args.method}", ["field", "value"], rows))
    # Save last, so the model directory is the newest file this command touches (a log of this command's
    # output written next to it is older; scripts that pick "the newest glove*" find the model).
    sys.stdout.flush()
    embedding.save(out)
    return 0


def _print_words(title: str, pairs: list[tuple[str, float]], as_json: bool, query: dict) -> None:
    if as_json:
        print_json({**query, "results": [{"word": w, "cosine": s} for w, s in pairs]})
    else:
        console().print(
            table(title, ["rank", "word", "score"], [[i, w, s] for i, (w, s) in enumerate(pairs, 1)])
        )


def run_neighbors(args: argparse.Namespace) -> int:
    from genforge.embed.query import nearest_words
    from genforge.embed.training import open_embedding

    pairs = nearest_words(open_embedding(args.model), args.word, args.k)
    _print_words(f"nearest to '{args.word}'", pairs, args.json, {"model": args.model, "word": args.word})
    return 0


def run_analogy(args: argparse.Namespace) -> int:
    from genforge.embed.query import solve_analogy
    from genforge.embed.training import open_embedding

    a, b, c = args.words
    pairs = solve_analogy(open_embedding(args.model), a, b, c, args.k, args.method)
    if args.json:
        print_json(
            {
                "model": args.model,
                "query": f"{a} - {b} + {c}",
                "method": args.method,
                "results": [{"word": w, "score": s} for w, s in pairs],
            }
        )
    else:
        _print_words(f"{a} - {b} + {c} ({args.method})", pairs, False, {})
    return 0


def _eval_rows(result: dict) -> list[list]:
    ws, sl, an = result["wordsim353"], result["simlex999"], result["analogies"]
    return [
        ["WordSim353 Spearman", ws["spearman"], f"{ws['pairs_used']}/{ws['pairs_total']} pairs"],
        ["SimLex-999 Spearman", sl["spearman"], f"{sl['pairs_used']}/{sl['pairs_total']} pairs"],
        [
            "analogy accuracy 3CosAdd",
            an["accuracy_3cosadd"],
            f"{an['questions_used']}/{an['questions_total']} questions",
        ],
        ["analogy accuracy 3CosMul", an["accuracy_3cosmul"], f"{an['candidate_words']} candidate words"],
        ["OOV rate (test words)", result["oov_rate"], ""],
    ]


def run_eval(args: argparse.Namespace) -> int:
    from genforge.embed.evaluate import evaluate_embedding
    from genforge.embed.training import open_embedding

    embedding = open_embedding(args.model)
    result = evaluate_embedding(embedding)
    if args.json:
        print_json({"model": str(args.model), "kind": embedding.kind, "dim": embedding.dim, **result})
    else:
        console().print(
            table(f"{embedding.kind} ({args.model})", ["test", "value", "coverage"], _eval_rows(result))
        )
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from genforge.cli.progress import CountProgress
    from genforge.core.io import atomic_write_json
    from genforge.core.paths import check_output_file
    from genforge.core.seed import seed_everything
    from genforge.embed.bench import run_bench as bench

    seed_everything(args.seed)
    if args.out:
        check_output_file(args.out)
    with CountProgress("bench", "methods", quiet=args.quiet or args.json) as bar:
        result = bench(
            args.corpus,
            args.dim,
            args.seed,
            args.methods,
            progress=lambda done, total, entry: bar.update(done, total, note=f"  {entry}"),
        )
    if args.out:
        atomic_write_json(args.out, result)
    if args.json:
        print_json(result)
        return 0
    rows = []
    for r in result["ranking"]:
        c = r["common"]
        rows.append(
            [
                r["rank"],
                r["method"],
                r["score"],
                c["wordsim353"]["spearman"],
                c["simlex999"]["spearman"],
                c["analogies"]["accuracy_3cosadd"],
                c["analogies"]["accuracy_3cosmul"],
                r["own"]["oov_rate"],
                r["train_seconds"],
            ]
        )
    first = result["ranking"][0]["common"]
    title = (
        f"embeddings on {result['corpus']} (dim {result['dim']}); common items: "
        f"{first['wordsim353']['pairs_used']} WordSim353 pairs, {first['simlex999']['pairs_used']} SimLex pairs, "
        f"{first['analogies']['questions_used']} analogies over {result['common_vocabulary_size']} shared words"
    )
    columns = ["rank", "method", "score", "WS353 ρ", "SimLex ρ", "3CosAdd", "3CosMul", "OOV rate", "seconds"]
    console().print(table(title, columns, rows, whole=(1,), optional=(8, 7, 6)))
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from genforge.embed.plot import plot_words, read_word_list
    from genforge.embed.training import open_embedding

    info = plot_words(
        open_embedding(args.model), read_word_list(args.words), args.out, args.projection, args.seed
    )
    if args.json:
        print_json(info)
    else:
        skipped = f" (skipped unknown: {', '.join(info['words_skipped'])})" if info["words_skipped"] else ""
        console().print(f"wrote {info['out']}: {len(info['words_plotted'])} words{skipped}")
    return 0
