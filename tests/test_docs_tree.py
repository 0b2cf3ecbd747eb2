"""docs/architecture.md shows the card tree as the code declares it."""

from __future__ import annotations

import re
from pathlib import Path

from simtool.cardtypes import SYSMO_ISIM_SJA2

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def test_the_tree_listing_in_the_architecture_doc_is_the_trees():
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- card tree listing: begin -->\n```\n(.*?)\n```\n"
                      r"<!-- card tree listing: end -->", text, re.S)
    assert found, "docs/architecture.md lost its card tree listing"
    assert found.group(1) == SYSMO_ISIM_SJA2.tree.listing(), (
        "docs/architecture.md shows an old tree: paste the output of python -c 'from "
        "simtool.cardtypes import SYSMO_ISIM_SJA2 as t; print(t.tree.listing())'")
