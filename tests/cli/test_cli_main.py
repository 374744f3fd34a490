import json
import subprocess
import sys

GF = [sys.executable, "-m", "genforge.cli.main"]


def run(*args, cwd=None):
    return subprocess.run([*GF, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_lists_commands_without_importing_torch():
    code = (
        "import sys, contextlib, io\n"
        "from genforge.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('torch' in sys.modules, 'train' in out.getvalue())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "True"]


def test_data_list_json_names_builtin_datasets():
    out = run("data", "list", "--json")
    assert out.returncode == 0, out.stderr
    specs = {row["spec"]: row for row in json.loads(out.stdout)["datasets"]}
    assert specs["digits"]["sizes"] == {"train": 1257, "val": 270, "test": 270}
    assert specs["toy2d:moons"]["shape"] == [2]


def test_bad_inputs_are_one_line_errors_with_exit_2(tmp_path):
    cases = [
        ("train", "no-such-family", "--data", "digits", "--out", str(tmp_path)),
        ("train", "tiny", "--data", "folder:/nonexistent/dir", "--max-steps", "1", "--out", str(tmp_path)),
        ("runs", "show", "nope", "--runs", str(tmp_path)),
        ("sample", str(tmp_path)),
        ("train", "--resume", str(tmp_path / "missing")),
    ]
    for args in cases:
        out = run(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, out.stderr)
        assert "Traceback" not in out.stderr
    assert not any(tmp_path.iterdir())


def test_runs_list_on_empty_directory(tmp_path):
    out = run("runs", "list", "--runs", str(tmp_path / "none"), "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == {"runs": []}
