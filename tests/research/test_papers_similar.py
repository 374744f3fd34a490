"""``papers graph --similar K``: TF-IDF similarity edges join papers that say the same things, not
papers that cite the same work; checked on six PDFs in three topics written for the test."""

import json

import numpy as np
import pytest

from genforge.cli.main import main
from genforge.research.papers import index_papers
from genforge.research.papers_graph import citation_graph
from genforge.research.papers_similar import body_text, tfidf_similarity
from tests.research.papers_corpus import EXTERNAL, write_pdf

TOPICS = {
    "diffusion": "denoising noise schedule score matching reverse process sampler steps variance",
    "adversarial": "generator discriminator adversarial critic hinge loss mode collapse spectral",
    "flows": "invertible coupling jacobian determinant bijection exact likelihood permutation",
}


def test_tfidf_hand_checked():
    sim = tfidf_similarity(["apple pear", "apple pear", "kiwi", ""])
    assert sim[0, 1] == pytest.approx(1.0) and sim[0, 2] == 0.0 and sim[3, 3] == 0.0
    assert np.allclose(sim, sim.T)
    text = "# T\n\n## page 1\n\n### Method\n\nwe mask\n\n## page 2\n\n### References\n\n[1] X. Y. 2020.\n"
    assert body_text(text).split() == ["we", "mask"]


@pytest.fixture(scope="module")
def topical(tmp_path_factory):
    root = tmp_path_factory.mktemp("similar")
    (root / "pdfs").mkdir()
    for t, (topic, words) in enumerate(TOPICS.items()):
        for k in range(2):
            title = f"Study {2 * t + k} of {topic.title()} Models"
            body = [
                f"We examine {words}.",
                f"Our {topic} results use {words.split()[k]} and {words.split()[k + 2]}.",
            ]
            refs = ["References", f"[1] {EXTERNAL}"]  # every paper cites the same outside work
            write_pdf(root / "pdfs" / f"{topic}{k}.pdf", [[title, "Ada Moreau", "Abstract", *body], refs])
    index_papers(root / "pdfs", root / "store")
    return root / "store"


def test_each_paper_is_joined_to_its_topical_twin(topical, tmp_path, capsys):
    graph = citation_graph(topical, similar=1)
    files = {n["number"]: n["file"] for n in graph["nodes"]}
    pairs = {
        tuple(sorted((files[e["source"]][:-4], files[e["target"]][:-4])))
        for e in graph["edges"]
        if e["kind"] == "similar"
    }
    assert pairs == {(f"{topic}0", f"{topic}1") for topic in TOPICS}
    assert all(0 < e["score"] <= 1 for e in graph["edges"] if e["kind"] == "similar")
    picture = tmp_path / "g.png"
    assert main(["papers", "graph", "--store", str(topical), "--out", str(picture), "--similar", "1"]) == 0
    assert "3 similar pairs" in capsys.readouterr().out
    assert (
        main(["papers", "graph", "--store", str(topical), "--out", str(picture), "--similar", "2", "--json"])
        == 0
    )
    assert sum(e["kind"] == "similar" for e in json.loads(capsys.readouterr().out)["edges"]) >= 6
    assert main(["papers", "graph", "--store", str(topical), "--out", str(picture), "--similar", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
