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
from pathlib import Path

ENV_VAR = "SIMTOOL_PROVISIONING"
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
