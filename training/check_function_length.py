#!/usr/bin/env python3
"""Fails (exit 1) if any function or method in training/**/*.py is longer than --max lines (default 100).

    python3 training/check_function_length.py [--max 100] [paths...]
"""
from __future__ import annotations

import argparse
import ast
import os
import sys


def long_functions(path: str, limit: int) -> list:
    tree = ast.parse(open(path).read(), filename=path)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            n = node.end_lineno - start + 1
            if n > limit:
                out.append((path, node.lineno, node.name, n))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max", type=int, default=100)
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args()
    root = os.path.dirname(os.path.abspath(__file__))
    paths = args.paths or [os.path.join(d, f) for d, _, fs in os.walk(root) for f in sorted(fs)
                           if f.endswith(".py") and "__pycache__" not in d]
    bad = [b for p in sorted(paths) for b in long_functions(p, args.max)]
    for path, line, name, n in bad:
        print(f"{os.path.relpath(path)}:{line}: {name} is {n} lines (max {args.max})")
    print(f"{len(paths)} files checked, {len(bad)} functions over {args.max} lines")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
