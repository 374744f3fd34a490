"""API keys for ``genforge serve``: created once, stored only as salted hashes, checked in constant time.

A key is 32 random bytes (``secrets.token_urlsafe``) prefixed ``gf-``; it is printed once by
``genforge keys add`` and never stored. The key file (JSON, written atomically with mode 0600) holds per
key its name, a random 16-byte salt and ``sha256(salt + key)``. A salted SHA-256 rather than a slow
password hash is enough here: the keys are random with 256 bits of entropy, so there is nothing to guess,
and a check costs microseconds per request. Checking hashes every stored key with ``hmac.compare_digest``
and never stops early, so the time taken says nothing about which key (or which prefix) was close.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from genforge.core.errors import ConfigError
from genforge.core.io import atomic_write_text
from genforge.core.paths import check_output_dir, check_output_file

KEY_PREFIX = "gf-"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_KEY_FILE_BYTES = 1_000_000
MAX_TOKEN_CHARS = 200


def default_keys_path() -> Path:
    """``$GENFORGE_API_KEYS``, else ``~/.config/genforge/api-keys.json``."""
    env = os.environ.get("GENFORGE_API_KEYS")
    if env:
        return Path(env).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(config) / "genforge" / "api-keys.json"


def _digest(salt: bytes, key: str) -> bytes:
    return hashlib.sha256(salt + key.encode("utf-8")).digest()


@dataclass(frozen=True)
class StoredKey:
    name: str
    salt: bytes
    digest: bytes


class KeyStore:
    """The hashed keys of one key file; :meth:`verify` maps a presented key to its name or None."""

    def __init__(self, keys: list[StoredKey], path: Path | None = None) -> None:
        self.keys = keys
        self.path = path

    @classmethod
    def load(cls, path: str | os.PathLike, *, missing_ok: bool = False) -> KeyStore:
        """Read a key file; a damaged one is a :class:`ConfigError` naming it (no key is ever shown)."""
        path = Path(path)
        if not path.exists():
            if missing_ok:
                return cls([], path)
            raise ConfigError(
                f"no API key file at {path}: create one with 'genforge keys add NAME --api-keys {path}'"
            )
        if path.is_dir() or path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise ConfigError(f"{path} is not an API key file (a folder, or over 1 MB)")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            keys = [
                StoredKey(str(k["name"]), bytes.fromhex(k["salt"]), bytes.fromhex(k["sha256"]))
                for k in raw["keys"]
            ]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path} is not a genforge API key file ({type(exc).__name__}): recreate it with 'genforge keys add'"
            ) from None
        if any(len(k.digest) != 32 or len(k.salt) < 8 for k in keys):
            raise ConfigError(f"{path} has a malformed key entry: recreate it with 'genforge keys add'")
        return cls(keys, path)

    def verify(self, presented: str | None) -> str | None:
        """The name of the key ``presented`` (constant time over all keys), or None."""
        if not presented or len(presented) > MAX_TOKEN_CHARS:
            return None
        match = None
        for key in self.keys:
            if hmac.compare_digest(_digest(key.salt, presented), key.digest):
                match = key.name
        return match

    def names(self) -> list[str]:
        return [k.name for k in self.keys]


def add_key(name: str, path: str | os.PathLike | None = None) -> tuple[str, Path]:
    """Create a key called ``name`` in the key file ``path`` (default :func:`default_keys_path`).

    Returns ``(key, path)``: the key itself exists only in this return value. A name already in the file
    is an error (remove the entry to rotate it).
    """
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"key name {name!r} must be 1-64 letters, digits, '_', '.' or '-'")
    path = Path(path) if path is not None else default_keys_path()
    store = KeyStore.load(path, missing_ok=True)
    if name in store.names():
        raise ConfigError(f"{path} already has a key named {name!r}: choose another name")
    if not path.exists():
        check_output_dir(path.parent)  # a file in the way or an unwritable place: one line, nothing made
        path.parent.mkdir(parents=True, exist_ok=True)
        check_output_file(path)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    entries = [{"name": k.name, "salt": k.salt.hex(), "sha256": k.digest.hex()} for k in store.keys]
    entries.append({"name": name, "salt": salt.hex(), "sha256": _digest(salt, key).hex()})
    atomic_write_text(path, json.dumps({"format": "genforge-api-keys/1", "keys": entries}, indent=1) + "\n")
    os.chmod(path, 0o600)
    return key, path
