"""The build under test is the one the run asks for: ``make test`` the pure Python modules,
``make test-compiled`` (``ISOILL_BUILD=compiled``) every module pyproject.toml lists for mypyc
compiled, so that a compiled run never passes on Python modules it picked up by mistake."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.machinery
import inspect
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def listed() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    paths: list[str] = config["tool"]["isoill"]["mypyc"]["modules"]
    return [path.removesuffix(".py").replace("/", ".") for path in paths]


def test_the_modules_listed_for_mypyc_exist_and_are_the_build_asked_for() -> None:
    compiled = os.environ.get("ISOILL_BUILD", "pure") == "compiled"
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    names = listed()
    assert names, "no module is listed for mypyc"
    for name in names:
        origin = importlib.import_module(name).__file__
        assert origin is not None, name
        assert origin.endswith(suffixes) is compiled, (name, origin)


def written_out() -> list[type[Any]]:
    """The dataclasses of the compiled modules that write their ``__init__`` out
    (``init=False``): compiled, the one dataclasses generates would stay Python."""
    found = []
    for name in listed():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and dataclasses.is_dataclass(value)
                and value.__module__ == name
                and not value.__dataclass_params__.init  # type: ignore[attr-defined]
            ):
                found.append(value)
    return found


def _default(field: dataclasses.Field[Any]) -> object:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default


@pytest.mark.parametrize("cls", written_out(), ids=lambda cls: cls.__qualname__)
def test_a_written_out_init_takes_the_fields_with_their_defaults(cls: type[Any]) -> None:
    try:
        parameters = inspect.signature(cls).parameters.values()
    except ValueError:  # mypyc writes none for a default that is no literal (State.IDLE, say)
        if os.environ.get("ISOILL_BUILD", "pure") != "compiled":
            raise
        pytest.skip("the compiled class has no signature to read; the pure build checks it")
    assert [(p.name, p.default) for p in parameters] == [
        (field.name, _default(field)) for field in dataclasses.fields(cls)
    ]


@pytest.mark.skipif(
    os.environ.get("ISOILL_BUILD", "pure") == "compiled",
    reason="a compiled __init__ checks its arguments' types; the pure build runs the same code",
)
@pytest.mark.parametrize("cls", written_out(), ids=lambda cls: cls.__qualname__)
def test_a_written_out_init_sets_every_field(cls: type[Any]) -> None:
    given = {field.name: object() for field in dataclasses.fields(cls)}
    made = cls(**given)
    assert {name: getattr(made, name) for name in given} == given


def test_the_written_out_inits_are_found() -> None:
    """The two tests above are parametrized by :func:`written_out`: found none, they would
    run for nothing."""
    names = {cls.__qualname__ for cls in written_out()}
    assert {"Message", "Read", "TransactionRecord", "Named", "Event", "Context"} <= names


def awaits_in_handlers(source: str) -> list[int]:
    """The lines of ``source`` where a coroutine awaits in a ``finally`` or ``except`` block.

    Compiled by mypyc (2.4), a coroutine suspended there leaves its exception in the thread's
    state, and a compiled coroutine that later awaits in a ``finally`` block it entered
    without one raises that exception at the block's end: another connection's or run's error
    ended this one (docs/performance.md). So the compiled modules keep their awaits out."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Try | ast.TryStar):
            blocks = [node.finalbody, *(handler.body for handler in node.handlers)]
            for statement in (s for block in blocks for s in block):
                lines += [
                    inner.lineno
                    for inner in ast.walk(statement)
                    if isinstance(inner, ast.Await | ast.AsyncWith | ast.AsyncFor)
                ]
    return sorted(lines)


@pytest.mark.parametrize("name", listed())
def test_no_compiled_coroutine_awaits_in_a_finally_or_except_block(name: str) -> None:
    path = ROOT / (name.replace(".", "/") + ".py")
    assert awaits_in_handlers(path.read_text()) == []


def test_an_await_in_a_finally_or_except_block_is_found() -> None:
    source = (
        "async def f():\n"
        "    try:\n"
        "        await g()\n"
        "    except KeyError:\n"
        "        await h()\n"
        "    finally:\n"
        "        async with lock:\n"
        "            pass\n"
    )
    assert awaits_in_handlers(source) == [5, 7]
