"""Open Inference Protocol (KServe/Triton "v2") for image models: metadata, readiness and ``infer``.

One model, four operations, chosen by ``parameters.operation`` or by the input given:

- ``sample`` (no inputs; parameters ``n``, ``seed``, ``temperature``, ``label``) -> ``images``
- ``encode`` (input ``x``: INT64/INT32/UINT8 levels ``[N, C, H, W]``) -> ``z`` FP32 ``[N, latent]``
- ``decode`` (input ``z``: FP32/FP64 ``[N, latent]``) -> ``images`` FP32 ``[N, C, H, W]`` in [0, 1]
- ``log_prob`` (input ``x``) -> ``bits_per_dim`` FP32 ``[N]``

Ask for the output ``png`` (in ``outputs``) to get the images as PNG files: a BYTES tensor ``[N]`` whose
elements are base64 strings (JSON has no raw bytes; its ``parameters.content_type`` says so). Tensor data
may be flat (row-major) or nested; its element count must equal the product of ``shape``.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import torch
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from genforge.pipelines.inference import BATCHABLE_OPERATIONS, images_to_png, latent_shape
from genforge.serve.errors import ApiError
from genforge.serve.state import ServerState

router = APIRouter(prefix="/v2")
INTEGER_TYPES = {"UINT8": (0, 255), "INT32": (-(2**31), 2**31 - 1), "INT64": (-(2**63), 2**63 - 1)}
FLOAT_TYPES = ("FP32", "FP64")
ALL_TYPES = ("BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES")  # fmt: skip
MAX_ELEMENTS = 50_000_000


class Tensor(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, Any] | None = None


class RequestedOutput(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: list[Tensor] = Field(default_factory=list)
    outputs: list[RequestedOutput] | None = None


def _state(request: Request) -> ServerState:
    return request.app.state.serve


def _flatten(data: list[Any]) -> list[Any]:
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def to_tensor(t: Tensor, allowed: tuple[str, ...]) -> torch.Tensor:
    """An OIP JSON tensor as a torch tensor, checked against its declared datatype and shape."""
    if t.datatype not in ALL_TYPES:
        raise ApiError(
            400, f"input '{t.name}': unknown datatype {t.datatype!r} (OIP types: {', '.join(ALL_TYPES)})"
        )
    if t.datatype not in allowed:
        raise ApiError(400, f"input '{t.name}' must have datatype {' or '.join(allowed)}, got {t.datatype}")
    if any(d < 0 for d in t.shape) or math.prod(t.shape) > MAX_ELEMENTS:
        raise ApiError(400, f"input '{t.name}': shape {t.shape} is negative or too large")
    values = _flatten(t.data)
    if len(values) != math.prod(t.shape):
        raise ApiError(400, f"input '{t.name}': shape {t.shape} holds {math.prod(t.shape)} values but data has {len(values)}")  # fmt: skip
    if t.datatype in FLOAT_TYPES:
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            raise ApiError(400, f"input '{t.name}': {t.datatype} data must be numbers")
        tensor = torch.tensor(values, dtype=torch.float64 if t.datatype == "FP64" else torch.float32)
        if not torch.isfinite(tensor).all():
            raise ApiError(400, f"input '{t.name}' has NaN or infinite values")
        return tensor.reshape(t.shape)
    low, high = INTEGER_TYPES[t.datatype]
    if any(isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high for v in values):
        raise ApiError(400, f"input '{t.name}': {t.datatype} data must be integers in {low}..{high}")
    return torch.tensor(values, dtype=torch.long).reshape(t.shape)


def _operation(body: InferRequest, operations: list[str]) -> str:
    op = body.parameters.get("operation")
    if op is None:
        names = {t.name for t in body.inputs}
        op = "decode" if "z" in names else ("encode" if "encode" in operations else "log_prob") if "x" in names else "sample"  # fmt: skip
    if op not in operations:
        raise ApiError(
            400, f"parameters.operation {op!r} is not offered by this model: {', '.join(operations)}"
        )
    return op


def _param(body: InferRequest, name: str, kind: type, default: Any) -> Any:
    value = body.parameters.get(name, default)
    if value is None or (kind is float and isinstance(value, int) and not isinstance(value, bool)):
        return value if value is None else float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ApiError(400, f"parameters.{name} must be {'an integer' if kind is int else 'a number'}")
    return value


def _metadata(name: str, served) -> dict[str, Any]:
    model = served.obj.model
    shape = list(model.info.shape)
    inputs = [{"name": "x", "datatype": "INT64", "shape": [-1, *shape]}]
    latent = latent_shape(model)
    if latent is not None:
        inputs.append({"name": "z", "datatype": "FP32", "shape": [-1, *latent]})
    outputs = [{"name": "images", "datatype": "FP32", "shape": [-1, *shape]}, {"name": "png", "datatype": "BYTES", "shape": [-1]}]  # fmt: skip
    if model.has("encode"):
        outputs.append({"name": "z", "datatype": "FP32", "shape": [-1, *(latent or ())]})
    if model.has("log_prob"):
        outputs.append({"name": "bits_per_dim", "datatype": "FP32", "shape": [-1]})
    return {
        "name": name,
        "versions": [str(served.details["step"])],
        "platform": f"genforge-{served.family}",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {
            "operations": served.details["operations"],
            "num_levels": model.info.num_levels,
            "num_classes": model.info.num_classes,
        },  # fmt: skip
    }


def _served(request: Request, name: str, version: str | None):
    served = _state(request).model(name, "image", param="name")
    if version is not None and version != str(served.details["step"]):
        raise ApiError(404, f"model {name!r} has version {served.details['step']} only, not {version!r}")
    request.scope["state"]["model"] = name
    return served


@router.get("")
async def server_metadata():
    from genforge import __version__

    return {"name": "genforge", "version": __version__, "extensions": []}


@router.get("/models/{name}")
@router.get("/models/{name}/versions/{version}")
async def model_metadata(name: str, request: Request, version: str | None = None):
    return _metadata(name, _served(request, name, version))


@router.get("/models/{name}/ready")
@router.get("/models/{name}/versions/{version}/ready")
async def model_ready(name: str, request: Request, version: str | None = None):
    _served(request, name, version)
    return {"name": name, "ready": True}


@router.post("/models/{name}/infer")
@router.post("/models/{name}/versions/{version}/infer")
async def infer(name: str, body: InferRequest, request: Request, version: str | None = None):
    state = _state(request)
    served = _served(request, name, version)
    op = _operation(body, served.details["operations"])
    inputs = {t.name: t for t in body.inputs}
    wanted = {"sample": (), "decode": ("z",), "encode": ("x",), "log_prob": ("x",)}[op]
    if set(inputs) != set(wanted):
        raise ApiError(
            400, f"operation '{op}' takes the input(s) {list(wanted) or 'none'}, got {sorted(inputs)}"
        )
    payload: dict[str, Any] = {"model": served.obj.model, "op": op, "x": None}
    if op == "sample":
        payload["n"] = _param(body, "n", int, 1)
        if not 1 <= payload["n"] <= state.config.max_items:
            raise ApiError(400, f"parameters.n must be 1..{state.config.max_items}, got {payload['n']}")
        payload["seed"] = _param(body, "seed", int, 0)
        payload["temperature"] = _param(body, "temperature", float, 1.0)
        payload["label"] = _param(body, "label", int, None)
    else:
        tensor = inputs[wanted[0]]
        payload["x"] = to_tensor(tensor, FLOAT_TYPES if op == "decode" else tuple(INTEGER_TYPES))
        if len(payload["x"]) > state.config.max_items:
            raise ApiError(400, f"input '{tensor.name}' has {len(payload['x'])} items; the limit is {state.config.max_items}")  # fmt: skip
        if op == "log_prob":
            payload["seed"] = _param(body, "seed", int, 0)
    key = (op, tuple(payload["x"].shape[1:])) if op in BATCHABLE_OPERATIONS else None
    result = await state.result(state.submit(name, payload, key))
    return {
        "model_name": name,
        "model_version": str(served.details["step"]),
        "id": body.id or "",
        "parameters": {"operation": op},
        "outputs": _outputs(op, result, body.outputs),
    }


def _outputs(op: str, result: torch.Tensor, requested: list[RequestedOutput] | None) -> list[dict[str, Any]]:
    main = {"sample": "images", "decode": "images", "encode": "z", "log_prob": "bits_per_dim"}[op]
    names = [o.name for o in requested] if requested else [main]
    allowed = {main, "png"} if main == "images" else {main}
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ApiError(
            400, f"output {unknown[0]!r} is not produced by '{op}': ask for {', '.join(sorted(allowed))}"
        )
    out = []
    for name in names:
        if name == "png":
            pngs = [base64.b64encode(p).decode("ascii") for p in images_to_png(result)]
            out.append({"name": "png", "datatype": "BYTES", "shape": [len(pngs)], "data": pngs, "parameters": {"content_type": "image/png;base64"}})  # fmt: skip
        else:
            out.append({"name": name, "datatype": "FP32", "shape": list(result.shape), "data": result.flatten().tolist()})  # fmt: skip
    return out
