"""``python -m bench.mutation``: the mutation score of the modules that guard cards and secrets.

mutmut (the ``dev`` extra: ``pip install -e '.[dev]'``) makes small semantic changes to one
module at a time (``<`` → ``<=``, a constant + 1, a dropped argument, ...) and runs the fast
tests that cover that module against each change; a change no test notices "survives".  Each
module runs on its own, against its own test files only (not the end-to-end tier), in a
scratch copy of the repository, one mutant at a time by default, so a run stays bounded on a
shared machine::

    python -m bench.mutation                      # every module below, one after the other
    python -m bench.mutation program pin          # modules by short name
    python -m bench.mutation --survivors text     # also print each survivor's diff
    python -m bench.mutation --json               # the rows as JSON (for docs/benchmarks.md)

The PostgreSQL journal's tests need a server: the run starts one private server (the tests'
own, tests/pg.py: a temporary data directory, a unix socket only) before the first module that
needs it and stops it at the end; each mutant's test session finds it by ``SIMTOOL_PG_SOCKETS``
and makes (and drops) databases of its own.

Not part of CI: a full run takes tens of minutes.  The figures and the reasons why each
remaining survivor is equivalent are in docs/benchmarks.md ("Mutation score").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 0.90

# short name -> (modules to mutate, test selection: pytest arguments)
MODULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "milenage": (("simtool/milenage.py",), ("tests/test_milenage.py",)),
    "credentials": (("simtool/provision/credentials.py",), ("tests/test_credentials.py",)),
    "program": (("simtool/provision/program.py",),
                ("tests/test_program.py", "tests/test_program_verification.py")),
    "hashing": (("simtool/provision/hashing.py",),
                ("tests/test_hashing.py", "tests/test_exports.py", "-k",
                 "hash or argon2 or panel")),
    # the behaviour tests on SQLite, and the PostgreSQL row-lock tests (only PostgreSQL shows
    # which reads take the row lock)
    "journal": (("simtool/provision/journal.py", "simtool/provision/journal_sqlite.py"),
                ("tests/test_journal.py", "tests/test_journal_sqlite.py",
                 "tests/test_durability.py", "-k", "not postgres")),
    # mutmut runs, for each mutant, only the tests that call the mutated function: the SQLite
    # tests of these files never run here
    "journal_pg": (("simtool/provision/journal_pg.py",),
                   ("tests/test_journal.py", "tests/test_journal_errors.py")),
    "text": (("simtool/text.py",), ("tests/test_text.py",)),
    "tlv": (("simtool/apdu/tlv.py",), ("tests/test_tlv.py",)),
    "channel": (("simtool/apdu/channel.py",), ("tests/test_channel.py",)),
    "pin": (("simtool/pin.py",), ("tests/test_pin.py",)),
}
# modules whose tests need the PostgreSQL server (one for the whole run)
NEEDS_POSTGRES = frozenset({"journal", "journal_pg"})
# what the tests read besides simtool/ and tests/
_ALSO_COPY = ("provisioning", "pyproject.toml")
_LINE = re.compile(r"^\s*(simtool\.\S+): (.+?)\s*$")


@dataclass
class Score:
    module: str
    mutants: int
    killed: int
    survived: int
    no_tests: int
    timeout: int
    seconds: float
    survivors: list[str] = field(default_factory=list)
    # file -> (killed or timed out, mutants), when a run mutates more than one file
    files: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def score(self) -> float:
        """Killed (a timeout counts: the change hung a test) over all mutants."""
        return (self.killed + self.timeout) / self.mutants if self.mutants else 1.0


def _scratch_copy(root: Path) -> None:
    """simtool/, tests/ and what they read, without caches or virtualenvs."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in ("simtool", "tests", *_ALSO_COPY):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, root / name)
    # mutmut reads [tool.mutmut] from pyproject.toml, else [mutmut] from setup.cfg: keep the
    # per-module settings in setup.cfg
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    (root / "pyproject.toml").write_text(re.sub(r"(?ms)^\[tool\.mutmut\].*?(?=^\[|\Z)", "",
                                                text), encoding="utf-8")


def _setup_cfg(paths: tuple[str, ...], tests: tuple[str, ...]) -> str:
    def lines(values) -> str:
        return "".join(f"\n    {v}" for v in values)

    return ("[mutmut]\nsource_paths=simtool\n"
            f"only_mutate={lines(paths)}\n"
            f"pytest_add_cli_args_test_selection={lines(tests)}\n"
            f"pytest_add_cli_args={lines(('-p', 'no:cacheprovider', '-q', '-x'))}\n"
            f"also_copy={lines(_ALSO_COPY[:-1])}\n"
            "use_git_change_detection=false\n")


