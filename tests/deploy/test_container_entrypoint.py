"""The container without a container engine: what `genforge deploy docker`'s image would run, run here.

There is no Docker on our machines, so this test does what the image does, step by step, from the
generated Dockerfile itself: it builds the wheel from the files the builder stage copies, installs it into
a fresh virtual environment, applies the runtime stage's ``ENV``, ``WORKDIR`` and numeric ``USER`` (the
process drops to that uid when the tests run as root), and starts the JSON-form ``ENTRYPOINT`` + ``CMD``
against a run directory. Then the ``HEALTHCHECK`` command must pass, ``/health/ready`` must answer, and
one request of each API must work: OpenAI chat, completions, embeddings and models; the Open Inference
Protocol's infer; Prometheus metrics; a request without a key is refused.

Two substitutions, both named below: the keys file (the image reads it from a mounted Secret) and the
bind address (127.0.0.1 here: a test does not listen on every interface of a shared machine). The
wheel's dependencies come from the project's environment through a ``.pth`` path line (the image
installs them with pip; downloading them again here would take minutes and the network).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest

from genforge.deploy.config import DeployConfig
from genforge.deploy.docker import API_KEYS_FILE, dockerfile_text

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
ROOT = Path(__file__).resolve().parents[2]
GENFORGE = [sys.executable, "-m", "genforge.cli.main"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runtime(dockerfile: str) -> dict:
    """The runtime stage's ENV, WORKDIR, USER, HEALTHCHECK command and ENTRYPOINT + CMD, as written."""
    stage = dockerfile.split(" AS runtime\n", 1)[1].replace("\\\n", " ")
    lines = {
        line.split(" ", 1)[0]: line.split(" ", 1)[1]
        for line in stage.splitlines()
        if line and line[0].isupper()
    }
    env = dict(pair.split("=", 1) for pair in lines["ENV"].split())
    health = json.loads(re.search(r"CMD (\[.*\])$", lines["HEALTHCHECK"]).group(1))
    return {"env": env, "workdir": lines["WORKDIR"], "user": lines["USER"], "health": health,
            "command": json.loads(lines["ENTRYPOINT"]) + json.loads(lines["CMD"])}  # fmt: skip


def _builder_copies(dockerfile: str) -> list[str]:
    """What the builder stage copies from the source tree (``COPY a b c ./`` and ``COPY src ./src``)."""
    names = []
    for line in dockerfile.split(" AS runtime\n", 1)[0].splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            names += line.split()[1:-1]
    return names


def _world_usable(path: Path) -> bool:
    """Every folder above ``path`` and the file itself can be entered/run by any user."""
    return all(p.stat().st_mode & 0o001 for p in [path.resolve(), *path.resolve().parents])


def _interpreter(as_root: bool) -> str:
    """A Python 3.11 for the fresh environment that the image's user may run (the image has its own in
    /usr/local/bin; a root-owned pyenv under /root, as here, is out of a non-root user's reach)."""
    candidates = [Path(sys._base_executable)] + [
        Path(d) / "python3.11" for d in ("/usr/local/bin", "/usr/bin")
    ]
    for candidate in candidates:
        if candidate.exists() and (not as_root or _world_usable(candidate)):
            return str(candidate)
    pytest.skip("no Python 3.11 here that a non-root user can run")


def _run(*args, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, **kw)
    assert out.returncode == 0, out.stderr[-2000:]
    return out


