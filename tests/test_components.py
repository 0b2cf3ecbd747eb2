"""tests/components.py and the PostgreSQL lookup of tests/pg.py: a missing component skips on
a developer's machine and fails under CI=true; the server binaries are found on any Debian
release, not only PostgreSQL 15's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.components import in_ci, missing
from tests.pg import find_bindir


def _server(path: Path, programs=("initdb", "postgres")) -> Path:
    path.mkdir(parents=True)
    for name in programs:
        exe = path / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    return path


@pytest.mark.parametrize("value,expected", [("true", True), ("TRUE", True), ("1", True),
                                            ("", False), ("false", False), ("0", False)])
def test_in_ci(monkeypatch, value, expected):
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_missing_skips_locally_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no pcscd"):
        missing("no pcscd")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception,
                       match="CI=true and a required component is missing: no pcscd"):
        missing("no pcscd")


def test_the_highest_debian_major_with_both_programs_wins(tmp_path):
    root = tmp_path / "postgresql"
    _server(root / "9.6" / "bin")
    _server(root / "13" / "bin")
    best = _server(root / "16" / "bin")
    _server(root / "17" / "bin", programs=("initdb",))  # half installed: no server
    env = {"PATH": str(tmp_path / "empty")}
    assert find_bindir(env, debian_root=str(root)) == best


def test_override_then_path(tmp_path):
    root = tmp_path / "postgresql"
    _server(root / "15" / "bin")
    mine = _server(tmp_path / "opt" / "pg" / "bin")
    assert find_bindir({"SIMTOOL_PG_BIN": str(mine)}, debian_root=str(root)) == mine
    # an override that holds no server finds nothing (rather than another server)
    assert find_bindir({"SIMTOOL_PG_BIN": str(tmp_path / "nowhere")},
                       debian_root=str(root)) is None
    # no Debian layout, no pg_config: PATH, through symlinks to the real directory
    links = tmp_path / "links"
    links.mkdir()
    for name in ("initdb", "postgres"):
        os.symlink(mine / name, links / name)
    env = {"PATH": f"{tmp_path / 'empty'}:{links}"}
    assert find_bindir(env, debian_root=str(tmp_path / "none")) == mine.resolve()
    assert find_bindir({"PATH": str(tmp_path / "empty")},
                       debian_root=str(tmp_path / "none")) is None


def test_pg_config_bindir(tmp_path):
    server = _server(tmp_path / "srv" / "bin")
    tools = tmp_path / "tools"
    tools.mkdir()
    pg_config = tools / "pg_config"
    pg_config.write_text(f"#!/bin/sh\n[ \"$1\" = --bindir ] && echo {server}\n")
    pg_config.chmod(0o755)
    assert find_bindir({"PATH": str(tools)}, debian_root=str(tmp_path / "none")) == server
