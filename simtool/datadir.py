"""Where the operator data (``provisioning/``: profiles, menus, services) is found.

One way for every reader of that data: ``$SIMTOOL_PROVISIONING`` when set, else the package
resource ``simtool.operator_data``.  ``pyproject.toml`` maps that resource onto the
repository's ``provisioning/`` folder, so a built wheel carries the data inside the package
and an editable install reads the checkout's folder.  A source tree run without any install
(``python -m simtool`` from the checkout) falls back to the ``provisioning/`` beside the
package.
"""

from __future__ import annotations

import importlib.util
import os
import re
import tomllib
from pathlib import Path

from simtool.errors import DataError

ENV_VAR = "SIMTOOL_PROVISIONING"
#: a data file's name, as a profile names its menu or texts
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
RESOURCE_PACKAGE = "simtool.operator_data"


def provisioning_dir() -> Path:
    """The folder holding ``profiles/``, ``menus/`` and ``services/``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    try:
        spec = importlib.util.find_spec(RESOURCE_PACKAGE)
    except ModuleNotFoundError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "provisioning"


def named_file(folder: Path, name: str, what: str) -> Path:
    """``folder/<name>.toml``; an error naming the files there when there is none."""
    if not _NAME.fullmatch(name):
        raise DataError(f"{name!r} is not a {what} name (lower-case letters, digits, - _)")
    path = folder / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.toml"))
        raise DataError(f"no {what} {name!r} (known: {', '.join(known) or 'none'})",
                        where=str(path))
    return path


def read_toml(path: str | Path, what: str) -> dict:
    """A TOML data file's table; a one-line error naming the file when it cannot be read."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read {what}: {exc.strerror}", where=str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid TOML: {exc}", where=str(path)) from None
