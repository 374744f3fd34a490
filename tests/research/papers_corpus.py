"""A fixture corpus of 20 small papers written as real PDFs from known text, with the truth the tests
check against: title, authors, year, arXiv id, DOI, pages, and who cites whom.

The PDF writer is a minimal PDF 1.4 one (Helvetica, one text object a page, a correct xref table), so the
tests need no PDF library beyond pypdf, which reads them back.
"""

from __future__ import annotations

from pathlib import Path

ADJECTIVES = [
    "Sparse", "Gated", "Latent", "Residual", "Hierarchical", "Masked", "Conditional", "Adversarial",
    "Recurrent", "Discrete", "Continuous", "Contrastive", "Variational", "Diffusive", "Autoregressive",
    "Normalizing", "Implicit", "Equivariant", "Quantized", "Stochastic",
]  # fmt: skip
NOUNS = [
    "Flows", "Priors", "Decoders", "Attention", "Codebooks", "Energies", "Samplers", "Critics",
    "Encoders", "Tokens", "Fields", "Mixtures", "Bottlenecks", "Schedules", "Transformers",
    "Couplings", "Kernels", "Graphs", "Embeddings", "Gradients",
]  # fmt: skip
PEOPLE = ["Ada Moreau", "Ben Okafor", "Chen Li", "Dana Weiss", "Emil Novak", "Fatima Haddad", "Goro Sato"]
EXTERNAL = "K. He, X. Zhang. Deep Residual Learning for Image Recognition. 2016."


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path: Path, pages: list[list[str]]) -> None:
    """A PDF with one page per list of lines (an empty list is a page without any text)."""
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 10 Tf", "14 TL", "56 760 Td"]
        ops += [f"({_escape(line)}) Tj T*" for line in lines]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1") if lines else b""
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def truth() -> list[dict]:
    """The 20 papers: metadata, the result each reports, and the local papers each cites."""
    papers = []
    for i in range(20):
        year = 2015 + i % 10
        cites = sorted({j for j in (i - 1, i - 2, (i * 7) % 20) if 0 <= j < i})
        papers.append(
            {
                "file": f"paper{i:02d}.pdf",
                "title": f"{ADJECTIVES[i]} {NOUNS[i]} for Generative Models",
                "authors": [PEOPLE[i % 7], PEOPLE[(i + 3) % 7]],
                "year": year,
                "arxiv": f"{year % 100:02d}{1 + i % 12:02d}.{10000 + i}",
                "doi": f"10.5555/gf.{year}.{i:03d}",
                "fid": round(30.0 - i * 1.1, 1),
                "dataset": ["CIFAR-10", "CelebA", "ImageNet-32"][i % 3],
                "cites": cites,
            }
        )
    return papers


def build_corpus(folder: Path) -> list[dict]:
    """Write the 20 papers (3 pages each) plus a corrupt and an image-only PDF into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    papers = truth()
    for paper in papers:
        first = [
            paper["title"],
            ", ".join(paper["authors"]),
            f"arXiv:{paper['arxiv']}   DOI: {paper['doi']}   Published {paper['year']}",
            "",
            "Abstract",
            f"We study {paper['title'].lower()} and report an FID of {paper['fid']} on {paper['dataset']}.",
        ]
        second = [
            "Method",
            f"Our method trains {paper['title'].split()[1].lower()} with a step size of {paper['fid'] / 100:.3f}.",
            "Results",
            "Dataset   Metric   Value",
            f"{paper['dataset']}   FID   {paper['fid']}",
        ]
        refs = ["References"]
        for n, j in enumerate(paper["cites"], start=1):
            other = papers[j]
            refs.append(f"[{n}] {', '.join(other['authors'])}. {other['title']}. {other['year']}.")
        refs.append(f"[{len(paper['cites']) + 1}] {EXTERNAL}")
        write_pdf(folder / paper["file"], [first, second, refs])
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\nthis is not a PDF body\n")
    write_pdf(folder / "scanned.pdf", [[]])
    return papers
