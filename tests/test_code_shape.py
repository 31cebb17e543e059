"""No function of the package over 60 lines (issue 11 item 8); ruff's C901 (complexity 12)
and PLR0915 (50 statements) keep the rest, configured in pyproject.toml."""

from __future__ import annotations

import ast
from pathlib import Path

import intranet_metrics

PACKAGE = Path(intranet_metrics.__file__).parent
LIMIT = 60


def test_no_function_of_the_package_is_over_60_lines():
    long = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({length} lines)"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (length := node.end_lineno - node.lineno + 1) > LIMIT
    ]
    assert long == []
