"""``genforge papers index DIR`` / ``papers list`` / ``papers ask QUESTION`` / ``papers table --out CSV``
/ ``papers graph --out PNG``: a literature view of PDFs."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, console, err_console, print_json, table

DEFAULT_STORE = "papers-store"


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", default=DEFAULT_STORE, help=f"the papers' RAG store folder (default {DEFAULT_STORE}/)"
    )


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    index = sub.add_parser(
        "index", help="index a folder of PDFs (incremental): chunks by page, metadata, citations"
    )
    index.add_argument("folder", help="folder of PDF papers")
    _add_store(index)
    add_json(index)
    index.set_defaults(handler=run_index)
    show = sub.add_parser(
        "list", help="title, authors, year, arXiv id/DOI, pages, cited-by among the local set"
    )
    _add_store(show)
    add_json(show)
    show.set_defaults(handler=run_list)
    question = sub.add_parser("ask", help="answer a question from the papers with paper + page citations")
    question.add_argument("question", help="the question")
    _add_store(question)
    add_json(question)
    question.set_defaults(handler=run_ask)
    tables = sub.add_parser("table", help="result tables found in the papers' pages, into one long-form CSV")
    tables.add_argument("--out", required=True, metavar="CSV", help="CSV file to write")
    tables.add_argument(
        "--fields",
        help="comma-separated CSV columns to keep (default all: file,title,page,table,caption,row,"
        "row_label,column,value)",
    )
    _add_store(tables)
    add_json(tables)
    tables.set_defaults(handler=run_table)
    graph = sub.add_parser("graph", help="the citation graph between the indexed papers, as a picture")
    graph.add_argument("--out", required=True, metavar="PNG", help="picture to write (.png, .jpg, .webp)")
    graph.add_argument(
        "--shared", type=int, metavar="N", help="also join papers that share at least N references (dashed)"
    )
    graph.add_argument(
        "--similar",
        type=int,
        metavar="K",
        help="also join each paper to its K most similar papers by text (TF-IDF cosine; dotted)",
    )
    _add_store(graph)
    add_json(graph)
    graph.set_defaults(handler=run_graph)


def run_index(args: argparse.Namespace) -> int:
    from genforge.research.papers import index_papers

    result = index_papers(args.folder, args.store)
    if args.json:
        print_json(result)
        return 0
    for skip in result["skipped"]:
        err_console().print(f"skipped {skip['reason']}", soft_wrap=True)
    console().print(
        f"indexed {result['indexed']} papers ({result['pages']} pages), skipped {len(result['skipped'])}; "
        f"store {args.store}",
        soft_wrap=True,
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    from genforge.research.papers import list_papers

    papers = list_papers(args.store)
    if args.json:
        print_json({"papers": papers})
        return 0
    rows = [
        [
            p["title"],
            ", ".join(p["authors"]),
            p["year"],
            p["arxiv"] or p["doi"] or "",
            p["pages"],
            p["cited_by"],
        ]
        for p in papers
    ]
    console().print(table(None, ["title", "authors", "year", "arXiv / DOI", "pages", "cited by"], rows))
    return 0


def run_ask(args: argparse.Namespace) -> int:
    from genforge.research.papers import ask_papers

    result = ask_papers(args.question, args.store)
    if args.json:
        print_json(result)
        return 0
    out = console()
    out.print(result["answer"], soft_wrap=True)
    for c in result["citations"]:
        out.print(f"[{c['number']}] {c['title']} ({c['file']}), page {c['page']}", soft_wrap=True)
    return 0 if result["status"] != "not found" else 1


def run_table(args: argparse.Namespace) -> int:
    from genforge.research.papers_table import write_tables

    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    result = write_tables(args.store, args.out, fields)
    if args.json:
        print_json(result)
        return 0
    for note in result["notes"]:
        err_console().print(f"note: {note}", soft_wrap=True)
    console().print(
        f"{result['tables']} tables ({result['cells']} cells) from {result['papers']} papers: {result['out']}",
        soft_wrap=True,
    )
    return 0


def run_graph(args: argparse.Namespace) -> int:
    from genforge.research.papers_graph import draw_graph

    graph = draw_graph(args.store, args.out, shared=args.shared, similar=args.similar)
    if args.json:
        print_json(graph)
        return 0
    kinds = [e["kind"] for e in graph["edges"]]
    console().print(
        f"{len(graph['nodes'])} papers, {kinds.count('cites')} citations"
        + (f", {kinds.count('shared')} pairs sharing >= {args.shared} references" if args.shared else "")
        + (f", {kinds.count('similar')} similar pairs" if args.similar else "")
        + f": {graph['out']}",
        soft_wrap=True,
    )
    return 0
