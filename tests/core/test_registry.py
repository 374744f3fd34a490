import pytest

from genforge.core.errors import ModelNotFound
from genforge.core.registry import Registry


def test_registry_lists_and_finds_entries():
    reg = Registry("widget")

    @reg.register("b", size=2)
    def make_b():
        return "b"

    reg.register("a")(lambda: "a")
    assert reg.names() == ["a", "b"]
    assert reg.get("b").obj() == "b" and reg.get("b").meta == {"size": 2}


def test_unknown_name_lists_available():
    reg = Registry("widget")
    reg.register("only")(object)
    with pytest.raises(ModelNotFound, match=r"unknown widget 'x' \(available: only\)"):
        reg.get("x")


def test_missing_dependency_inside_a_module_is_not_swallowed(tmp_path, monkeypatch):
    (tmp_path / "gf_broken_mod.py").write_text("import a_package_that_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry("widget", modules=["gf_broken_mod"])
    with pytest.raises(ModuleNotFoundError):
        reg.names()
