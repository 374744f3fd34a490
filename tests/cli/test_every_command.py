"""The README's promises, checked on every command the CLI has: ``--help`` exits 0, ``--seed`` and
``--json`` are accepted, and a bad input is one error (``{"error": {...}}`` on stdout with ``--json``,
one ``error:`` line on stderr without it) with exit 2 and no traceback."""

import argparse
import contextlib
import io
import json

import pytest

from genforge.cli.main import COMMANDS, _parser, leaf_parsers, main


def _leaf_commands() -> list[tuple[str, ...]]:
    commands = []
    for name in COMMANDS:
        root = _parser(name)
        sub = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
        for leaf in leaf_parsers(sub.choices[name]):
            commands.append(tuple(leaf.prog.split()[1:]))
    return commands


LEAVES = _leaf_commands()


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _bad_inputs(tmp) -> dict[tuple[str, ...], list[str]]:
    """For every command, arguments that must fail with a clear error (a missing file, run or store)."""
    missing = str(tmp / "missing")
    store = ["--store", missing]
    return {
        ("data", "list"): ["--runs-nope"],
        ("data", "show"): ["folder:" + missing],
        ("train",): ["vae", "--data", "folder:" + missing, "--out", str(tmp / "runs")],
        ("sample",): [missing],
        ("eval",): [missing],
        ("runs", "list"): ["--bogus"],
        ("runs", "show"): [missing],
        ("runs", "plot"): [missing],
        ("generate",): [missing, "--prompt", "x"],
        ("translate",): [missing, "text"],
        ("metrics", "fd"): [missing + ".npz", missing + ".npz"],
        ("metrics", "kid"): [missing + ".npz", missing + ".npz"],
        ("metrics", "prdc"): [missing + ".npz", missing + ".npz"],
        ("metrics", "mmd"): [missing + ".npz", missing + ".npz"],
        ("metrics", "is"): [missing + ".npz"],
        ("metrics", "psnr"): [missing + ".npz", missing + ".npz"],
        ("metrics", "ssim"): [missing + ".npz", missing + ".npz"],
        ("metrics", "ms-ssim"): [missing + ".npz", missing + ".npz"],
        ("metrics", "lpips"): [missing + ".npz", missing + ".npz"],
        ("metrics", "classify"): [missing, missing],
        ("metrics", "text"): [missing],
        ("metrics", "pr-curve"): [missing, missing],
        ("metrics", "list"): ["--bogus"],
        ("metrics", "extractors"): ["--bogus"],
        ("report",): [missing],
        ("embed", "train"): ["word2vec", "--corpus", "text:file:" + missing, "--out", str(tmp / "emb")],
        ("embed", "neighbors"): [missing, "word"],
        ("embed", "analogy"): [missing, "a", "b", "c"],
        ("embed", "eval"): [missing],
        ("embed", "bench"): ["--corpus", "text:file:" + missing],
        ("embed", "plot"): [missing],
        ("rag", "index"): [missing, *store],
        ("rag", "search"): ["query", *store],
        ("rag", "ask"): ["question", *store],
        ("rag", "eval"): [missing, *store],
        ("rag", "stats"): store,
        ("guard", "check"): ["text", "--policy", missing],
        ("guard", "policy"): ["--bogus"],
        ("guard", "eval"): [missing],
        ("guard", "train"): ["--data", missing, "--out", "never-written"],
        ("guard", "calibrate"): [missing],
        ("demo",): ["--steps", "0", "--out", str(tmp / "demo")],
        ("fairness", "audit"): ["--predictions", missing + ".csv", "--sensitive", "sex"],
        ("fairness", "mitigate"): ["--data", "csv:" + missing, "--sensitive", "sex"],
        ("privacy", "mia"): [missing],
        ("card",): [missing],
        ("pii", "scan"): [missing + ".csv"],
        ("pii", "redact"): [missing + ".csv", "--out", str(tmp / "clean.csv")],
        ("rl", "train"): ["ppo", "--env", "NoSuchEnv-v0", "--out", str(tmp / "runs")],
        ("rl", "eval"): [missing],
        ("rl", "tune"): [missing, "--reward", "guard", "--out", str(tmp / "runs")],
        ("meta", "train"): ["maml", "--task", "cosine", "--out", str(tmp / "runs")],
        ("meta", "eval"): [missing],
        ("compare",): [missing, missing, "--metric", "val_loss"],
        ("repeat",): [missing, "--seeds", "2"],
        ("sweep", "run"): ["vae", "--data", "digits", "--space", missing, "--studies", str(tmp / "studies")],
        ("sweep", "resume"): ["nope", "--studies", str(tmp / "studies")],
        ("sweep", "show"): ["nope", "--studies", str(tmp / "studies")],
        ("reproduce",): [missing + ".html"],
        ("papers", "index"): [missing, "--store", str(tmp / "papers")],
        ("papers", "list"): ["--store", missing],
        ("papers", "ask"): ["what?", "--store", missing],
        ("papers", "table"): ["--store", missing, "--out", str(tmp / "tables.csv")],
        ("papers", "graph"): ["--store", missing, "--out", str(tmp / "graph.png")],
        ("track", "export"): [missing, "--to", f"mlflow:sqlite:///{tmp / 'mlflow.db'}"],
        ("track", "import"): ["wandb:x", "--experiment", "e", "--out", str(tmp / "imported")],
        ("serve",): [missing, "--port", "0", "--embeddings", "none"],
        ("keys", "add"): ["no spaces allowed", "--api-keys", str(tmp / "keys.json")],
        ("studio",): ["--store", missing],
        ("deploy", "docker"): ["--set", "name=Not_A_Name", "--out", str(tmp / "deploy")],
        ("deploy", "k8s"): ["--replicas", "0", "--out", str(tmp / "k8s")],
        ("deploy", "check"): [missing],
        ("db", "start"): ["--dir", "/proc/genforge-db"],
        ("db", "stop"): ["--dir", missing],
        ("tabular", "train"): ["tvae", "--data", "csv:" + missing, "--out", str(tmp / "runs")],
        ("tabular", "sample"): [missing],
        ("tabular", "impute"): [missing + ".csv", "--run", missing, "--out", str(tmp / "filled.csv")],
        ("tabular", "report"): [missing],
        ("clip", "train"): ["--data", "digits", "--out", str(tmp / "runs")],
        ("clip", "zeroshot"): [missing],
        ("clip", "score"): [missing, "--clip", missing],
        ("data", "make"): ["scenes", "--canvas", "16", "--out", str(tmp / "scenes")],
        ("finetune",): ["embed", "--pairs", missing + ".jsonl", "--out", str(tmp / "runs")],
        ("segment", "classical"): [missing],
    }


