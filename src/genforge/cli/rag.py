"""``genforge rag index|search|ask|eval|stats``: retrieval-augmented answers over a folder of documents."""

from __future__ import annotations

import argparse
import os

from genforge.cli.common import add_json, add_seed, console, err_console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    index = sub.add_parser("index", help="index .txt .md .rst .html .pdf files under PATH (incremental)")
    index.add_argument("path", help="a folder (recursively) or one file")
    _add_store(index)
    index.add_argument(
        "--suffix", action="append", default=None, metavar="EXT", help="only these types (repeat)"
    )
    index.add_argument("--chunk-tokens", type=int, default=None, help="word pieces per chunk (default 200)")
    index.add_argument(
        "--overlap-tokens",
        type=int,
        default=None,
        help="overlap where a chunk boundary splits a paragraph (32)",
    )
    index.add_argument(
        "--overlap-all",
        action="store_true",
        default=None,
        help="repeat trailing sentences at every chunk boundary, not only inside split paragraphs",
    )
    index.add_argument(
        "--merge-sections",
        action="store_true",
        default=None,
        help="pack small sibling sections into one chunk (fewer chunks, coarser citations)",
    )
    index.add_argument(
        "--embedder",
        choices=["minilm", "minilm-onnx"],
        default=None,
        help="runtime of all-MiniLM-L6-v2 for a new store: PyTorch (default) or ONNX Runtime (same "
        "weights; faster for short texts such as queries, slower for long chunks; needs genforge[onnx]); "
        "recorded in the store for queries",
    )
    index.add_argument(
        "--backend", choices=["segments", "qdrant"], default=None, help="vector backend of a new store"
    )
    index.add_argument(
        "--qdrant-url", default=None, help="Qdrant server URL (default: local mode in the store)"
    )
    add_seed(index)
    add_json(index)
    index.set_defaults(handler=run_index)

    search = sub.add_parser("search", help="ranked chunks for a query, with source, location and score")
    search.add_argument("query")
    _add_retrieval(search)
    _add_store(search)
    add_seed(search)
    add_json(search)
    search.set_defaults(handler=run_search)

    ask = sub.add_parser("ask", help="answer a question with numbered citations and guardrail verdicts")
    ask.add_argument("question")
    _add_retrieval(ask)
    _add_store(ask)
    _add_llm(ask)
    _add_policy(ask)
    add_seed(ask)
    add_json(ask)
    ask.set_defaults(handler=run_ask)

    ev = sub.add_parser("eval", help="retrieval and answer metrics on a labelled QA.jsonl")
    ev.add_argument("qa", help='JSON lines: {"question", "sources": [paths], "answer"?}')
    _add_retrieval(ev)
    _add_store(ev)
    ev.add_argument("--corpus", default=None, help="index this folder into the store first")
    ev.add_argument("--no-answers", action="store_true", help="retrieval metrics only (no answer generation)")
    _add_llm(ev)
    ev.add_argument("--judge", action="store_true", help="also ask the --llm model to rate answers (1-5)")
    _add_policy(ev)
    add_seed(ev)
    add_json(ev)
    ev.set_defaults(handler=run_eval)

    stats = sub.add_parser("stats", help="documents, chunks and settings of a store")
    _add_store(stats)
    add_json(stats)
    stats.set_defaults(handler=run_stats)


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=None,
        metavar="DIR",
        help="store directory (default: the user-cache store, built from genforge's docs on first use)",
    )


def _add_retrieval(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=int, default=5, help="chunks to return / use (default 5)")
    parser.add_argument(
        "--mode", choices=["hybrid", "dense", "bm25"], default="hybrid", help="retriever (default hybrid)"
    )
    parser.add_argument(
        "--fusion",
        choices=["document", "chunk"],
        default="document",
        help="hybrid: fuse documents and chunks (default) or chunks only",
    )
    parser.add_argument(
        "--bm25-weight", type=float, default=0.5, help="hybrid: BM25's RRF weight, dense has 1 (default 0.5)"
    )
    parser.add_argument(
        "--mmr", action="store_true", help="diversify results with maximal marginal relevance"
    )
    parser.add_argument("--mmr-lambda", type=float, default=0.7, help="MMR relevance weight (default 0.7)")


def _add_llm(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--llm", default=None, metavar="URL", help="OpenAI-compatible server (Ollama, vLLM, llama.cpp)"
    )
    parser.add_argument("--model", default=None, help="model name on the --llm server")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for the LLM (default 120)"
    )


def _add_policy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", default=None, metavar="YAML", help="guard policy (default: the shipped one)"
    )
    parser.add_argument("--no-guard", action="store_true", help="run without guardrails")


def _store(args: argparse.Namespace):
    from genforge.rag.corpus import open_store

    return open_store(args.store)


def _llm(args: argparse.Namespace):
    if not args.llm:
        if args.model:
            raise _error("--model needs --llm URL")
        return None
    from genforge.rag.generate import ChatClient

    if not args.model:
        raise _error("--llm needs --model NAME (the model to ask on that server)")
    return ChatClient(
        args.llm,
        args.model,
        api_key=os.environ.get("GENFORGE_LLM_API_KEY"),
        seed=args.seed,
        timeout=args.timeout,
    )


def _error(message: str):
    from genforge.core.errors import ConfigError

    return ConfigError(message)


def _pipeline(args: argparse.Namespace, store):
    from genforge.guard import Guard
    from genforge.rag.pipeline import RagPipeline

    guard = False if args.no_guard else Guard.load(args.policy)
    return RagPipeline(store, guard=guard, llm=_llm(args), k=args.k, **_retrieval(args))


