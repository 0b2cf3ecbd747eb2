"""A private PostgreSQL server for tests, from Debian's ``postgresql`` package.

The server binaries (``initdb``, ``postgres``) are looked up, first found wins: the directory in
``SIMTOOL_PG_BIN``; Debian's ``/usr/lib/postgresql/<major>/bin``, highest major first;
``pg_config --bindir``; ``PATH``.  Without them the tests skip, and fail under ``CI=true``
(tests/components.py).

The server lives in a temporary directory (data directory + unix socket directory), listens on
its socket only (``listen_addresses=''``), runs with ``fsync=off`` (a test cluster need not
survive a power cut) and trusts local connections.  PostgreSQL refuses to run as root, so under
root ``initdb`` and ``postgres`` run as the ``postgres`` system user (``subprocess`` switches
user in the child, so the PID we hold is the postmaster's own).  It is stopped by that PID with
SIGINT, PostgreSQL's "fast" shutdown, never by process name.

Use it through the session fixture (import it into a test module or conftest)::

    from tests.pg import postgres_server  # noqa: F401

    def test_x(postgres_server):
        url = postgres_server.create_database()   # a fresh, empty database
        ...
        postgres_server.restart()                 # fault tests: drop every connection

A run of many short pytest sessions (``python -m bench.mutation``: one per mutant) starts one
server itself and names its socket directory in ``SIMTOOL_PG_SOCKETS``; the fixture then uses
that server (:class:`SharedPostgresServer`) instead of starting one per session: each session
creates its own databases and drops them at its end, and ``restart`` ends the connections to
them (what the fault tests need) instead of restarting a server other sessions use.
"""

from __future__ import annotations

import os
import glob
import itertools
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.components import missing

SERVER_PROGRAMS = ("initdb", "postgres")


def _has_server(path: Path) -> bool:
    return all(os.access(path / name, os.X_OK) for name in SERVER_PROGRAMS)


def find_bindir(env: dict[str, str] | None = None, *,
                debian_root: str = "/usr/lib/postgresql") -> Path | None:
    """The directory holding ``initdb`` and ``postgres``, or None (see the module docstring)."""
    env = os.environ if env is None else env
    override = env.get("SIMTOOL_PG_BIN")
    if override:
        return Path(override) if _has_server(Path(override)) else None

    def major(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.name)) or (-1,)

    for candidate in sorted(glob.glob(f"{glob.escape(debian_root)}/*/bin"), key=major,
                            reverse=True):
        if _has_server(Path(candidate)):
            return Path(candidate)
    pg_config = shutil.which("pg_config", path=env.get("PATH"))
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and _has_server(Path(out)):
            return Path(out)
    found = [shutil.which(name, path=env.get("PATH")) for name in SERVER_PROGRAMS]
    if all(found):
        dirs = {Path(p).resolve().parent for p in found}  # symlinks to the real bin dir
        if len(dirs) == 1:
            return dirs.pop()
    return None


PG_BIN = find_bindir()
SUPERUSER = "simtool"
PORT = 5432  # names the socket file (.s.PGSQL.5432) inside our private socket directory
START_WAIT = 60.0  # seconds for the postmaster to accept connections before we give up
#: The socket directory of a server that is already running (see the module docstring).
SHARED_ENV = "SIMTOOL_PG_SOCKETS"


class _Databases:
    """Databases on a server reached through the socket directory ``sockets``."""

    sockets: Path
    _prefix = "t"

    def url_for(self, dbname: str) -> str:
        """A libpq connection URI reaching ``dbname`` through the socket directory."""
        return (f"postgresql:///{dbname}?host={quote(str(self.sockets), safe='')}"
                f"&port={PORT}&user={SUPERUSER}")

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (named ``t1``, ``t2``, ... by default); return its URL."""
        import psycopg

        self._databases += 1
        name = name or f"{self._prefix}{self._databases}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)


class PostgresServer(_Databases):
    """One postmaster over one data directory under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = root / "postgres.log"
        self.process: subprocess.Popen | None = None
        self._databases = 0
        self._as_user: dict = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")  # KeyError handled by the fixture
            self._as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
            for path in (root, *root.rglob("*")):
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def initdb(self) -> None:
        self.sockets.mkdir()
        if self._as_user:
            os.chown(self.sockets, self._as_user["user"], self._as_user["group"])
        done = subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            cwd=self.root, capture_output=True, text=True, **self._as_user)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def start(self) -> None:
        import psycopg

        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(self.data), "-k", str(self.sockets),
                 "-p", str(PORT), "-c", "listen_addresses=", "-c", "fsync=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=30"],
                cwd=self.root, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                **self._as_user)
        deadline = time.monotonic() + START_WAIT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}:\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("postgres did not accept connections:\n"
                                       + self.log.read_text(errors="replace")[-3000:]) from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Fast shutdown by PID: SIGINT makes the postmaster end every session, checkpoint and
        exit; SIGQUIT (immediate shutdown) only if that does not happen in time."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGQUIT)
            proc.wait(timeout=60)

    def restart(self) -> None:
        self.stop()
        self.start()



class SharedPostgresServer(_Databases):
    """A server another process runs (a :class:`PostgresServer`), used by one test session.

    Its databases are named after this process and object (``s<pid>_<n>_1``, ...), so
    sessions that follow one another or run side by side, and the fixture's instances in one
    session (a module that imports it has its own), never meet; :meth:`drop_databases`
    removes them."""

    _instances = itertools.count(1)

    def __init__(self, sockets: Path) -> None:
        self.sockets = sockets
        self._prefix = f"s{os.getpid()}_{next(self._instances)}_"
        self._databases = 0

    def restart(self) -> None:
        """What a restart does to this session: every connection to its databases ends
        (``pg_terminate_backend`` waits up to 10 s for each to go)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                         " WHERE starts_with(datname, %s) AND pid <> pg_backend_pid()",
                         (self._prefix,))

    def drop_databases(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            names = [row[0] for row in conn.execute(
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                (self._prefix,))]
            for name in names:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _unavailable() -> str | None:
    if PG_BIN is None:
        return ("no PostgreSQL server binaries (initdb, postgres) in SIMTOOL_PG_BIN, "
                "/usr/lib/postgresql/*/bin, pg_config --bindir or PATH "
                "(apt-get install postgresql)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
    return None


@pytest.fixture(scope="session")
def postgres_server():
    """A running private PostgreSQL server for the whole test session (skips if not installed,
    fails under CI=true); the one named by ``SIMTOOL_PG_SOCKETS`` if set."""
    shared = os.environ.get(SHARED_ENV)
    if shared:
        server = SharedPostgresServer(Path(shared))
        try:
            yield server
        finally:
            server.drop_databases()
        return
    why = _unavailable()
    if why:
        missing(why)
    # Not pytest's tmp_path: its parents are mode 0700 root, which the postgres user cannot cross.
    root = Path(tempfile.mkdtemp(prefix="simtool-pg-"))
    server = PostgresServer(root)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
