"""End-to-end language workflows through the CLI entry point on tiny budgets: train, generate, stream,
evaluate, resume, translate with an attention map, and the bad inputs (long prompt, foreign tokenizer).

Commands run in-process through ``genforge.cli.main.main`` (the console script's function) so the suite
does not pay a torch import per command."""

import json
import shutil

import pytest
from tests.torch_threads import one_torch_thread  # noqa: F401  (the fixture pytestmark uses)

TINY_GPT = ["--set", "num_layers=1", "--set", "embed_dim=32", "--set", "num_heads=2", "--block-size", "32"]
PARAGRAPH = (
    "The government said on Tuesday that the new budget would be tabled next week, "
    "after talks with the unions about wages and the price of bread. "
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("language")
    (root / "corpus.txt").write_text(
        "\n\n".join(f"{i}. {PARAGRAPH * 2}" for i in range(30)), encoding="utf-8"
    )
    return root


@pytest.fixture()
def gpt_run(workdir, gf):
    runs = workdir / "runs"
    if not runs.exists():
        code, _, err = gf(
            "train",
            "gpt",
            "--data",
            f"text:file:{workdir / 'corpus.txt'}",
            *TINY_GPT,
            "--max-steps",
            6,
            "--seed",
            0,
            "--set",
            "checkpoint_every=3",
            "--quiet",
            "--out",
            runs,
        )
        assert code == 0, err
    (run,) = runs.iterdir()
    return run


@pytest.mark.slow
def test_gpt_run_generates_reproducibly_streams_and_evaluates(gpt_run, gf):
    assert (gpt_run / "tokenizer.json").exists() and list((gpt_run / "samples").glob("*.txt"))
    args = [
        "generate",
        gpt_run,
        "--prompt",
        "The government",
        "--max-tokens",
        25,
        "--top-p",
        0.9,
        "--temperature",
        0.8,
        "--seed",
        3,
    ]
    code, first, err = gf(*args)
    assert code == 0, err
    assert first.startswith("The government") and "tokens/s" in err
    assert gf(*args, "--stream")[1] == first
    data = json.loads(gf(*args, "--json")[1])
    assert data["text"] == first.rstrip("\n") and data["generated_tokens"] <= 25
    assert data["stopped_by"] in {"max_tokens", "end_of_text"} and data["settings"]["top_p"] == 0.9

    code, out, err = gf("eval", gpt_run, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["family"] == "gpt" and result["bits_per_char"] == pytest.approx(7.674256345162984, rel=1e-4)
    assert result["perplexity"] > 1 and result["bits_per_byte"] == pytest.approx(result["bits_per_char"])


@pytest.mark.slow
def test_gpt_run_resumes_with_its_saved_tokenizer(workdir, gpt_run, gf):
    copy = workdir / "resumed"
    shutil.copytree(gpt_run, copy)
    code, out, err = gf("train", "--resume", copy, "--max-steps", 8, "--quiet")
    assert code == 0, err
    assert "8 steps" in out


@pytest.mark.slow
def test_long_prompts_and_foreign_tokenizers_are_one_line_errors(workdir, gpt_run, gf):
    code, _, err = gf("generate", gpt_run, "--prompt", "x" * 100, "--max-tokens", 3)
    assert code == 2 and "context window" in err
    code, out, _ = gf(
        "generate", gpt_run, "--prompt", "x" * 100, "--max-tokens", 3, "--truncate-prompt", "--json"
    )
    assert code == 0 and json.loads(out)["prompt_truncated_tokens"] > 0

    code, _, err = gf(
        "train",
        "lstm-lm",
        "--data",
        f"text:file:{workdir / 'corpus.txt'}",
        "--tokenizer",
        "bpe",
        "--vocab-size",
        300,
        "--block-size",
        32,
        "--set",
        "embed_dim=16",
        "--set",
        "hidden_dim=16",
        "--set",
        "num_layers=1",
        "--max-steps",
        2,
        "--quiet",
        "--out",
        workdir / "other",
    )
    assert code == 0, err
    (lstm_run,) = (workdir / "other").iterdir()
    mixed = workdir / "mixed"
    shutil.copytree(gpt_run, mixed)
    shutil.copy(lstm_run / "tokenizer.json", mixed / "tokenizer.json")
    code, _, err = gf("generate", mixed, "--prompt", "The")
    assert code == 2 and "another run" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("text:file:EMPTY", "is empty"),
        ("text:file:BLANK", "is empty"),
        ("text:file:LATIN1", "is not UTF-8 text (byte 3)"),
        ("text:dir:LATIN_DIR", "is not UTF-8 text (byte 3)"),
        ("text:dir:NO_TEXT_DIR", "has no non-empty"),
        ("text:file:NO_TEXT_DIR", "is a directory: use text:dir:"),
        ("text:dir:EMPTY", "is a file: use text:file:"),
        ("seq2seq:file:LATIN1", "is not UTF-8 text (byte 3)"),
    ],
)
def test_empty_and_non_utf8_corpora_are_one_line_errors(data, message, tmp_path, gf):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "blank.txt").write_text("  \n\n \t\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait\n\nsecond document\n".encode("latin-1"))
    (tmp_path / "latin").mkdir()
    (tmp_path / "latin" / "a.txt").write_bytes((tmp_path / "latin1.txt").read_bytes())
    (tmp_path / "no_text").mkdir()
    (tmp_path / "no_text" / "image.png").write_bytes(b"\x89PNG")
    paths = {
        "EMPTY": "empty.txt",
        "BLANK": "blank.txt",
        "LATIN1": "latin1.txt",
        "LATIN_DIR": "latin",
        "NO_TEXT_DIR": "no_text",
    }
    name = data.rsplit(":", 1)[1]
    data = data.replace(name, str(tmp_path / paths[name]))
    family = "seq2seq" if data.startswith("seq2seq") else "gpt"
    code, _, err = gf(
        "train", family, "--data", data, "--max-steps", 1, "--quiet", "--out", tmp_path / "runs"
    )
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # no half-made run


