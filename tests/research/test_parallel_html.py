"""``sweep show NAME --html FILE``: interactive parallel coordinates, one offline page, brushed in the real
headless Chromium (Playwright, the studio tests' browser settings)."""

import importlib.util
import json
from pathlib import Path

import pytest

from genforge.cli.main import main
from genforge.research.parallel_html import page_data, parallel_coordinates_html
from genforge.research.sweep import study_summary

_KIT = Path(__file__).resolve().parents[1] / "serve" / "studio" / "studio_testkit.py"
_spec = importlib.util.spec_from_file_location("studio_testkit_for_research", _KIT)
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)
TOP, H, STEP, LEFT = 30, 360, 160, 60  # the page's layout constants


@pytest.fixture(scope="module")
def browser():
    if not Path(kit.CHROMIUM).exists():
        pytest.fail(f"{kit.CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=kit.CHROMIUM, headless=True, args=kit.CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page_file(uninterrupted, tmp_path, capsys):
    out = tmp_path / "pc.html"
    assert (
        main(["sweep", "show", "plain", "--studies", str(uninterrupted), "--html", str(out), "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["html"] == str(out)
    return out, study_summary("plain", uninterrupted)


def test_the_page_is_offline_and_regenerates_byte_for_byte(page_file):
    out, summary = page_file
    text = out.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    assert "<link" not in text and "src=" not in text  # no external asset of any kind
    assert parallel_coordinates_html(summary) == text


def test_brushing_an_axis_keeps_the_trials_in_its_range(page_file, browser):
    out, summary = page_file
    data = page_data(summary)
    complete = [t for t in summary["trials"] if t["state"] == "complete"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(out.as_uri())
    assert page.locator("path.trial").count() == len(complete) == len(data["trials"])
    assert page.locator("#count").inner_text() == f"{len(complete)} of {len(complete)} trials shown"
    # brush the objective axis around the best trial: only trials whose objective lies in the band stay
    axis = len(data["axes"]) - 1
    best = next(t for t in data["trials"] if t["best"])
    lo, hi = max(best["pos"][axis] - 0.04, 0.0), min(best["pos"][axis] + 0.04, 1.0)
    inside = [t["number"] for t in data["trials"] if lo <= t["pos"][axis] <= hi]
    box = page.locator("#pc").bounding_box()
    px = box["x"] + LEFT + axis * STEP
    page.mouse.move(px, box["y"] + TOP + (1 - hi) * H)
    page.mouse.down()
    page.mouse.move(px, box["y"] + TOP + (1 - lo) * H, steps=4)
    page.mouse.up()
    assert page.locator("#count").inner_text() == f"{len(inside)} of {len(complete)} trials shown"
    kept = page.locator("#rows tr td:first-child").all_inner_texts()
    assert sorted(int(k) for k in kept) == sorted(inside) and best["number"] in inside
    assert page.locator("path.trial.off").count() == len(complete) - len(inside)
    page.mouse.click(px, box["y"] + TOP + H / 2)  # a click clears the axis
    assert page.locator("#count").inner_text() == f"{len(complete)} of {len(complete)} trials shown"
    page.screenshot(path=str(out.with_suffix(".png")))
    page.close()
    assert errors == []