@contextmanager
def postgres_server() -> Iterator[dict[str, str]]:
    """The tests' private PostgreSQL server, started once; yields the environment that points
    the tests' ``postgres_server`` fixture at it."""
    sys.path.insert(0, str(REPO))  # tests/ is not installed
    from tests.pg import SHARED_ENV, PostgresServer, _unavailable

    why = _unavailable()
    if why:
        raise RuntimeError(f"the PostgreSQL journal's tests need a server: {why}")
    root = Path(tempfile.mkdtemp(prefix="simtool-mutation-pg-"))
    server = PostgresServer(root)
    try:
        server.initdb()
        server.start()
        yield {SHARED_ENV: str(server.sockets)}
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def run_module(name: str, *, children: int, keep: bool = False, show: bool = False,
               extra_env: dict[str, str] | None = None) -> Score:
    paths, tests = MODULES[name]
    root = Path(tempfile.mkdtemp(prefix=f"simtool-mutation-{name}-"))
    try:
        _scratch_copy(root)
        (root / "setup.cfg").write_text(_setup_cfg(paths, tests), encoding="utf-8")
        mutmut = [sys.executable, "-m", "mutmut"]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(extra_env or {})}
        env.pop("CI", None)  # CI=true turns missing components into failures: not wanted here
        start = time.monotonic()
        done = subprocess.run([*mutmut, "run", "--max-children", str(children)], cwd=root,
                              env=env, capture_output=True, text=True)
        seconds = time.monotonic() - start
        listing = subprocess.run([*mutmut, "results", "--all", "true"], cwd=root, env=env,
                                 capture_output=True, text=True)
        statuses = {m.group(1): m.group(2) for m in map(_LINE.match,
                                                          listing.stdout.splitlines()) if m}
        if not statuses:
            raise RuntimeError(f"mutmut produced no results for {name}:\n"
                               f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        survivors = sorted(k for k, v in statuses.items() if v == "survived")
        score = Score(
            module=", ".join(Path(p).name for p in paths), mutants=len(statuses),
            killed=sum(v == "killed" for v in statuses.values()), survived=len(survivors),
            no_tests=sum(v == "no tests" for v in statuses.values()),
            timeout=sum(v == "timeout" for v in statuses.values()),
            seconds=round(seconds, 1), survivors=survivors,
            files=_per_file(paths, statuses) if len(paths) > 1 else {})
        if show:
            for key in survivors + sorted(k for k, v in statuses.items() if v == "no tests"):
                diff = subprocess.run([*mutmut, "show", key], cwd=root, env=env,
                                      capture_output=True, text=True).stdout
                print(f"--- {key} ({statuses[key]})")
                print("\n".join(line for line in diff.splitlines()
                                if line.startswith(("-", "+")) and not line.startswith(
                                    ("---", "+++"))))
        return score
    finally:
        if keep:
            print(f"scratch copy kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def _per_file(paths: tuple[str, ...], statuses: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Killed (or timed out) and all mutants of each file; a mutant's key starts with its
    module's dotted name (``simtool.provision.journal.x_schema_ddl__mutmut_5``)."""
    files = {}
    for path in paths:
        module = path.removesuffix(".py").replace("/", ".") + "."
        mine = [v for k, v in statuses.items() if k.startswith(module)
                and "." not in k[len(module):]]
        files[Path(path).name] = (sum(v in ("killed", "timeout") for v in mine), len(mine))
    return files


def _table(scores: list[Score]) -> str:
    rows = ["| module | mutants | killed | survived | no tests | score | target | time |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for s in scores:
        verdict = "met" if s.score >= TARGET else "below"
        rows.append(f"| {s.module} | {s.mutants} | {s.killed + s.timeout} | {s.survived} | "
                    f"{s.no_tests} | {100 * s.score:.1f} % | ≥ {TARGET:.0%} {verdict} | "
                    f"{s.seconds:.0f} s |")
        for name, (killed, mutants) in s.files.items():
            ratio = killed / mutants if mutants else 1.0
            rows.append(f"| – {name} | {mutants} | {killed} | {mutants - killed} | | "
                        f"{100 * ratio:.1f} % | | |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help=f"short names (default: all): {', '.join(MODULES)}")
    parser.add_argument("--children", type=int, default=1,
                        help="mutants tested in parallel (default 1: a shared machine)")
    parser.add_argument("--survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copies")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r}: choose from {', '.join(MODULES)}")
    try:
        import mutmut  # noqa: F401
    except ImportError:
        print("mutmut is not installed: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    # a terminated run still removes its scratch copy (and subprocess.run kills mutmut)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    scores = []
    with ExitStack() as stack:
        pg_env = None
        for name in args.modules or list(MODULES):
            if name in NEEDS_POSTGRES and pg_env is None:
                print("starting a private PostgreSQL server ...", file=sys.stderr, flush=True)
                pg_env = stack.enter_context(postgres_server())
            print(f"mutating {name} ...", file=sys.stderr, flush=True)
            score = run_module(name, children=args.children, keep=args.keep,
                               show=args.survivors,
                               extra_env=pg_env if name in NEEDS_POSTGRES else None)
            print(f"  {score.killed + score.timeout}/{score.mutants} killed "
                  f"({100 * score.score:.1f} %) in {score.seconds:.0f} s", file=sys.stderr,
                  flush=True)
            scores.append(score)
    print(f"{date.today().isoformat()}, {platform.machine()}, "
          f"Python {platform.python_version()}, {os.cpu_count()} cores")
    print(_table(scores))
    if args.json:
        print(json.dumps([{**asdict(s), "score": round(s.score, 4)} for s in scores], indent=2))
    return 0 if all(s.score >= TARGET for s in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
