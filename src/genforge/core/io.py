"""Atomic file output and safe tensor serialisation.

Every file genforge writes goes through here: the bytes go to a temporary file in the destination's
directory, are fsynced, then ``os.replace``d over the target, so a crash or Ctrl-C never leaves a
half-written file. Tensors are stored with safetensors and metadata as JSON; nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from genforge.core.errors import CheckpointError, DataError


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(value: Any) -> Any:
    """Convert numpy/torch scalars and paths to plain JSON types (recursively)."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a missing, non-UTF-8 or malformed file is a :class:`CheckpointError` naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{path} is not UTF-8 text (byte {exc.start}): the file is damaged") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_json_object(path: str | os.PathLike) -> dict[str, Any]:
    """:func:`read_json` for files that must hold one JSON object (configs, checkpoint metadata)."""
    value = read_json(path)
    if not isinstance(value, dict):
        raise CheckpointError(f"{path} holds a JSON {_json_type(value)}, not an object: the file is damaged")
    return value


def _json_type(value: Any) -> str:
    names = {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def append_jsonl(path: str | os.PathLike, records: Iterable[Mapping[str, Any]]) -> None:
    """Append whole JSON lines; each line is written with a single ``write`` call and fsynced."""
    lines = "".join(json.dumps(to_jsonable(r)) + "\n" for r in records)
    if not lines:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Yield the objects of one of our own JSON-lines logs.

    A torn last line (a crash in the middle of an append) is skipped; any other damage (bytes that are not
    UTF-8, a line that is not JSON or not an object) is a :class:`CheckpointError` naming file and line.
    """
    path = Path(path)
    if not path.exists():
        return
    lines = path.read_bytes().split(b"\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise CheckpointError(f"{path} line {number} is not UTF-8 text: the file is damaged") from None
        except json.JSONDecodeError:
            if number - 1 == last:
                continue  # torn by a crash while appending
            raise CheckpointError(f"{path} line {number} is not JSON: the file is damaged") from None
        if not isinstance(record, dict):
            raise CheckpointError(
                f"{path} line {number} is a JSON {_json_type(record)}, not an object: the file is damaged"
            )
        yield record


def rewrite_jsonl(path: str | os.PathLike, records: Iterable[Mapping[str, Any]]) -> Path:
    """Replace a JSON-lines file with ``records``, atomically."""
    return atomic_write_text(path, "".join(json.dumps(to_jsonable(r)) + "\n" for r in records))


def read_jsonl_strict(path: str | os.PathLike, what: str = "JSON lines") -> list[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line of a user-supplied JSON-lines file.

    Unlike :func:`read_jsonl` (our own logs, where a torn last line is expected), any problem is a
    :class:`DataError` naming the file and line: a missing file, a line that is not JSON, or a line that is
    not a JSON object. ``what`` names the file's role in the message ("QA file", "labelled file").
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} {path} does not exist")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"{what} {path} is not UTF-8 text ({exc.reason})") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number} is not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}:{number} is not a JSON object")
        records.append((number, record))
    return records


def tensors_to_bytes(tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None) -> bytes:
    """A flat name -> torch.Tensor mapping as safetensors bytes."""
    from safetensors.torch import save

    contiguous = {name: t.detach().contiguous().cpu() for name, t in tensors.items()}
    return save(contiguous, metadata=dict(metadata) if metadata else None)


def save_tensors(
    path: str | os.PathLike, tensors: Mapping[str, Any], metadata: Mapping[str, str] | None = None
) -> Path:
    """Save a flat name -> torch.Tensor mapping as safetensors, atomically."""
    return atomic_write_bytes(path, tensors_to_bytes(tensors, metadata))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_tensors(path: str | os.PathLike, sha256: str | None = None) -> dict[str, Any]:
    """Load a safetensors file into CPU tensors; a missing or corrupt file, or one whose SHA-256 differs
    from ``sha256`` (when given), is a CheckpointError."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    if sha256 is not None and sha256_hex(data) != sha256:
        raise CheckpointError(f"{path} does not match the SHA-256 recorded for it: the file is damaged")
    try:
        return load(data)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file ({exc})") from exc


def flatten_state(state: Any, prefix: str) -> tuple[dict[str, Any], Any]:
    """Split a nested state (e.g. ``optimizer.state_dict()``) into tensors and a JSON skeleton.

    Tensors are replaced by ``{"__tensor__": name}`` references; :func:`unflatten_state` reverses it.
    """
    import torch

    tensors: dict[str, Any] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, torch.Tensor):
            tensors[path] = node
            return {"__tensor__": path}
        if isinstance(node, Mapping):
            return {"__keys__": [[_key(k), walk(v, f"{path}.{k}")] for k, v in node.items()]}
        if isinstance(node, list | tuple):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(node)]
        return to_jsonable(node)

    return tensors, walk(state, prefix)


def _key(key: Any) -> Any:
    return {"int": key} if isinstance(key, int) else key


def unflatten_state(skeleton: Any, tensors: Mapping[str, Any]) -> Any:
    if isinstance(skeleton, dict) and "__tensor__" in skeleton:
        return tensors[skeleton["__tensor__"]]
    if isinstance(skeleton, dict) and "__keys__" in skeleton:
        out = {}
        for key, value in skeleton["__keys__"]:
            out[key["int"] if isinstance(key, dict) else key] = unflatten_state(value, tensors)
        return out
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    return skeleton
