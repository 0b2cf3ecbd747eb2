"""bench.mutation's configuration: every module and test file it names exists (a rename would
otherwise make a mutation run test nothing), and the mutmut section it writes parses."""

from __future__ import annotations

import configparser

from bench.mutation import MODULES, NEEDS_POSTGRES, REPO, _per_file, _setup_cfg


def test_every_mutated_module_and_test_file_exists():
    for name, (paths, tests) in MODULES.items():
        assert paths, name
        for path in paths:
            assert (REPO / path).is_file(), (name, path)
        files = [t for t in tests if t.startswith("tests/")]
        assert files, name
        for test in files:
            assert (REPO / test).is_file(), (name, test)
        assert not any("e2e" in t for t in tests), name  # the fast tiers only
    assert NEEDS_POSTGRES <= set(MODULES)


def test_the_mutmut_section_names_the_module_and_its_tests():
    text = _setup_cfg(("simtool/pin.py",), ("tests/test_pin.py", "-k", "not slow"))
    parser = configparser.ConfigParser()
    parser.read_string(text)
    section = parser["mutmut"]
    assert section["source_paths"] == "simtool"
    assert section["only_mutate"].split() == ["simtool/pin.py"]
    assert section["pytest_add_cli_args_test_selection"].split("\n")[1:] == [
        "tests/test_pin.py", "-k", "not slow"]
    assert section["use_git_change_detection"] == "false"


def test_a_run_over_two_files_is_scored_per_file_too():
    statuses = {
        "simtool.provision.journal.x_schema_ddl__mutmut_5": "survived",
        "simtool.provision.journal.xǁJournalǁ_set__mutmut_3": "killed",
        "simtool.provision.journal_sqlite.x__journal_error__mutmut_1": "timeout",
        "simtool.provision.journal_sqlite.x__journal_error__mutmut_2": "no tests",
    }
    assert _per_file(("simtool/provision/journal.py", "simtool/provision/journal_sqlite.py"),
                     statuses) == {"journal.py": (1, 2), "journal_sqlite.py": (1, 2)}
