"""Fifty questions over the papers fixture corpus (tests/research/papers_corpus.py), each with the paper and
the page(s) that answer it, for ``benchmarks/papers_quality.py``.

Who wrote them and how: research2 (an AI helper session of the genforge project) on 2026-12-03, by hand,
from the generator's templates and its ``truth()`` table, before any retrieval was run on them. They are
phrased as a user would type them (paraphrased: "learning rate" for the text's "step size", "who wrote"
for the author line, "what do they cite" for the reference list, partial or lower-case titles) and never
copy a sentence of the page. The answer page is where the generator puts the fact: page 1 holds title,
authors, ids, year and the abstract (which states the FID and dataset), page 2 the method (step size) and
the results table (dataset, FID), page 3 the references; a fact on two pages accepts either.

Split: the first 20 are ``dev`` (looked at while tuning), the last 30 ``test`` (only measured).
Each entry: (question, paper index in ``truth()``, accepted pages, a string the answer should contain or
"" when the answer is a list, such as references).
"""

from __future__ import annotations

FACT = (1, 2)  # FID and dataset: the abstract (page 1) and the results table (page 2)

QUESTIONS: list[tuple[str, int, tuple[int, ...], str]] = [
    # dev ------------------------------------------------------------------------------------------------
    ("How good are the samples of Sparse Flows, what FID did they get?", 0, FACT, "30.0"),
    ("What image quality score does the gated priors paper reach on CelebA?", 1, FACT, "28.9"),
    ("Frechet inception distance of latent decoders on ImageNet?", 2, FACT, "27.8"),
    ("Which learning rate was used to train the residual attention model?", 3, (2,), "0.267"),
    ("How big is the optimiser step in hierarchical codebooks?", 4, (2,), "0.256"),
    ("Who are the authors of masked energies?", 5, (1,), "Fatima Haddad"),
    ("In what year did the conditional samplers work come out?", 6, (1,), "2021"),
    ("Give me the arXiv number of adversarial critics", 7, (1,), "2208.10007"),
    ("DOI of the recurrent encoders paper?", 8, (1,), "10.5555/gf.2023.008"),
    ("Which earlier papers does discrete tokens cite?", 9, (3,), ""),
    ("What prior work is listed in the bibliography of continuous fields?", 10, (3,), ""),
    ("What benchmark dataset do the contrastive mixtures authors evaluate on?", 11, FACT, "ImageNet-32"),
    ("Which paper gets an FID of 16.8?", 12, FACT, "16.8"),
    ("Who trained with a step size of 0.157?", 13, (2,), "0.157"),
    ("Which paper has arXiv id 1903.10014?", 14, (1,), "1903.10014"),
    ("Find the work with DOI 10.5555/gf.2020.015", 15, (1,), "10.5555/gf.2020.015"),
    ("How is the implicit kernels model trained?", 16, (2,), "0.124"),
    ("What is the equivariant graphs paper about, in short?", 17, (1,), ""),
    ("What numbers are in the results table of quantized embeddings?", 18, (2,), "10.2"),
    ("Does stochastic gradients cite the residual learning work of He and Zhang?", 19, (3,), ""),
    # test -----------------------------------------------------------------------------------------------
    ("How low does the FID go for hierarchical codebooks?", 4, FACT, "25.6"),
    ("masked energies: which dataset, and what score?", 5, FACT, "ImageNet-32"),
    ("what learning rate did conditional samplers pick", 6, (2,), "0.234"),
    ("Adversarial critics, who wrote it?", 7, (1,), "Ada Moreau"),
    ("publication year of recurrent encoders for generative models", 8, (1,), "2023"),
    ("arxiv link for the discrete tokens paper", 9, (1,), "2410.10009"),
    ("doi for continuous fields", 10, (1,), "10.5555/gf.2015.010"),
    ("reading list of contrastive mixtures: what do they cite?", 11, (3,), ""),
    ("variational bottlenecks: what is the training procedure?", 12, (2,), ""),
    ("Diffusive schedules sample quality on CelebA", 13, FACT, "15.7"),
    ("step size in autoregressive transformers", 14, (2,), "0.146"),
    ("names of the people behind normalizing couplings", 15, (1,), "Ben Okafor"),
    ("when was implicit kernels released", 16, (1,), "2021"),
    ("equivariant graphs preprint identifier", 17, (1,), "2206.10017"),
    ("quantized embeddings digital object identifier", 18, (1,), "10.5555/gf.2023.018"),
    ("stochastic gradients bibliography", 19, (3,), ""),
    ("Which paper reached an FID of 30.0 on CIFAR-10?", 0, FACT, "30.0"),
    ("which work trained with a step size of 0.278", 2, (2,), "0.278"),
    ("which paper is arXiv 1804.10003?", 3, (1,), "1804.10003"),
    ("the paper with doi 10.5555/gf.2016.001", 1, (1,), "10.5555/gf.2016.001"),
    ("Which paper reports FID 11.3 on ImageNet-32?", 17, FACT, "11.3"),
    ("what is the CelebA FID of continuous fields?", 10, FACT, "19.0"),
    ("the lowest FID I have seen is 9.1, which paper is that?", 19, FACT, "9.1"),
    ("normalizing couplings results on CIFAR-10", 15, FACT, "13.5"),
    ("implicit kernels: list of references", 16, (3,), ""),
    ("who wrote latent decoders", 2, (1,), "Chen Li"),
    ("year of variational bottlenecks", 12, (1,), "2017"),
    ("optimiser step size for quantized embeddings", 18, (2,), "0.102"),
    ("which papers does conditional samplers build on", 6, (3,), ""),
    ("what does the discrete tokens method do?", 9, (2,), ""),
]
DEV = QUESTIONS[:20]
TEST = QUESTIONS[20:]
