"""``genforge embed ...`` end to end on a tiny corpus file, in-process, with tiny budgets."""

from __future__ import annotations

import json
import random

import pytest

from genforge.cli.main import main

ROYAL = ["king", "queen", "man", "woman", "prince", "princess", "crown", "throne", "palace", "royal"]
MOTOR = ["car", "truck", "engine", "road", "wheel", "driver", "fuel", "garage", "automobile", "travel"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = random.Random(0)
    lines = [" ".join(rng.choices(ROYAL if i % 2 else MOTOR, k=10)) for i in range(200)]
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def glove_dir(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "glove"
    argv = ["embed", "train", "glove", "--corpus", f"text:file:{corpus}", "--dim", "8", "--out", str(out)]
    assert (
        main([*argv, "--set", "min_count=1", "--set", "epochs=5", "--set", "batch_size=256", "--json"]) == 0
    )
    return out


def run_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_train_saves_a_loadable_model_and_reports_it(glove_dir):
    assert (glove_dir / "embedding.json").exists() and (glove_dir / "vectors.safetensors").exists()


def test_eval_json_names_wordsim_simlex_analogies_and_oov(glove_dir, capsys):
    result = run_json(capsys, ["embed", "eval", str(glove_dir)])
    assert result["kind"] == "glove"
    assert {"wordsim353", "simlex999", "analogies", "oov_rate"} <= set(result)
    assert result["wordsim353"]["pairs_used"] >= 3


def test_neighbors_and_analogy_print_ranked_words(glove_dir, capsys):
    near = run_json(capsys, ["embed", "neighbors", str(glove_dir), "king", "--k", "3"])
    assert len(near["results"]) == 3 and "king" not in [r["word"] for r in near["results"]]
    answer = run_json(capsys, ["embed", "analogy", str(glove_dir), "king", "man", "woman", "--k", "2"])
    assert answer["query"] == "king - man + woman" and len(answer["results"]) == 2


def test_plot_writes_a_png_and_lists_skipped_words(glove_dir, tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("king queen car truck\nroad notaword\n", encoding="utf-8")
    info = run_json(
        capsys, ["embed", "plot", str(glove_dir), "--words", str(words), "--out", str(tmp_path / "m.png")]
    )
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    assert info["words_skipped"] == ["notaword"]


def test_bench_ranks_the_chosen_methods_and_writes_json(corpus, tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = [
        "embed",
        "bench",
        "--corpus",
        f"text:file:{corpus}",
        "--dim",
        "8",
        "--methods",
        "word2vec-cbow",
        "glove",
    ]
    result = run_json(capsys, [*argv, "--out", str(out)])
    assert [r["rank"] for r in result["ranking"]] == [1, 2]
    assert {r["method"] for r in result["ranking"]} == {"word2vec-cbow", "glove"}
    assert result["ranking"][0]["score"] >= result["ranking"][1]["score"]
    assert json.loads(out.read_text()) == result


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["embed", "eval", "/nonexistent/model"], "no embedding model at"),
        (["embed", "neighbors", "GLOVE", "notaword"], "not in the glove vocabulary"),
        (["embed", "analogy", "GLOVE", "king", "man", "notaword"], "not in the glove vocabulary"),
        (["embed", "train", "glove", "--corpus", "text:file:EMPTY"], "is empty"),
        (["embed", "train", "glove", "--corpus", "text:file:LATIN1"], "not UTF-8"),
        (["embed", "train", "glove", "--corpus", "text:file:DIGITS"], "no word tokens"),
        (["embed", "train", "word2vec", "--set", "bogus=1"], "unknown word2vec option key 'bogus'"),
    ],
)
def test_bad_input_is_a_one_line_error(argv, message, glove_dir, tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("café résumé\n".encode("latin-1"))
    (tmp_path / "digits.txt").write_text("1 2 3\n4 5 6\n", encoding="utf-8")
    paths = {
        "GLOVE": str(glove_dir),
        "EMPTY": str(tmp_path / "empty.txt"),
        "LATIN1": str(tmp_path / "latin1.txt"),
    }
    paths["DIGITS"] = str(tmp_path / "digits.txt")
    argv = [next((a.replace(k, v) for k, v in paths.items() if k in a), a) for a in argv]
    assert main([*argv, "--out", str(tmp_path / "m")] if argv[1] == "train" else argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
