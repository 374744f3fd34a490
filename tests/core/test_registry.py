import threading

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


def test_threads_looking_up_during_the_first_import_all_find_the_entry(tmp_path, monkeypatch):
    # the module takes 0.3 s to import: every thread's first lookup must wait for it, not see an empty registry
    (tmp_path / "gf_slow_mod.py").write_text(
        "import time\nfrom gf_slow_registry import REG\ntime.sleep(0.3)\nREG.register('slow', n=1)(object)\n"
    )
    (tmp_path / "gf_slow_registry.py").write_text(
        "from genforge.core.registry import Registry\nREG = Registry('widget', modules=['gf_slow_mod'])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from gf_slow_registry import REG

    found, errors = [], []

    def look_up() -> None:
        try:
            found.append(REG.get("slow").meta)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=look_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and found == [{"n": 1}] * 8


def test_threads_registering_while_others_list_lose_nothing():
    reg = Registry("widget")
    errors = []
    start = threading.Barrier(8)

    def register(base: int) -> None:
        start.wait()
        for i in range(300):
            reg.register(f"w{base}-{i}")(object)

    def read() -> None:
        start.wait()
        try:
            for _ in range(300):
                names = reg.names()
                assert all(name in reg for name in names[:20])
                assert len(reg.entries()) >= len(names)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(b,)) for b in range(4)]
    threads += [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(reg.names()) == 4 * 300
