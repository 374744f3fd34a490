"""Freeze genforge's own outputs into tests/golden/behaviour_*.json (see behaviour.py).

    .venv/bin/python tests/golden/make_behaviour_goldens.py [rag|metrics|demo ...]

Run once on main before the structure change (issue 13); re-run only for a deliberate change of a figure,
and say so in the commit.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.golden import behaviour  # noqa: E402

PARTS = {"rag": behaviour.rag_outputs, "metrics": behaviour.metric_outputs, "demo": behaviour.demo_outputs}

if __name__ == "__main__":
    for name in sys.argv[1:] or PARTS:
        with tempfile.TemporaryDirectory() as tmp:
            result = PARTS[name](Path(tmp))
        path = behaviour.HERE / f"behaviour_{name}.json"
        path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {path}")
