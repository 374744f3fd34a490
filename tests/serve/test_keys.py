"""API keys: printed once, stored only as salted hashes, verified by name, damaged files refused."""

import json

import pytest

from genforge.core.errors import ConfigError
from genforge.serve.keys import KeyStore, add_key


def test_a_key_is_stored_only_as_a_salted_hash_and_verifies_to_its_name(tmp_path):
    path = tmp_path / "keys.json"
    alice, _ = add_key("alice", path)
    bob, _ = add_key("bob", path)
    text = path.read_text()
    assert alice not in text and bob not in text
    entries = json.loads(text)["keys"]
    assert [e["name"] for e in entries] == ["alice", "bob"]
    assert entries[0]["salt"] != entries[1]["salt"]
    assert path.stat().st_mode & 0o077 == 0
    store = KeyStore.load(path)
    assert store.verify(alice) == "alice" and store.verify(bob) == "bob"
    assert store.verify(alice[:-1]) is None and store.verify("") is None and store.verify(None) is None
    assert store.verify("x" * 10_000) is None


def test_a_duplicate_or_malformed_name_is_refused(tmp_path):
    path = tmp_path / "keys.json"
    add_key("alice", path)
    with pytest.raises(ConfigError, match="already has a key named"):
        add_key("alice", path)
    with pytest.raises(ConfigError, match="key name"):
        add_key("a b", path)


@pytest.mark.parametrize("content", [b"", b"{", b'{"keys": [{"name": "a"}]}', b'{"keys": [{"name": "a", "salt": "zz", "sha256": "00"}]}', b"\xff\xfe"])  # fmt: skip
def test_a_damaged_key_file_is_one_error_naming_it(tmp_path, content):
    path = tmp_path / "keys.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="keys.json"):
        KeyStore.load(path)
