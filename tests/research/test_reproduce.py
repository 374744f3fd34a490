"""``reproduce``: a comparison report records every run's config and train command, and training them
again gives the recorded figures to the last bit, inside the recorded intervals; a report whose
intervals the new results miss fails ``--check``."""

import json
import re

from genforge.cli.main import main
from genforge.research.report import write_research_report
from genforge.research.reproduce import read_report_record, reproduce
from tests.research.conftest import one_thread


def _report(vae_sets, tmp_path, capsys):
    saved = tmp_path / "comparison.json"
    args = ["compare", str(vae_sets / "a"), str(vae_sets / "b"), "--metric", "val_loss", "--save", str(saved)]
    assert main([*args, "--json"]) == 0
    capsys.readouterr()
    return write_research_report(f"compare:{saved}", tmp_path / "report.html")


def test_reproducing_a_comparison_gives_the_recorded_figures(vae_sets, tmp_path, capsys):
    report = _report(vae_sets, tmp_path, capsys)
    runs = read_report_record(report)["reproduce"]["runs"]
    assert [(r["side"], r["seed"]) for r in runs] == [
        ("a", 0),
        ("b", 0),
        ("a", 1),
        ("b", 1),
        ("a", 2),
        ("b", 2),
    ]
    assert runs[0]["command"] == (
        "genforge train vae --data digits --seed 0 --max-steps 25 --set train.final_eval=false"
    )
    assert "genforge train vae --data digits --seed 2 --max-steps 2" in report.read_text()
    with one_thread():
        result = reproduce(report, tmp_path / "again")
    assert all(r["identical"] for r in result.runs) and result.outside == []
    assert result.reproduced == result.recorded
    # --check passes; the runs trained above are kept, not trained a second time
    assert main(["reproduce", str(report), "--out", str(tmp_path / "again"), "--check", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["outside"] == [] and len(list((tmp_path / "again" / "a").iterdir())) == 3


def test_check_fails_when_a_result_falls_outside_the_recorded_interval(vae_sets, tmp_path, capsys):
    report = _report(vae_sets, tmp_path, capsys)
    page = report.read_text()
    record = read_report_record(report)
    mean = record["a"]["summary"]["mean"]
    record["a"]["summary"]["ci_t"] = [mean + 1.0, mean + 2.0]  # an interval the mean misses
    embedded = json.dumps(record, sort_keys=True).replace("</", "<\\/")
    page = re.sub(
        r"(id='genforge-record'>).*?(</script>)",
        lambda m: m.group(1) + embedded + m.group(2),
        page,
        flags=re.S,
    )
    report.write_text(page)
    with one_thread():
        code = main(["reproduce", str(report), "--out", str(tmp_path / "again"), "--check", "--json"])
    assert code == 1
    assert json.loads(capsys.readouterr().out)["outside"][0].startswith("side A mean")


def test_what_reproduce_cannot_read_is_one_line(tmp_path, capsys):
    page = tmp_path / "page.html"
    page.write_text("<html>not a report</html>")
    assert main(["reproduce", str(page)]) == 2
    assert "not a genforge research report" in capsys.readouterr().err
    assert main(["reproduce", str(tmp_path / "missing.html")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
