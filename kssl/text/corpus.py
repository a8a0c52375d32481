"""An offline English corpus: the docstrings of the Python standard library.

Every Python install carries its standard library as source files, so this
corpus needs no download. Docstrings are read with :mod:`ast` (nothing is
imported or executed), from a sorted list of files in a fixed order, so the
corpus is the same on every run with the same Python version.
"""

from __future__ import annotations

import ast
import os
import sysconfig
from pathlib import Path

from kssl.errors import ArgumentError

# Ten standard-library packages with many, topical docstrings, present in every CPython
# build (tkinter/turtle/idlelib are left out: some Linux distributions ship them apart).
DEFAULT_MODULES = (
    "asyncio",
    "email",
    "http",
    "importlib",
    "logging",
    "multiprocessing",
    "tarfile",
    "typing",
    "unittest",
    "xml",
)
_SKIPPED_FOLDERS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}


def stdlib_root() -> Path:
    """The folder of the running Python's standard library sources."""
    return Path(sysconfig.get_paths()["stdlib"])


def module_files(module: str, root: Path | None = None) -> list[Path]:
    """The ``.py`` files of a top-level standard-library module or package, sorted (tests excluded)."""
    root = stdlib_root() if root is None else Path(root)
    single = root / f"{module}.py"
    if single.is_file():
        return [single]
    package = root / module
    if not (package / "__init__.py").is_file():
        return []
    files = []
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_FOLDERS)
        files.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py"))
    return sorted(files)


def docstrings(path: Path) -> list[str]:
    """The module, class and function docstrings of one source file, whitespace collapsed, in a fixed order."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []  # a file this Python cannot parse contributes nothing
    found = []
    for node in ast.walk(tree):  # breadth-first, deterministic
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            text = ast.get_docstring(node, clean=True)
            if text:
                found.append(" ".join(text.split()))
    return found


def python_docstrings(modules=DEFAULT_MODULES, min_words: int = 5, root: Path | None = None):
    """``(texts, labels, modules)``: each docstring of ``modules`` with at least ``min_words`` words.

    ``labels[i]`` is the index in ``modules`` of the module ``texts[i]`` comes from.
    A docstring that occurs more than once is kept once (its first occurrence).
    Raises :class:`ArgumentError` (argument ``modules``) for a name that is not a
    standard-library module or package of this Python.
    """
    root = stdlib_root() if root is None else Path(root)
    texts, labels, seen = [], [], set()
    for index, module in enumerate(modules):
        files = module_files(module, root)
        if not files:
            raise ArgumentError(
                "modules",
                f"{module!r} is not a module or package of the standard library in {root} (Python files only). "
                f"Pick names such as {', '.join(DEFAULT_MODULES[:4])}.",
            )
        for path in files:
            for text in docstrings(path):
                if len(text.split()) >= min_words and text not in seen:  # no duplicate across the splits
                    seen.add(text)
                    texts.append(text)
                    labels.append(index)
    return texts, labels, list(modules)
