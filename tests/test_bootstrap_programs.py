"""Every program the code, the tests, the benchmarks and the scripts run is installed by
scripts/bootstrap.sh, or is part of a minimal Debian 12 (``debootstrap --variant=minbase``,
the ``debian:12`` image).  A program nobody installs is how the README's two commands once
failed on a minimal Debian (``ss`` from iproute2 in the harness).

The programs are found by reading the sources: the argv lists given to ``subprocess`` /
``os.exec*`` and the names given to ``shutil.which`` in Python (an ``sh -c`` script is read
too), and the commands of scripts/*.sh."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

from tests.harness import REPO

#: program -> the Debian 12 package that provides it
PACKAGE_OF = {
    "python3": "python3", "pcscd": "pcscd", "pcsc_scan": "pcsc-tools",
    "initdb": "postgresql", "postgres": "postgresql", "pg_ctl": "postgresql",
    "pg_config": "postgresql",  # tests/pg.py's last way to find the server, when on PATH
    "gcc": "gcc", "swig": "swig",
    "unshare": "util-linux", "runuser": "util-linux", "mount": "mount", "umount": "mount",
    "sh": "dash", "bash": "bash", "apt-get": "apt", "dpkg-query": "dpkg", "grep": "grep",
    "sed": "sed", "id": "coreutils", "cut": "coreutils", "cat": "coreutils",
    "sha256sum": "coreutils", "mkdir": "coreutils", "rm": "coreutils", "tail": "coreutils",
    "dirname": "coreutils", "env": "coreutils",
    "chromium": "chromium", "pdfinfo": "poppler-utils", "pdftoppm": "poppler-utils",
    "pdftotext": "poppler-utils", "zbarimg": "zbar-tools", "node": "nodejs", "nodejs": "nodejs",
}
#: what `debootstrap --variant=minbase bookworm` installs (Essential and Priority: required),
#: as far as the programs above need: the rest must come from bootstrap.sh
MINBASE = {"apt", "bash", "coreutils", "dash", "dpkg", "grep", "mount", "sed", "util-linux"}
#: argv[0] expressions that name no program the sources can show, with the reason
UNRESOLVED_OK = {
    "PYSIM_PYTHON": "pySim's own interpreter, optional (tests/test_pysim_interop.py skips "
                    "without a pySim checkout)",
    "binary": "osmo-hlr, found by tests/test_osmo_hlr.py's _need() (package osmo-hlr, in "
              "bootstrap; the test fails under CI=true when it is missing)",
    "pg_config": "shutil.which('pg_config') in tests/pg.py: one of the ways to find the "
                 "PostgreSQL server (package postgresql, in bootstrap, installs it)",
    "*mutmut": "the interpreter running bench/mutation.py with mutmut (the dev extra), a "
               "benchmark-like script outside the test suite",
    "node": "shutil.which('node') or shutil.which('nodejs') in tests/test_exports.py "
            "(package nodejs, in bootstrap)",
    "str(py)": "the fresh virtualenv's python that tests/test_wheel.py creates",
    "[str(bin_dir / a) if i == 0 else a for i, a in enumerate(args)]":
        "the installed wheel's own entry points (simtool, python) in tests/test_wheel.py",
}
#: shell words that come before a command, and builtins (no program to install)
SHELL_PREFIXES = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "[[", "time",
                  "exec", "command"}
SHELL_BUILTINS = {"fi", "done", "esac", "}", "]]", "echo", "cd", "set", "exit", "export",
                  "local", "read", "printf", "true", "false", "return", "trap", "shift",
                  "source", ".", "wait", "kill", "test", "[", "Q", "V"}

RUNNERS = {("subprocess", n) for n in ("run", "Popen", "call", "check_call", "check_output")}


def bootstrap_packages() -> set[str]:
    text = (REPO / "scripts" / "bootstrap.sh").read_text()
    m = re.search(r"^APT_PACKAGES=\(([^)]*)\)", text, re.MULTILINE)
    assert m, "APT_PACKAGES=(...) not found in scripts/bootstrap.sh"
    return set(m.group(1).split())


def _string_assignments(tree: ast.AST) -> dict[str, str]:
    return {t.id: node.value.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            for t in node.targets if isinstance(t, ast.Name)}


def _shell_programs(script: str) -> set[str]:
    """First word of every simple command of a one-line shell script."""
    out = set()
    for part in re.split(r"&&|\|\||[;|]", script):
        words = [w for w in shlex.split(part) if w != "exec"]
        if words:
            out.add(words[0])
    return out


def _argv_programs(argv: ast.AST, strings: dict[str, str]) -> set[str] | str:
    """The programs an argv expression runs, or the source text of what cannot be resolved."""
    if isinstance(argv, (ast.List, ast.Tuple)) and argv.elts:
        first = argv.elts[0]
        rest = argv.elts[1:]
    else:
        first, rest = argv, []
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        names = {Path(first.value).name}
    elif ast.unparse(first) == "sys.executable":
        names = {"python3"}
    else:
        # str(BIN / "initdb"), f"{bin}/postgres": the last string piece names the program
        pieces = [n.value for n in ast.walk(first)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        if not pieces:
            return ast.unparse(first)
        names = {Path(pieces[-1]).name}
    values = [strings.get(e.id) if isinstance(e, ast.Name) else
              e.value if isinstance(e, ast.Constant) else None for e in rest]
    for i, v in enumerate(values[:-1]):            # ... "sh", "-c", script ...
        if v == "sh" and values[i + 1] == "-c" and i + 2 < len(values) and values[i + 2]:
            names |= {"sh"} | _shell_programs(values[i + 2])
    return names


def _resolve_name(tree: ast.AST, call: ast.Call, name: str, strings: dict[str, str]
                  ) -> set[str] | None:
    """argv held in a variable: the lists assigned to it in the file, or, for a parameter of
    the function making the call, the lists its callers pass."""
    values: list[ast.AST] = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef) or call not in ast.walk(fn):
            continue
        values += [n.value for n in ast.walk(fn) if isinstance(n, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]
        params = [a.arg for a in fn.args.args]
        if name not in params:
            continue
        index = params.index(name) - (params[:1] == ["self"])
        for c in ast.walk(tree):
            if isinstance(c, ast.Call) and getattr(c.func, "attr", getattr(c.func, "id", None)) \
                    == fn.name and len(c.args) > index:
                values.append(c.args[index])
    names: set[str] = set()
    for value in values:
        got = _argv_programs(value, strings)
        if isinstance(got, str):
            return None
        names |= got
    return names or None


def python_programs() -> tuple[dict[str, set[str]], list[str]]:
    found: dict[str, set[str]] = {}
    unresolved = []
    files = [p for d in ("simtool", "tests", "bench") for p in (REPO / d).rglob("*.py")]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        strings = _string_assignments(tree)
        where = str(path.relative_to(REPO))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            f = node.func
            if not isinstance(f, ast.Attribute) or not isinstance(f.value, ast.Name):
                continue
            key = (f.value.id, f.attr)
            if key == ("shutil", "which"):
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.setdefault(arg.value, set()).add(where)
                continue
            if key in RUNNERS or (f.value.id == "os" and f.attr.startswith("exec")):
                argv = node.args[1] if f.value.id == "os" and len(node.args) > 1 \
                    and f.attr in ("execv", "execvp", "execve", "execvpe") else node.args[0]
                names = _argv_programs(argv, strings)
                if isinstance(names, str) and isinstance(argv, ast.Name):
                    names = _resolve_name(tree, node, argv.id, strings) or names
                if isinstance(names, str):
                    if names not in UNRESOLVED_OK:
                        unresolved.append(f"{where}:{node.lineno}: {names}")
                    continue
                for name in names:
                    found.setdefault(name, set()).add(f"{where}:{node.lineno}")
    return found, unresolved


def _shell_commands(text: str) -> list[tuple[int, str]]:
    """(line, command word) of every simple command of a bash script: command substitutions
    are commands too; quoted strings, comments, parameter expansions and assignments are not."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = re.sub(r"\$\{[^}]*\}", "V", line)
        line = re.sub(r"\w+\+?=\([^)]*\)", "A=", line)        # array assignments
        line = re.sub(r'"(\$\w+)"', r"\1", line)             # "$PY" -> $PY: a command
        subs = re.findall(r"\$\(([^()]*)\)", line)
        line = re.sub(r"\$\([^()]*\)", "Q", line)
        line = re.sub(r'"(\\.|[^"\\])*"|\'[^\']*\'', "Q", line)
        line = re.sub(r"(^|\s)#.*", "", line)
        for segment in re.split(r"&&|\|\||[;|()]", " ; ".join([line, *subs])):
            words = segment.split()
            while words and (words[0] in SHELL_PREFIXES or re.match(r"^\w+\+?=", words[0])):
                words = words[1:]
            if not words or words[0] in SHELL_BUILTINS or words[0] in ("for", "case"):
                continue
            if re.match(r"^[\w./$-]", words[0]) and not words[0].startswith("-"):
                out.append((n, words[0]))
    return out