def _retrieval(args: argparse.Namespace) -> dict:
    """The retrieval options of ``_add_retrieval``, as keyword arguments of both ``Store.search`` and
    ``RagPipeline``."""
    return {
        "mode": args.mode,
        "fusion": args.fusion,
        "bm25_weight": args.bm25_weight,
        "use_mmr": args.mmr,
        "mmr_lambda": args.mmr_lambda,
    }


def run_index(args: argparse.Namespace) -> int:
    from genforge.core.seed import seed_everything
    from genforge.rag.corpus import default_store_path
    from genforge.rag.store import Store, StoreConfig

    seed_everything(args.seed)
    overrides = {
        key: value
        for key, value in {
            "chunk_tokens": args.chunk_tokens,
            "overlap_tokens": args.overlap_tokens,
            "overlap_all": args.overlap_all,
            "merge_sections": args.merge_sections,
            "embedder": args.embedder,
            "backend": args.backend,
            "qdrant_url": args.qdrant_url,
        }.items()
        if value is not None
    }
    config = StoreConfig.build(overrides, where="store") if overrides else None
    if args.store and "://" not in args.store:
        from genforge.core.paths import check_output_dir

        check_output_dir(args.store)  # before the store's folder is created
    store = Store(args.store or default_store_path(), config)
    report = store.index(args.path, suffixes=args.suffix)
    out = {"store": str(store.path), **report.to_dict()}
    if args.json:
        print_json(out)
        return 0
    for skipped in report.skipped:
        err_console().print(f"warning: skipped {skipped['source']}: {skipped['reason']}")
    rows = [
        ["files seen", report.files_seen],
        ["added / updated / removed", f"{len(report.added)} / {len(report.updated)} / {len(report.removed)}"],
        ["unchanged", report.unchanged],
        ["skipped", len(report.skipped)],
        [
            "chunks written (embedded / reused)",
            f"{report.chunks_added} ({report.chunks_embedded} / {report.chunks_reused})",
        ],
        ["store totals: documents / chunks", f"{report.total_documents} / {report.total_chunks}"],
        ["seconds", round(report.seconds, 2)],
    ]
    console().print(table(f"indexed {report.root} into {store.path}", ["", "value"], rows))
    return 0


def run_search(args: argparse.Namespace) -> int:
    from genforge.core.seed import seed_everything

    seed_everything(args.seed)
    store = _store(args)
    hits = store.search(args.query, args.k, **_retrieval(args))
    if args.json:
        print_json(
            {
                "query": args.query,
                "mode": args.mode,
                "fusion": args.fusion,
                "mmr": args.mmr,
                "store": str(store.path),
                "results": [h.to_dict() for h in hits],
            }
        )
        return 0
    rows = [
        [h.rank, round(h.score, 4), h.source, " > ".join(h.headings[-2:]), _snippet(h.text)] for h in hits
    ]
    console().print(
        table(
            f"{args.mode} search: {args.query}", ["#", _score_column(hits), "source", "section", "text"], rows
        )
    )
    return 0


def _score_column(hits) -> str:
    return hits[0].score_kind if hits else "score"


def _snippet(text: str, width: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def run_ask(args: argparse.Namespace) -> int:
    from genforge.core.seed import seed_everything

    seed_everything(args.seed)
    store = _store(args)
    answer = _pipeline(args, store).ask(args.question)
    if args.json:
        print_json(answer.to_dict())
        return 0
    out = console()
    out.print(answer.answer)
    if answer.citations:
        out.print()
        for c in answer.citations:
            section = f" — {' > '.join(c.headings)}" if c.headings else ""
            out.print(f"[{c.number}] {c.source}{section} (chars {c.start}-{c.end}, {c.chunk_id})")
    out.print()
    status = "grounded" if answer.grounded else ("not found" if not answer.found else "not fully grounded")
    out.print(
        f"generator: {answer.generator}   status: {status}   {answer.timings_ms.get('total', 0):.0f} ms"
    )
    for stage, report in answer.guard.items():
        reports = report if isinstance(report, list) else [report]
        for r in reports:
            fired = ", ".join(f"{v['rail']} {v['score']:.2f}" for v in r["rails"]) or "no rail fired"
            where = f" chunk {r['chunk_id']}" if "chunk_id" in r else ""
            out.print(f"guard {stage}{where}: {r['action']} ({fired})")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from genforge.core.seed import seed_everything
    from genforge.rag.evaluate import evaluate

    seed_everything(args.seed)
    if args.judge and not args.llm:
        raise _error("--judge needs --llm URL --model NAME")
    if args.corpus:
        from genforge.rag.corpus import default_store_path
        from genforge.rag.store import Store

        Store(args.store or default_store_path()).index(args.corpus)
    store = _store(args)
    pipeline = _pipeline(args, store)
    report = evaluate(
        args.qa, pipeline, answers=not args.no_answers, judge_llm=pipeline.llm if args.judge else None
    )
    if args.json:
        print_json(report)
        return 0
    rows = []
    for group in ("retrieval", "answer"):
        for name, value in report.get(group, {}).items():
            rows.append(
                [group, name, "undefined" if value["mean"] is None else round(value["mean"], 4), value["n"]]
            )
    console().print(
        table(
            f"{report['questions']} questions, {report['seconds']:.1f} s",
            ["group", "metric", "mean", "n"],
            rows,
        )
    )
    return 0


def run_stats(args: argparse.Namespace) -> int:
    store = _store(args)
    info = store.stats()
    if args.json:
        print_json(info)
    else:
        console().print(table(str(store.path), ["field", "value"], [[k, v] for k, v in info.items()]))
    return 0
