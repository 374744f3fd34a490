"""``genforge papers index DIR`` / ``papers list`` / ``papers ask QUESTION``: a literature view of PDFs."""

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