def shell_programs() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / "scripts").glob("*.sh")):
        where = str(path.relative_to(REPO))
        text = re.sub(r"^\w+=\([^)]*\)", lambda m: "\n" * m.group().count("\n"),
                      path.read_text(), flags=re.MULTILINE)          # array literals
        for n, word in _shell_commands(text.replace("\\\n", " ")):
            if word.startswith(".venv/bin/") or word == "$PY":
                word = "python3"        # the venv's python, or python3 itself ($PY)
            elif word.startswith("$"):
                raise AssertionError(f"{where}:{n}: a command in a variable ({word}): name it")
            found.setdefault(Path(word).name, set()).add(f"{where}:{n}")
    return found


def test_every_program_run_is_installed_by_bootstrap():
    py, unresolved = python_programs()
    sh = shell_programs()
    assert not unresolved, ("argv[0] the test cannot resolve to a program (add it to "
                            f"UNRESOLVED_OK with the reason, or name the program): {unresolved}")
    installed = bootstrap_packages() | MINBASE
    problems = []
    for program, where in sorted({**sh, **py}.items()):
        where = sorted(py.get(program, set()) | sh.get(program, set()))
        package = PACKAGE_OF.get(program)
        if package is None:
            problems.append(f"{program} (run at {', '.join(where)}): which Debian package "
                            "provides it? add it to PACKAGE_OF")
        elif package not in installed:
            problems.append(f"{program} (run at {', '.join(where)}) comes from {package}, "
                            "which scripts/bootstrap.sh does not install")
    assert not problems, "\n".join(problems)