@pytest.mark.slow
def test_a_run_generates_and_translates_after_its_training_data_is_deleted(tmp_path, gf):
    corpus = tmp_path / "gone.txt"
    corpus.write_text("\n\n".join(f"{i}. {PARAGRAPH}" for i in range(12)), encoding="utf-8")
    pairs = tmp_path / "gone.tsv"
    pairs.write_text("".join(f"{i}\t{'I' * (i % 4 + 1)}\n" for i in range(40)), encoding="utf-8")
    code, _, err = gf(
        "train",
        "gru-lm",
        "--data",
        f"text:file:{corpus}",
        "--block-size",
        16,
        "--set",
        "embed_dim=8",
        "--set",
        "hidden_dim=8",
        "--set",
        "num_layers=1",
        "--max-steps",
        2,
        "--quiet",
        "--out",
        tmp_path / "lm",
    )
    assert code == 0, err
    code, _, err = gf(
        "train",
        "seq2seq",
        "--data",
        f"seq2seq:file:{pairs}",
        "--set",
        "embed_dim=8",
        "--set",
        "hidden_dim=8",
        "--max-steps",
        2,
        "--quiet",
        "--out",
        tmp_path / "s2s",
    )
    assert code == 0, err
    corpus.unlink()
    pairs.unlink()
    (lm_run,) = (tmp_path / "lm").iterdir()
    (s2s_run,) = (tmp_path / "s2s").iterdir()

    code, out, err = gf("generate", lm_run, "--prompt", "The government", "--max-tokens", 5, "--seed", 0)
    assert code == 0, err
    assert out.startswith("The government")
    code, out, err = gf("translate", s2s_run, "12", "--json")
    assert code == 0, err
    assert json.loads(out)["source_tokens"] == ["1", "2"]
    code, _, err = gf("eval", lm_run)  # evaluation does need the data, and says so in one line
    assert code == 2 and "gone.txt" in err and len(err.strip().splitlines()) == 1

    (lm_run / "tokenizer.json").unlink()
    code, _, err = gf("generate", lm_run, "--prompt", "The")
    assert code == 2 and "has no tokenizer.json" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_seq2seq_trains_translates_and_draws_attention(workdir, gf):
    code, _, err = gf(
        "train",
        "seq2seq",
        "--task",
        "roman",
        "--num-examples",
        400,
        "--attention",
        "luong",
        "--max-steps",
        5,
        "--quiet",
        "--set",
        "hidden_dim=32",
        "--set",
        "embed_dim=16",
        "--out",
        workdir / "s2s",
    )
    assert code == 0, err
    (run,) = (workdir / "s2s").iterdir()
    assert json.loads((run / "config.json").read_text())["data"]["options"] == {"num_examples": 400}
    picture = workdir / "attn.png"
    code, out, err = gf("translate", run, "1994", "--attention-map", picture, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data["translation"], str) and data["source_tokens"] == ["1", "9", "9", "4"]
    assert len(data["attention"]) == len(data["output_tokens"])
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = gf("translate", run, "1994", "--attention-map", workdir / "attn.jpg")
    assert code == 0 and (workdir / "attn.jpg").read_bytes()[:3] == b"\xff\xd8\xff", err
    code, out, err = gf("translate", run, "1994", "--attention-map", workdir / "attn.gif")
    assert (code, out) == (2, "") and err == (
        "error: cannot write a picture to attn.gif: use a .png, .jpg/.jpeg or .webp file name\n"
    )
    result = json.loads(gf("eval", run, "--json")[1])
    assert result["exact_match_accuracy"] == 0.0  # five steps: no Roman numeral is right yet
    assert result["nll_nats_per_token"] == pytest.approx(5.48666992300028, rel=1e-4)
    code, _, err = gf("generate", run, "--prompt", "x")
    assert code == 2 and "translate" in err
    # every next-step hint names a command that works for a translator
    code, _, err = gf("sample", run)
    assert (
        code == 2 and err == f'error: a seq2seq run has no samples to draw: genforge translate {run} "TEXT"\n'
    )
    code, _, err = gf("report", run, "--out", workdir / "s2s.html")
    page = (workdir / "s2s.html").read_text(encoding="utf-8")
    assert (
        code == 0 and f"genforge translate {run} &quot;TEXT&quot;" in page and "genforge sample" not in page
    )
