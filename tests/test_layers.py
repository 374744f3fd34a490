"""The layering of docs/architecture.md holds: no module imports a package from a higher layer."""

import ast
from pathlib import Path

import genforge

LAYERS = {
    "core": 0,
    "models": 1,
    "nn": 1,
    "data": 1,
    "train": 2,
    "sample": 2,
    "metrics": 2,
    "embed": 2,
    "pipelines": 3,
    "rag": 3,
    "guard": 3,
    "cli": 4,
    "serve": 4,
}
ROOT = Path(genforge.__file__).parent


def _imported_modules(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def test_every_subpackage_is_in_a_layer():
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS), f"add {sorted(packages - set(LAYERS))} to a layer"


def test_no_module_imports_from_a_higher_layer():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        own = LAYERS.get(parts[0]) if len(parts) > 1 else None
        if own is None:
            continue
        for lineno, module in _imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            names = module.split(".")
            if names[0] == "genforge" and len(names) > 1 and LAYERS.get(names[1], -1) > own:
                upward.append(f"{path.relative_to(ROOT)}:{lineno} imports {module}")
    assert upward == []
