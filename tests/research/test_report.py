"""Reports of a comparison and of a sweep: self-contained, the record embedded, the command recorded,
and regenerated from the same inputs identical but for the timestamp line."""

import json
import re

from genforge.cli.main import main
from genforge.research.compare import compare
from genforge.research.report import write_research_report


def _without_timestamp(page: str) -> str:
    return re.sub(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "generated -", page)


def _record(page: str) -> dict:
    return json.loads(re.search(r"id='genforge-record'>(.*?)</script>", page, re.S).group(1))


def _check_self_contained(page: str) -> None:
    assert "<img" in page and "data:image/png;base64," in page
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)


def test_comparison_report_is_self_contained_and_regenerates_identically(vae_sets, tmp_path, capsys):
    saved = tmp_path / "comparison.json"
    args = ["compare", str(vae_sets / "a"), str(vae_sets / "b"), "--metric", "val_loss", "--save", str(saved)]
    assert main([*args, "--json"]) == 0
    capsys.readouterr()
    first = write_research_report(f"compare:{saved}", tmp_path / "one.html").read_text()
    assert main(["report", f"compare:{saved}", "--out", str(tmp_path / "two.html"), "--json"]) == 0
    second = (tmp_path / "two.html").read_text()
    assert _without_timestamp(first) == _without_timestamp(second)
    _check_self_contained(first)
    record = _record(first)
    assert record["p_a_better"] == compare(vae_sets / "a", vae_sets / "b", "val_loss").p_a_better
    assert "genforge compare" in record["command"] and "--metric val_loss" in record["command"]
    assert "torch_threads" in first and "bootstrap BCa" in first


def test_sweep_report_lists_every_trial_and_the_command(uninterrupted, tmp_path):
    one = write_research_report("sweep:plain", tmp_path / "one.html", studies=uninterrupted).read_text()
    two = write_research_report("sweep:plain", tmp_path / "two.html", studies=uninterrupted).read_text()
    assert _without_timestamp(one) == _without_timestamp(two)
    _check_self_contained(one)
    assert "genforge sweep run vae --data digits --space space.json" in one
    assert len(_record(one)["trials"]) == 3
    assert (
        one.index("<h2>History") < one.index("<h2>Parameters against the objective") < one.index("<h2>Trials")
    )
    assert one.count("data:image/png;base64,") == 2  # history and parallel coordinates


def test_a_bad_reference_is_one_line(tmp_path, capsys):
    assert main(["report", f"compare:{tmp_path / 'missing.json'}", "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1
    assert not (tmp_path / "r.html").exists()
