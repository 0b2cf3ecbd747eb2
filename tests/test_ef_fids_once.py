"""Each FID of the card tree is written once in simtool/: in its codec class (simtool.ef) or
in the tree itself (simtool/cardtree/, simtool/cardtypes.py), never copied into a driver,
``info`` or the CLI.

A FID that several files share is written once per file: EF.UST and EF.SST (both 6F38) have a
codec each; EF.LP (DF.GSM) and EF.LI (ADF.USIM) are both 6F05.  One file at several places
(EF.IMSI in DF.GSM and ADF.USIM, EF.SMSP in DF.TELECOM and ADF.USIM) is one file: its FID is
written once.  A file is its codec class when it has one, else its name and structure (EF.ECC
is transparent in DF.GSM, TS 51.011 §10.3.27, and linear fixed in ADF.USIM, TS 31.102 §4.2.21:
two files).  The worked examples of the codecs (``EXAMPLES`` tables) are independent oracles
from the specs and are not counted.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import defaultdict
from pathlib import Path

import pytest

from simtool.cardtree import DfNode, EfNode
from simtool.cardtypes import SYSMO_ISIM_SJA2

SIMTOOL = Path(__file__).resolve().parent.parent / "simtool"
HEX = re.compile(r"0[xX][0-9a-fA-F]+\Z")


def _example_lines(source: str) -> set[int]:
    """The lines of assignments to ``EXAMPLES`` / ``*_EXAMPLES`` (the spec oracles)."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "")
                     for t in targets]
            if any(n.endswith("EXAMPLES") for n in names):
                lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def hex_literals(root: Path = SIMTOOL) -> dict[int, list[str]]:
    """value -> ["simtool/x.py:12", ...] for every hex integer literal in simtool's code
    (comments, strings and example tables left out)."""
    found: dict[int, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        skip = _example_lines(source)
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NUMBER and HEX.match(tok.string) and tok.start[0] not in skip:
                found[int(tok.string, 16)].append(
                    f"{path.relative_to(root.parent)}:{tok.start[0]}")
    return found


def _file_identity(node) -> object:
    if isinstance(node, DfNode):
        return ("DF", node.name)
    return node.codec or (node.name, node.structure)


def distinct_files_by_fid(tree) -> dict[int, set]:
    out: dict[int, set] = defaultdict(set)
    out[tree.root.fid].add(_file_identity(tree.root))
    for loc in tree.walk():
        node = loc.node
        if node.fid is not None:  # an ADF has an AID, no FID
            out[node.fid].add(_file_identity(node))
    return out


FILES = distinct_files_by_fid(SYSMO_ISIM_SJA2.tree)
LITERALS = hex_literals()


@pytest.mark.parametrize("fid", sorted(FILES), ids=[f"{f:04X}" for f in sorted(FILES)])
def test_each_fid_of_the_tree_is_written_once_per_file(fid):
    where = LITERALS.get(fid, [])
    files = sorted(str(getattr(f, "NAME", f)) for f in FILES[fid])
    assert len(where) == len(FILES[fid]), (
        f"{fid:04X} ({', '.join(files)}) is written {len(where)} times in simtool/, "
        f"{len(FILES[fid])} expected (the codec class or simtool/cardtree/ or cardtypes.py): {where}")


def test_the_literals_are_in_the_codecs_or_the_tree():
    allowed = ("simtool/ef/", "simtool/cardtree/", "simtool/cardtypes.py")
    stray = {f"{fid:04X}": [w for w in LITERALS.get(fid, []) if not w.startswith(allowed)]
             for fid in FILES}
    assert not {fid: w for fid, w in stray.items() if w}


def test_the_check_finds_a_copy(tmp_path):
    """The scanner counts a FID in code, any case, and ignores comments, strings and the
    example tables."""
    pkg = tmp_path / "simtool"
    pkg.mkdir()
    (pkg / "codec.py").write_text("FID = 0x6F07\nEXAMPLES = ((0x6F07, '6F07'),)\n")
    (pkg / "driver.py").write_text('PATH = (0x7f20, 0x6f07)  # 0x6F07\nDOC = "0x6F07"\n')
    found = hex_literals(pkg)
    assert found[0x6F07] == ["simtool/codec.py:1", "simtool/driver.py:1"]
    assert found[0x7F20] == ["simtool/driver.py:1"]
