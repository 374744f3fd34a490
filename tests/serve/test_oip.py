"""Open Inference Protocol v2 for the vae run: metadata, readiness, the four operations, PNG output."""

import base64
import io

import pytest
from PIL import Image


@pytest.fixture(scope="module")
def http(server):
    with server.client() as client:
        yield client


def infer(http, body, name="vae-digits"):
    return http.post(f"/v2/models/{name}/infer", json=body)


def test_server_and_model_metadata_follow_the_protocol(http):
    assert http.get("/v2").json()["name"] == "genforge"
    assert http.get("/v2/health/live").status_code == 200 and http.get("/v2/health/ready").status_code == 200
    meta = http.get("/v2/models/vae-digits").json()
    assert meta["name"] == "vae-digits" and meta["versions"]
    assert {i["name"]: i["datatype"] for i in meta["inputs"]} == {"x": "INT64", "z": "FP32"}
    version = meta["versions"][0]
    assert http.get(f"/v2/models/vae-digits/versions/{version}").json()["name"] == "vae-digits"
    assert http.get("/v2/models/vae-digits/ready").json() == {"name": "vae-digits", "ready": True}
    assert http.get("/v2/models/vae-digits/versions/999999/ready").status_code == 404


def test_sampling_is_repeatable_by_seed_and_shaped_like_the_data(http):
    def sample(seed):
        r = infer(http, {"parameters": {"operation": "sample", "n": 3, "seed": seed, "temperature": 0.8}})
        assert r.status_code == 200, r.text
        return r.json()["outputs"][0]

    first, again, other = sample(1), sample(1), sample(2)
    assert first["name"] == "images" and first["datatype"] == "FP32" and first["shape"] == [3, 1, 8, 8]
    assert len(first["data"]) == 3 * 64 and all(0 <= v <= 1 for v in first["data"])
    assert first["data"] == again["data"] and first["data"] != other["data"]


def test_decode_then_encode_and_log_prob_in_bits_per_dim(http):
    meta = http.get("/v2/models/vae-digits").json()
    latent = next(i for i in meta["inputs"] if i["name"] == "z")["shape"][1]
    z = {"name": "z", "shape": [2, latent], "datatype": "FP32", "data": [0.1] * (2 * latent)}
    images = infer(http, {"inputs": [z]}).json()["outputs"][0]
    levels = [round(v * 16) for v in images["data"]]
    x = {"name": "x", "shape": [2, 1, 8, 8], "datatype": "INT64", "data": levels}
    encoded = infer(http, {"inputs": [x]}).json()["outputs"][0]
    assert encoded["name"] == "z" and encoded["shape"] == [2, latent]
    bpd = infer(http, {"inputs": [x], "parameters": {"operation": "log_prob", "seed": 0}}).json()["outputs"][
        0
    ]
    assert bpd["name"] == "bits_per_dim" and bpd["shape"] == [2] and all(0 < v < 10 for v in bpd["data"])
    as_uint8 = infer(
        http, {"inputs": [{**x, "datatype": "UINT8"}], "parameters": {"operation": "log_prob", "seed": 0}}
    )
    assert as_uint8.json()["outputs"][0]["data"] == bpd["data"]
    nested = {
        **x,
        "data": [[[levels[i * 64 + r * 8 : i * 64 + r * 8 + 8] for r in range(8)]] for i in range(2)],
    }
    assert infer(http, {"inputs": [nested]}).json()["outputs"][0]["data"] == encoded["data"]


def test_png_output_is_a_bytes_tensor_of_png_files(http):
    r = infer(http, {"parameters": {"operation": "sample", "n": 2, "seed": 0}, "outputs": [{"name": "png"}, {"name": "images"}]})  # fmt: skip
    png, images = r.json()["outputs"]
    assert png["datatype"] == "BYTES" and png["shape"] == [2]
    picture = Image.open(io.BytesIO(base64.b64decode(png["data"][0])))
    assert picture.format == "PNG" and picture.size == (8, 8)
    assert images["shape"] == [2, 1, 8, 8]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"inputs": [{"name": "z", "shape": [1, 2], "datatype": "INT64", "data": [1, 2]}]}, "FP32"),
        (
            {"inputs": [{"name": "z", "shape": [1, 3], "datatype": "FP32", "data": [1.0, 2.0]}]},
            "holds 3 values",
        ),
        (
            {"inputs": [{"name": "z", "shape": [1, 2], "datatype": "FP99", "data": [1.0, 2.0]}]},
            "unknown datatype",
        ),
        (
            {"inputs": [{"name": "x", "shape": [1, 1, 8, 8], "datatype": "UINT8", "data": [300] * 64}]},
            "UINT8",
        ),
        (
            {"inputs": [{"name": "x", "shape": [1, 1, 8, 8], "datatype": "INT64", "data": [99] * 64}]},
            "levels 0..16",
        ),
        (
            {"inputs": [{"name": "x", "shape": [1, 64], "datatype": "INT64", "data": [1] * 64}]},
            "shape [N, 1, 8, 8]",
        ),
        ({"inputs": [{"name": "w", "shape": [1], "datatype": "FP32", "data": [1.0]}]}, "input(s)"),
        ({"parameters": {"operation": "sample", "n": 1000}}, "parameters.n"),
        ({"parameters": {"operation": "sample", "seed": "one"}}, "parameters.seed"),
        ({"parameters": {"operation": "dance"}}, "dance"),
        ({"parameters": {"operation": "sample"}, "outputs": [{"name": "z"}]}, "output 'z'"),
    ],
)
def test_bad_tensors_are_400_naming_the_problem(http, body, names):
    r = infer(http, body)
    assert r.status_code == 400, r.text
    assert names in r.json()["error"]


def test_nan_in_a_tensor_is_400(http):
    raw = '{"inputs": [{"name": "z", "shape": [1, 2], "datatype": "FP32", "data": [NaN, 1.0]}]}'
    r = http.post("/v2/models/vae-digits/infer", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "NaN" in r.json()["error"]


def test_an_unknown_image_model_is_404_listing_what_is_served(http):
    r = infer(http, {}, name="nope")
    assert r.status_code == 404 and "vae-digits" in r.json()["error"]
