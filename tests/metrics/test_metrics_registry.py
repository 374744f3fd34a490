"""The metric registry: a new metric is one file and one registration, and everything that lists or runs
metrics (``genforge metrics`` and its flags, ``metrics list``, ``genforge eval``) finds it from there."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from pydantic import Field

from genforge.cli.main import main
from genforge.core.errors import ConfigError, ModelNotFound
from genforge.data import load_dataset
from genforge.metrics.base import PRECOMPUTED, FeatureMetric, FeatureSource, Options, State, as_features
from genforge.metrics.registry import METRICS, metric_spec, metric_specs, register_metric
from genforge.metrics.run_metrics import evaluate_samples
from genforge.models.base import build_model
from genforge.pipelines.measure import READERS, measure


class MeanGapOptions(Options):
    scale: float = Field(1.0, gt=0, description="multiply the distance by this")


def mean_gap(real: Any, fake: Any, *, source: FeatureSource = PRECOMPUTED, **options: Any) -> dict[str, Any]:
    """Scaled Euclidean distance between the two sets' means (a toy metric for this test)."""
    scale = MeanGapOptions.parse(options, "mean-gap").scale
    real, fake = as_features(real), as_features(fake)
    gap = float(np.linalg.norm(real.mean(0) - fake.mean(0)) * scale)
    return {
        "mean_gap": gap,
        "metric": "mean_gap",
        **source.describe(),
        "n_real": len(real),
        "n_fake": len(fake),
    }


@pytest.fixture
def tiny_metric():
    """A metric defined here, in one place, with one registration: nothing else in genforge names it."""

    @register_metric("mean-gap", kind="feature-set", function=mean_gap, summary="distance between set means")
    class MeanGap(FeatureMetric):
        name = "mean_gap"
        options_class = MeanGapOptions
        states = {"real": State(merge="cat"), "fake": State(merge="cat")}

        def update(self, features: Any, real: bool) -> None:
            (self.real if real else self.fake).append(as_features(features))

        def compute(self) -> dict[str, Any]:
            sets = (np.concatenate(self.real), np.concatenate(self.fake))
            return mean_gap(*sets, source=self.source, **self.options.model_dump())

    yield MeanGap
    METRICS.unregister("mean-gap")


def test_a_metric_registered_in_one_place_is_a_cli_command_with_its_options(tiny_metric, tmp_path, capsys):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(a, features=np.zeros((5, 2)))
    np.savez(b, features=np.full((4, 2), [3.0, 4.0]))
    assert main(["metrics", "list", "--json"]) == 0
    listed = {row["name"]: row for row in json.loads(capsys.readouterr().out)["metrics"]}
    assert listed["mean-gap"]["options"] == {"scale": 1.0}
    assert listed["mean-gap"]["command"] == "genforge metrics mean-gap"
    assert main(["metrics", "mean-gap", str(a), str(b), "--scale", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mean_gap"] == 10.0 and result["real"] == f"{a}[features]"  # |(3, 4)| x 2
    assert main(["metrics", "mean-gap", "--help"]) == 0
    assert (
        " ".join(capsys.readouterr().out.split()).count(
            "--scale SCALE multiply the distance by this (default 1.0)"
        )
        == 1
    )
    assert main(["metrics", "mean-gap", str(a), str(b), "--scale", "-1"]) == 2
    assert "mean-gap option key 'scale'" in capsys.readouterr().err
    streaming = tiny_metric()
    streaming.update(np.zeros((5, 2)), real=True)
    other = tiny_metric().load_state_dict({"real": np.zeros((0,)), "fake": np.full((4, 2), [3.0, 4.0])})
    assert streaming.merge(other).compute()["mean_gap"] == 5.0  # state, merge and round trip for free


def test_a_registered_feature_set_metric_is_computed_by_genforge_eval(tiny_metric):
    dataset = load_dataset("toy2d:moons")
    run = SimpleNamespace(model=build_model("realnvp", {}, dataset.info).eval(), dataset=dataset)
    result = evaluate_samples(run, ["mean-gap"], num_samples=50, seed=0)
    assert result["mean-gap"]["n_fake"] == 50 and result["mean_gap"] == result["mean-gap"]["mean_gap"]
    assert result["mean-gap"]["extractor"] == "points"


def test_an_unregistered_metric_is_one_line_listing_the_registered_names(capsys):
    assert main(["metrics", "fdd", "a.npz", "b.npz"]) == 2
    err = capsys.readouterr().err
    names = ", ".join(s.name for s in metric_specs())
    assert err == f"error: genforge metrics: unknown metric 'fdd' (available: {names}); did you mean 'fd'?\n"
    assert main(["metrics", "zzz", "a.npz", "--json"]) == 2  # errors stay JSON with --json
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["message"] == f"genforge metrics: unknown metric 'zzz' (available: {names})"
    with pytest.raises(ModelNotFound, match="available: classify, fd"):
        measure("fdd", ["a.npz", "b.npz"])
    assert main(["metrics", "nll", "x.npy"]) == 2  # registered, but it measures a model's outputs
    assert "call genforge.metrics.likelihood.negative_log_likelihood" in capsys.readouterr().err


def test_every_kind_with_a_reader_is_a_command_and_option_flags_do_not_collide():
    for spec in metric_specs():
        reader = READERS.get(spec.kind)
        if reader is None:
            assert spec.kind == "likelihood"
            continue
        clash = set(reader.settings) & set(spec.options.model_fields)
        assert not clash, f"{spec.name}: options {clash} clash with the reader's"


def test_registering_a_metric_of_an_unknown_kind_or_a_reserved_name_fails():
    with pytest.raises(ValueError, match="kind"):
        register_metric("x", kind="video", function=mean_gap, summary="")
    with pytest.raises(ValueError, match="subcommand"):
        register_metric("list", kind="text", function=mean_gap, summary="")
    with pytest.raises(ConfigError, match="fd has no option 'k'"):
        measure("fd", ["a.npz", "b.npz"], options={"k": 3})
    assert metric_spec("kid").options.model_fields["subsets"].default == 100