@pytest.mark.slow
def test_the_images_entrypoint_serves_a_run_from_the_installed_wheel_as_its_non_root_user():
    base = Path(tempfile.mkdtemp(prefix="genforge-image-"))  # not pytest's private folder: uid 10001 reads it
    base.chmod(0o755)
    server = None
    try:
        runs = base / "data" / "runs"
        trained = {}
        for family, data in (("gpt", "text:lee"), ("vae", "digits")):
            out = _run(
                *GENFORGE, "train", family, "--data", data, "--max-steps", "5", "--out", runs, "--json"
            )
            trained[family] = json.loads(out.stdout)["run"]
        config = DeployConfig(port=_free_port(), runs=list(trained.values()))
        dockerfile = dockerfile_text(config)
        image = _runtime(dockerfile)

        # builder stage: the wheel of exactly the copied files, installed into a fresh environment
        source = base / "src-tree"
        source.mkdir()
        for name in _builder_copies(dockerfile):
            copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
            kwargs = (
                {"ignore": shutil.ignore_patterns("__pycache__", "*.egg-info")}
                if copy is shutil.copytree
                else {}
            )
            copy(ROOT / name, source / name, **kwargs)
        _run(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            base / "dist",
            source,
        )
        venv = base / "opt" / "venv"
        python = _interpreter(as_root=os.geteuid() == 0)
        _run(python, "-m", "venv", venv)
        (wheel,) = (base / "dist").glob("genforge-*.whl")
        _run(venv / "bin" / "pip", "install", "-q", "--no-deps", "--no-index", wheel)
        site = Path(
            _run(
                venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
            ).stdout.strip()
        )
        (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

        # runtime stage: ENV (PATH onto the fresh environment), WORKDIR, USER, a key from the "Secret"
        env = {
            key: value.replace("/opt/venv", str(venv)).replace("$PATH", "/usr/bin:/bin")
            for key, value in image["env"].items()
        }
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")  # no network here
        where = _run(
            venv / "bin" / "python", "-c", "import genforge; print(genforge.__file__)", env=env
        ).stdout
        assert where.startswith(str(site))  # the wheel, not the project's editable checkout
        workdir = base / image["workdir"].lstrip("/")
        workdir.mkdir(parents=True, exist_ok=True)
        keys = base / "secret" / "keys.json"
        key = _run(*GENFORGE, "keys", "add", "alice", "--api-keys", keys).stdout.strip()
        uid = int(image["user"].split(":")[0])
        as_root = os.geteuid() == 0
        if as_root:  # the mounted Secret is readable by the pod's user
            keys.parent.chmod(0o755)
            os.chown(keys, uid, uid)

        def drop_privileges() -> None:
            if as_root:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)

        command = [part.replace(API_KEYS_FILE, str(keys)) for part in image["command"]]
        assert command[:2] == ["genforge", "serve"] and command.count("0.0.0.0") == 1
        command[command.index("0.0.0.0")] = "127.0.0.1"
        log = (base / "server.log").open("w")
        server = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                  preexec_fn=drop_privileges)  # fmt: skip
        url = f"http://127.0.0.1:{config.port}"
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, (base / "server.log").read_text()[-2000:]
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "not ready in 300 s"
            time.sleep(0.5)
        if as_root:
            status = Path(f"/proc/{server.pid}/status").read_text()
            assert re.search(r"^Uid:\s+(\d+)", status, re.M).group(1) == str(uid)
        assert (
            subprocess.run(
                image["health"], env=env, cwd=workdir, timeout=60, preexec_fn=drop_privileges
            ).returncode
            == 0
        )

        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120)
        assert httpx.get(f"{url}/v1/models", timeout=30).status_code == 401
        models = {m["id"] for m in http.get("/v1/models").json()["data"]}
        assert {"gpt-lee", "minilm"} <= models
        chat = http.post("/v1/chat/completions", json={"model": "gpt-lee", "messages": [{"role": "user", "content": "The"}], "max_tokens": 6, "seed": 1})  # fmt: skip
        assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["role"] == "assistant"
        completion = http.post(
            "/v1/completions", json={"model": "gpt-lee", "prompt": "The", "max_tokens": 6, "seed": 1}
        )
        assert completion.status_code == 200 and completion.json()["usage"]["completion_tokens"] <= 6
        vectors = http.post(
            "/v1/embeddings", json={"model": "minilm", "input": ["a cat"], "encoding_format": "float"}
        )
        assert vectors.status_code == 200 and len(vectors.json()["data"][0]["embedding"]) == 384
        infer = http.post(
            "/v2/models/vae-digits/infer", json={"parameters": {"operation": "sample", "n": 2, "seed": 0}}
        )
        assert infer.status_code == 200 and infer.json()["outputs"][0]["shape"] == [2, 1, 8, 8]
        assert "genforge_requests_total" in http.get("/metrics").text
        http.close()
        server.send_signal(signal.SIGTERM)
        # `docker stop`: uvicorn shuts down gracefully, then re-raises the SIGTERM it caught
        assert server.wait(60) in (0, -signal.SIGTERM)
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(base, ignore_errors=True)
