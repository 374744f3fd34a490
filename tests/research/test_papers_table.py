"""``papers table``'s detection over PDFs the test writes from known text: result tables of known cells
(two-space columns, single-space columns, ± and % values, captions, prose with numbers and references
that are not a table) come back cell for cell. The CLI and ``papers graph`` are tested on the indexed
fixture corpus in test_papers.py."""

import random

import pytest

from genforge.research.papers import read_pages
from genforge.research.papers_table import find_tables, paper_tables, split_cells
from tests.research.papers_corpus import write_pdf

MODELS = ["ResNet-18", "VAE", "PixelCNN", "RealNVP", "DDPM", "GAN-small"]
METRICS = ["FID", "IS", "Params", "Acc"]
TITLES = [
    f"Paper {w} on Tabular Results for Generative Models"
    for w in ("Alpha", "Beta", "Gamma", "Delta", "Epsilon")
]


def _value(rng: random.Random, style: int) -> str:
    number = f"{rng.uniform(1, 99):.{rng.choice([1, 2])}f}"
    # "+/-": the test PDF writer has no encoding for "±" (split_cells is checked on "±" text)
    return {0: number, 1: f"{number} +/- {rng.uniform(0.1, 2):.1f}", 2: f"{number}%"}[style % 3]


def make_paper(i: int):
    """Lines of a 3-page paper with one or two tables, and the tables' truth (page, header, rows)."""
    rng = random.Random(i)
    tables, pages = [], []
    first = [TITLES[i], "Ada Moreau, Ben Okafor", f"Published {2019 + i}", "Abstract",
             f"We train for {100 + i} epochs with batch size 64 and report 3 tables.", ""]  # fmt: skip
    second = ["Results", "We compare against 4 baselines in Table 1."]
    pages = [first, second, []]
    for t in range(1 + i % 2):
        columns = rng.sample(METRICS, rng.randint(2, 4))
        models = rng.sample(MODELS, rng.randint(2, 5))
        rows = [[m, *(_value(rng, i + t) for _ in columns)] for m in models]
        sep = " " if (i + t) == 3 else "   "  # one table with single-space columns
        header = ["Model", *columns]
        page = 1 if t == 0 else 2
        pages[page] += [f"Table {t + 1}: results on CIFAR-10.", sep.join(header)]
        pages[page] += [sep.join(r) for r in rows]
        pages[page] += ["The best model reaches 12.5 FID after 200 steps."]
        tables.append({"page": page + 1, "header": header, "rows": rows})
    refs = ["References"] + [f"[{n + 1}] A. Author. {TITLES[j]}. 2020." for n, j in enumerate(range(i))]
    refs.append(f"[{i + 1}] K. He, X. Zhang. Deep Residual Learning for Image Recognition. 2016.")
    pages[2] += refs
    return pages, tables


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    """5 papers written as real PDFs (7 tables), and each one's tables as written."""
    root = tmp_path_factory.mktemp("tables")
    truth = {}
    for i in range(5):
        pages, tables = make_paper(i)
        write_pdf(root / f"p{i}.pdf", pages)
        truth[f"p{i}.pdf"] = tables
    return root, truth


def test_cells_and_rows_are_split_as_written():
    assert split_cells("ResNet-18   25.3   4.1 ± 0.2   87%") == ["ResNet-18", "25.3", "4.1 ± 0.2", "87%"]
    assert split_cells("Big GAN 25.3 4.1") == ["Big GAN", "25.3", "4.1"]
    assert split_cells("We train for 100 epochs") == ["We train for 100 epochs"]
    lines = ["Table 3: ablation.", "Model  FID  IS", "A  1.5  2", "B  3  4.25", "Note 5"]
    assert find_tables(lines) == [
        ("Table 3: ablation.", ["Model", "FID", "IS"], [["A", "1.5", "2"], ["B", "3", "4.25"]])
    ]
    # lines ending in one number each (prose, a numbered list, references ending in a year) are no table
    assert (
        find_tables(["we ran 3 seeds over 5", "and then 5 folds over 2", "[1] A. Author. Title. 2020."]) == []
    )
    assert find_tables(["only one row 5 6"]) == []


def test_every_known_cell_comes_back_from_the_pdfs(pdfs):
    root, truth = pdfs
    right = total = 0
    for file, tables in truth.items():
        found = paper_tables(file, file, read_pages(root / file))
        by_page = {(t.page, tuple(t.header)): t for t in found}
        for table in tables:
            total += sum(len(r) - 1 for r in table["rows"])
            got = by_page.get((table["page"], tuple(table["header"])))
            if got is None:
                continue
            for want_row, got_row in zip(table["rows"], got.rows, strict=False):
                right += sum(
                    w == g
                    for w, g in zip(want_row[1:], got_row[1:], strict=False)
                    if want_row[0] == got_row[0]
                )
        assert len(found) == len(tables), file  # no table made of prose
    assert total > 60 and right / total >= 0.9
    assert right == total  # measured: every cell of the 7 tables
