"""The layering of docs/architecture.md holds: no module imports a package from a higher layer (at module
level or inside a function), and no two packages of one layer import each other."""

import ast
from pathlib import Path

import genforge

LAYERS = {
    "core": 0,
    "models": 1, "nn": 1, "data": 1,
    "trainer": 2, "samplers": 2, "render": 2, "metrics": 2, "embed": 2, "text": 2, "rl": 2, "meta": 2,
    "pipelines": 3, "rag": 3, "guard": 3, "fairness": 3, "privacy": 3, "research": 3, "deploy": 3,
    "tabular": 3,
    "cli": 4, "serve": 4,
}  # fmt: skip
LAYERS["transfer"] = 2  # LoRA + MiniLM fine-tuning (engine); run-level fine-tuning is pipelines/finetune.py
ROOT = Path(genforge.__file__).parent


def _imported_modules(tree: ast.AST):
    """Every ``genforge.*`` import anywhere in the module (``ast.walk`` reaches function bodies)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def _package_imports():
    """``(path, lineno, own package, imported package)`` for imports between genforge's subpackages."""
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if len(parts) < 2 or parts[0] not in LAYERS:
            continue
        for lineno, module in _imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            names = module.split(".")
            if names[0] == "genforge" and len(names) > 1 and names[1] in LAYERS and names[1] != parts[0]:
                yield path.relative_to(ROOT), lineno, parts[0], names[1]


def test_every_subpackage_is_in_a_layer():
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS), f"add {sorted(packages - set(LAYERS))} to a layer"


def test_no_module_imports_from_a_higher_layer():
    upward = [
        f"{path}:{lineno} imports genforge.{target}"
        for path, lineno, own, target in _package_imports()
        if LAYERS[target] > LAYERS[own]
    ]
    assert upward == []


def test_no_two_packages_of_one_layer_import_each_other():
    edges: dict[tuple[str, str], str] = {}
    for path, lineno, own, target in _package_imports():
        if LAYERS[target] == LAYERS[own]:
            edges.setdefault((own, target), f"{path}:{lineno}")
    ties = sorted(
        f"{a} <-> {b} ({edges[a, b]}, {edges[b, a]})" for a, b in edges if (b, a) in edges and a < b
    )
    assert ties == []


def test_no_public_function_shares_its_name_with_a_subpackage():
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages & set(genforge._LAZY) == set()
