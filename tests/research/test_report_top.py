"""The report of a ``compare sweep:NAME --top K`` record: the best configurations with their per-seed
values, every pair's probabilities and the picture; regenerated identically but for the timestamp; and
``reproduce --check`` trains its runs again to the recorded figures."""

import json
import re

from genforge.cli.main import main
from genforge.research.report import write_research_report
from genforge.research.reproduce import read_report_record, reproduce
from genforge.research.topk import compare_top
from tests.research.conftest import one_thread
from tests.research.test_report import _check_self_contained, _without_timestamp


def test_top_report_regenerates_identically_and_reproduces(uninterrupted, tmp_path, capsys):
    saved = tmp_path / "top.json"
    args = ["compare", "sweep:plain", "--top", "2", "--seeds", "2", "--studies", str(uninterrupted)]
    with one_thread():
        assert main([*args, "--out", str(tmp_path / "rep"), "--save", str(saved), "--json"]) == 0
    capsys.readouterr()
    first = write_research_report(f"compare:{saved}", tmp_path / "one.html").read_text()
    assert main(["report", f"compare:{saved}", "--out", str(tmp_path / "two.html"), "--json"]) == 0
    second = (tmp_path / "two.html").read_text()
    assert _without_timestamp(first) == _without_timestamp(second)
    _check_self_contained(first)
    saved_record = json.loads(saved.read_text())
    record = read_report_record(tmp_path / "one.html")
    assert record["comparisons"] == saved_record["comparisons"]
    assert record["command"].startswith("genforge compare sweep:plain --top 2 --seeds 2 --metric val_loss")
    # the per-seed table holds each trial's value under each seed, as the pairs recorded them
    (comparison,) = saved_record["comparisons"]
    for pair in comparison["pairs"]:
        for side in ("a", "b"):
            assert f"<td>{pair[side]:.6g}</td>" in first
    assert f"<td>{comparison['p_a_better']:.6g}</td>" in first
    runs = record["reproduce"]["runs"]
    assert sorted((r["side"], r["seed"]) for r in runs) == sorted(
        (f"trial {t['number']}", s) for t in saved_record["trials"] for s in (0, 1)
    )
    with one_thread():
        result = reproduce(tmp_path / "one.html", tmp_path / "again")
    assert all(r["identical"] for r in result.runs) and result.outside == []
    assert result.reproduced == result.recorded and len(result.recorded) == 1
    assert main(["reproduce", str(tmp_path / "one.html"), "--out", str(tmp_path / "again"), "--check"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"P\(\d+ better than \d+\) recorded", out) and "within the recorded intervals" in out


def test_the_api_record_renders_and_a_foreign_record_is_one_line(uninterrupted, tmp_path, capsys):
    with one_thread():
        result = compare_top("plain", 2, root=uninterrupted, seeds=2, out=tmp_path / "rep")
    saved = tmp_path / "top.json"
    saved.write_text(json.dumps(result.to_dict()))
    page = write_research_report(f"compare:{saved}", tmp_path / "r.html").read_text()
    assert "P(row better than column)" not in page  # the picture's text is pixels, not markup
    assert "Every pair" in page and "Each seed" in page
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "something else"}))
    assert main(["report", f"compare:{bad}", "--out", str(tmp_path / "x.html")]) == 2
    assert "not a genforge comparison record" in capsys.readouterr().err
