"""The extractive answerer quotes prose, not code blocks, shell sessions or data listings."""

from __future__ import annotations

from genforge.embed.sentence import SentenceEmbedding
from genforge.rag.generate import extractive_answer, looks_like_code, prose_spans

RESUME_DOC = """## Resuming a run

To resume training from the last checkpoint, run `genforge train --resume RUN` where RUN is the run id.

```
$ genforge rag ask "how do I resume training?"
To resume training from the last checkpoint, run `genforge train --resume RUN` [1].

[1] training.md — Training > Resuming a run (chars 10-80, training.md#1)
```
"""


def test_code_lines_prompts_and_data_are_code_and_prose_with_inline_code_is_not():
    assert looks_like_code('store = Store("my-store")\nhits = store.search("resume training", k=5)')
    assert looks_like_code("$ genforge train vae --data digits\ntime_budget: 300 steps")
    assert looks_like_code("- {rail: pii, types: [email, phone], action: redact}")
    assert looks_like_code('"answer": "To resume training",\n"citations": [1]')
    assert not looks_like_code("Resume with `genforge train --resume RUN` (the optimizer state is restored).")
    assert not looks_like_code(
        "At N = 5,000 both give identical values (the reference\nneeds three matrices)."
    )


def test_prose_spans_drop_fenced_blocks_including_one_the_chunk_starts_inside():
    text = "Intro:\n```python\nx = 1\n```\nAfter the code."
    assert [text[a:b] for a, b in prose_spans(text)] == ["Intro:\n", "\nAfter the code."]
    starts_inside = "$ genforge sample RUN\nwrote grid.png\n```\nProse after."
    assert [starts_inside[a:b] for a, b in prose_spans(starts_inside)] == ["\nProse after."]
    assert prose_spans("no fences here") == [(0, 14)]


def test_an_example_session_in_the_docs_is_not_quoted_as_the_answer():
    chosen = extractive_answer("how do I resume training?", [RESUME_DOC], SentenceEmbedding())
    assert [c.text for c in chosen] == [
        "To resume training from the last checkpoint, run `genforge train --resume RUN` where RUN is the run id."
    ]


def test_a_table_row_is_quoted_on_its_own_not_as_the_whole_table():
    table = (
        "| setting | meaning |\n|---|---|\n"
        "| `lr` | the learning rate of the optimizer, 3e-4 by default |\n"
        "| `batch_size` | how many examples each training step sees, 64 by default |\n"
    )
    chosen = extractive_answer("What is the default learning rate?", [table], SentenceEmbedding())
    assert [c.text for c in chosen] == ["| `lr` | the learning rate of the optimizer, 3e-4 by default |"]


def test_answers_never_carry_markdown_headings_or_rst_underlines():
    bakery = "## Opening hours\nThe bakery opens at seven every morning and closes at six.\n"
    rst = "Opening hours\n=============\n\nThe bakery opens at seven every morning and closes at six.\n"
    for passage in (bakery, rst):
        extracts = extractive_answer("When does the bakery open?", [passage], SentenceEmbedding())
        assert [e.text for e in extracts] == ["The bakery opens at seven every morning and closes at six."]