def test_the_scan_sees_what_the_harness_and_the_scripts_run():
    """The scan itself finds the programs it must (so that it can fail): pcscd and the private
    pcscd's unshare/mount in the harness, apt-get and python3 in bootstrap.sh."""
    py, _ = python_programs()
    sh = shell_programs()
    assert {"pcscd", "unshare", "sh", "mount", "mkdir", "python3"} <= set(py), sorted(py)
    assert {"apt-get", "dpkg-query", "sha256sum", "python3", "bash"} <= set(sh), sorted(sh)
    assert "ss" not in py and "ss" not in sh     # iproute2: not in a minimal Debian


def test_a_program_bootstrap_does_not_install_is_caught():
    tree = ast.parse('subprocess.run(["ss", "-tn"])\nsubprocess.run(["ip", "link"])')
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
    assert _argv_programs(call.args[0], {}) == {"ss"}
    assert PACKAGE_OF.get("ss") is None      # so the main test would report it


def test_readme_lists_exactly_the_packages_bootstrap_installs():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    intro = readme.split("## Using the CLI")[0]
    m = re.search(r"apt: (.*?);", intro, re.DOTALL)
    assert m, "the README's first section names the apt packages (apt: `a`, `b`, ...;)"
    listed = set(re.findall(r"`([a-z0-9.+-]+)`", m.group(1)))
    assert listed == bootstrap_packages()