def test_the_bad_input_table_covers_every_command(tmp_path):
    assert sorted(_bad_inputs(tmp_path)) == sorted(LEAVES)


@pytest.mark.parametrize("command", LEAVES, ids=" ".join)
def test_help_exits_0_and_lists_seed_and_json(command):
    code, out, _ = _run([*command, "--help"])
    assert code == 0
    assert "--seed" in out and "--json" in out


@pytest.mark.parametrize("command", LEAVES, ids=" ".join)
def test_bad_input_is_one_json_error_with_json_and_one_line_without(command, tmp_path):
    args = [*command, *_bad_inputs(tmp_path)[command]]
    code, out, err = _run([*args, "--seed", "3", "--json"])
    assert code == 2, (args, out, err)
    error = json.loads(out)["error"]
    assert error["type"] and error["message"] and "\n" not in error["message"]
    assert "Traceback" not in err
    code, out, err = _run(args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for family, data in (("vae", "digits"), ("gpt", "text:lee")):
        code, out, err = _run([
            "train", family, "--data", data, "--max-steps", "3", "--out", str(root), "--quiet", "--json",
        ])  # fmt: skip
        assert code == 0, err
        runs[family] = json.loads(out)["run"]
    return runs


def _outputs(argv: list[str], out_file) -> bytes:
    code, out, err = _run(argv)
    assert code == 0, err
    return out_file.read_bytes() if out_file is not None else out.encode()


def test_seed_makes_sampling_and_generation_repeatable_and_changes_them(tiny_runs, tmp_path):
    grid = tmp_path / "grid.png"
    sample = ["sample", tiny_runs["vae"], "-n", "16", "--out", str(grid), "--seed"]
    generate = ["generate", tiny_runs["gpt"], "--prompt", "The", "--max-tokens", "20", "--seed"]
    for argv, out_file in ((sample, grid), (generate, None)):
        first, again, other = (_outputs([*argv, seed], out_file) for seed in ("1", "1", "2"))
        assert first == again
        assert first != other
