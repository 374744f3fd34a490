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


def test_a_lookup_from_another_thread_waits_for_the_modules_being_imported(tmp_path, monkeypatch):
    import sys
    import threading

    import genforge.core.registry as registry_module

    slow = Registry("thing", ["slow_registering_module"])
    monkeypatch.setattr(registry_module, "SLOW_FOR_TEST", slow, raising=False)
    (tmp_path / "slow_registering_module.py").write_text(
        "import time\nimport genforge.core.registry as r\ntime.sleep(0.3)\nr.SLOW_FOR_TEST.register('late')(1)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = []
    threads = [threading.Thread(target=lambda: found.append(slow.get("late").name)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sys.modules.pop("slow_registering_module", None)
    assert found == ["late", "late"]
