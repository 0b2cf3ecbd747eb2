"""docs/card-tree.md shows the card tree as the code declares it, and docs/architecture.md
points there instead of keeping a copy of its own."""

from __future__ import annotations

import re
from pathlib import Path

from simtool.cardtypes import SYSMO_ISIM_SJA2

DOCS = Path(__file__).resolve().parent.parent / "docs"
LISTING = re.compile(r"<!-- card tree listing: begin -->\n```\n(.*?)\n```\n"
                     r"<!-- card tree listing: end -->", re.S)


def test_the_tree_listing_in_the_card_tree_doc_is_the_trees():
    text = (DOCS / "card-tree.md").read_text(encoding="utf-8")
    found = LISTING.search(text)
    assert found, "docs/card-tree.md lost its card tree listing"
    assert found.group(1) == SYSMO_ISIM_SJA2.tree.listing(), (
        "docs/card-tree.md shows an old tree: paste the output of python -c 'from "
        "simtool.cardtypes import SYSMO_ISIM_SJA2 as t; print(t.tree.listing())'")


def test_the_architecture_doc_links_the_listing_and_keeps_no_copy():
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    assert "(card-tree.md)" in text
    assert not LISTING.search(text) and "├─ EF." not in text
