"""End to end: train a tiny run, evaluate it with sample-based metrics, write its HTML report."""

from __future__ import annotations

import json
import re

import pytest

from genforge.cli.main import main
from genforge.pipelines.training import train


@pytest.mark.slow
def test_eval_with_metrics_then_report_is_self_contained(tmp_path, capsys):
    run = train("vae", "digits", out=tmp_path / "runs", seed=0, max_steps=15).run
    assert main(["eval", str(run.path), "--metrics", "fd,kid,is,prdc,nll", "--n", "300", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    metrics = result["metrics"]
    assert metrics["fd"]["n_fake"] == 300 and metrics["fd"]["extractor"] == "digits"
    assert "bits_per_dim_iwae" in result

    out = tmp_path / "report.html"
    assert main(["report", str(run.path), "--out", str(out)]) == 0
    page = out.read_text()
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page)  # nothing loaded from the network
    assert page.count("data:image/png;base64,") == 2  # sample grid and training curves
    assert "<td>fd_digits</td>" in page and "<td>fid" not in page  # FD-digits is never called FID
    iwae, baseline = result["bits_per_dim_iwae"], result["baseline"]["bits_per_dim"]
    assert f"<strong>bits_per_dim_iwae {iwae:.4f}</strong> against per-pixel baseline {baseline:.4f}" in page
    assert metrics["fd"]["extractor_sha256"][:12] in page
    assert f"<td class='num'>{metrics['fd']['n_real']}</td>" in page
    assert "Model card" in page


def test_report_of_a_missing_run_is_one_error_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope"), "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_report_to_an_unwritable_path_is_one_error_line_before_any_work(tmp_path, capsys):
    run = train("vae", "digits", out=tmp_path / "runs", seed=0, max_steps=2).run
    (tmp_path / "file").write_text("x")
    for out, message in (
        (tmp_path / "missing" / "dir" / "r.html", "does not exist"),
        (tmp_path, "is a folder"),
        (tmp_path / "file" / "r.html", "is a file, not a folder"),
        ("/proc/r.html", "cannot write"),
    ):
        assert main(["report", str(run.path), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "missing").exists()  # the folder is not created
    assert not run.artifact("report.html").exists()
