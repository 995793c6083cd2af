"""The package layering ARCHITECTURE.md describes, enforced on the source.

Each package may import only the packages below it in ``LAYERS``; only ``aws`` talks to botocore;
boto3 appears in ``aws`` alone (and in the sandbox's seeding helpers, which act as a user of the
sandbox would); nothing imports ``cli``; the pure packages import no AWS SDK at all.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ddbexport"

#: Bottom to top. ``errors`` (a module) is below everything; ``testing`` sits beside ``cli``.
LAYERS = (
    "errors",
    "core",
    "config",
    "aws",
    "exports",
    "catalog",
    "planning",
    "running",
    "data",
    "lake",
    "pipeline",
    "sandbox",
    "cli",
)
PURE = ("core", "config", "planning")
#: Modules that stand at the top: the package's own ``__init__``/``__main__`` and test helpers.
TOP = ("__init__", "__main__", "testing")


def _unit(path: Path) -> str:
    """The layer a source file belongs to: its package, or its module name at the top."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every import in the file, relative ones resolved."""
    package = ["ddbexport", *path.relative_to(PACKAGE).parent.parts]
    return _imports_of(path.read_text(encoding="utf-8"), package)


def _imports_of(source: str, package: list[str]) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module
            if module == "ddbexport":  # from ddbexport import x: x may be a package
                for alias in node.names:
                    yield node.lineno, f"ddbexport.{alias.name}"


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _target(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "ddbexport" or len(parts) < 2:
        return None
    return parts[1]


def _upward(unit: str, imports: Iterator[tuple[int, str]]) -> list[str]:
    rank = LAYERS.index(unit)
    return [
        f"line {line}: {module}"
        for line, module in imports
        if (target := _target(module)) is not None
        and target != unit
        and target in LAYERS
        and LAYERS.index(target) > rank
    ]


def test_every_package_is_placed_in_a_layer() -> None:
    units = {_unit(path) for path in _sources()} - set(TOP)
    assert units == set(LAYERS), (
        f"packages not in LAYERS: {sorted(units - set(LAYERS))}; "
        f"layers with no package: {sorted(set(LAYERS) - units)}"
    )


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down_the_layers(path: Path) -> None:
    unit = _unit(path)
    if unit in TOP:
        return  # the top imports what it re-exports; test_nothing_imports_the_cli covers cli
    upward = _upward(unit, _imports(path))
    assert not upward, f"{unit} may import only {LAYERS[: LAYERS.index(unit)]}, not: {upward}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_adapter_talks_to_the_aws_sdk(path: Path) -> None:
    unit = _unit(path)
    sdk = [
        f"line {line}: {module}"
        for line, module in _imports(path)
        if module.split(".")[0] in ("boto3", "botocore")
    ]
    if unit == "aws":
        return
    if unit == "sandbox" and path.name == "seed.py":
        # Seeding creates tables and objects as any user of the sandbox would: with boto3.
        assert all(not item.split(": ")[1].startswith("botocore") for item in sdk), sdk
        return
    assert not sdk, f"{path.relative_to(PACKAGE)} uses the AWS SDK outside ddbexport.aws: {sdk}"


def test_pure_packages_do_no_aws_io() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} line {line}: {module}"
        for path in _sources()
        if _unit(path) in PURE
        for line, module in _imports(path)
        if _target(module) == "aws" or module.split(".")[0] in ("boto3", "botocore")
    ]
    assert not offenders


def test_nothing_imports_the_cli() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} line {line}"
        for path in _sources()
        if _unit(path) not in ("cli", "__main__")
        for line, module in _imports(path)
        if _target(module) == "cli"
    ]
    assert not offenders


def test_the_checker_finds_upward_imports_absolute_and_relative() -> None:
    """The rules above are not vacuous: imports from a higher layer are found in either form."""
    source = (
        "from ddbexport.running.runner import Runner\n"
        "from ..aws import adapter\n"
        "from .models import TableInfo\n"
        "from ddbexport import cli\n"
    )
    imports = list(_imports_of(source, ["ddbexport", "core"]))
    assert [module for _, module in imports] == [
        "ddbexport.running.runner",
        "ddbexport.aws",
        "ddbexport.core.models",
        "ddbexport",
        "ddbexport.cli",
    ]
    assert _upward("core", iter(imports)) == [
        "line 1: ddbexport.running.runner",
        "line 2: ddbexport.aws",
        "line 4: ddbexport.cli",
    ]
    assert _upward("cli", iter(imports)) == []
