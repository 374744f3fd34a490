"""Behaviour frozen before the structure change (issue 13) stays the same: RAG rankings and answers, every
metric command, and the demo's figures (see tests/golden/behaviour.py; a deliberate change re-freezes the
file named in the failure with tests/golden/make_behaviour_goldens.py and says why in the commit)."""

import json

import pytest

from tests.golden import behaviour

# Tolerances: the goldens were frozen on another machine. On one CPU the outputs repeat bit for bit; on
# another, vector kernels round float32 sums differently in the last bits. Seen after the move: 3.5e-7
# relative on FD-digits (the extractor network's features), 1e-5 on likelihood figures after 50 training
# steps, and 2.5e-3 on the GAN's FD after 50 steps (adversarial training amplifies the last bits; main's
# code and the restructured code gave the same 88.95479832340706 on this machine, the golden 88.729).
# Rankings, citations, strings and counts are still compared exactly.
SCORES, TRAINED, ADVERSARIAL = 1e-6, 1e-4, 1e-2


def _golden(name: str):
    return json.loads((behaviour.HERE / f"behaviour_{name}.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_rag_index_search_and_ask_outputs_are_unchanged(tmp_path):
    behaviour.assert_same(behaviour.rag_outputs(tmp_path), _golden("rag"), tol=SCORES)


def test_every_metric_command_gives_the_frozen_values(tmp_path):
    behaviour.assert_same(behaviour.metric_outputs(tmp_path), _golden("metrics"), tol=SCORES)


@pytest.mark.slow
def test_demo_figures_after_50_steps_are_unchanged(tmp_path):
    actual, expected = behaviour.demo_outputs(tmp_path), _golden("demo")
    gan = [
        (a, e) for a, e in zip(actual["families"], expected["families"], strict=True) if e["family"] == "gan"
    ]
    for a, e in gan:
        assert a["value"] == pytest.approx(e["value"], rel=ADVERSARIAL)
        a["value"] = e["value"]
    behaviour.assert_same(actual, expected, tol=TRAINED)
