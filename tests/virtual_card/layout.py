"""The virtual card's file system, built from the card tree of a sysmocom sysmoISIM-SJA2.

The emulator holds no file paths or FIDs of its own: :func:`build` walks
``SYSMO_ISIM_SJA2.tree`` (:mod:`simtool.cardtree`, :mod:`simtool.cardtypes`) and makes a
:class:`.fs.DF` per ``DfNode`` and an :class:`.fs.EF` per ``EfNode``:

* a plain EF gets its content from the image (keyed by the tree's ``Located.key``), checked
  against the node's structure and size;
* a ``link`` node shares the content of the file it links to (the SJA2 shows DF.GSM's and
  DF.TELECOM's files in ADF.USIM: pySim-prog programs an SJA2 through those only);
* a ``store`` node shows content the card keeps outside its files: the Milenage key files
  (``auth.*``, the image's ``auth`` section), the PIN files (``pin.*``, views of the card's
  PINs, :mod:`.pinfiles`) and EF.MILENAGE_CFG; more come in through ``build(stores=...)``
  (a maker per store name, called with the name and the node, returning the shared
  :class:`.fs.Content`, which may be a view of state kept elsewhere).  A store the card does
  not know is an error at start-up that names it.

Each EF's FCP references the nearest EF.ARR (its DF's, else its parent's ...); a DF's FCP
references the EF.ARR in the DF itself or above it (TS 102 221 §9.2.4, §11.1.1.4.7).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from simtool.cardtree import ARR_RULES, CardTree, DfNode, EfNode, Located
from simtool.cardtypes import AUTH_GSM, AUTH_USIM, SYSMO_ISIM_SJA2
from simtool.ef.base import Structure
from simtool.errors import DataError

from .fs import DF, EF, Content, arr_record, arr_record_number
from .pinfiles import pin_file_content
from .pins import Pin

#: The tree the virtual card is built from.
TREE: CardTree = SYSMO_ISIM_SJA2.tree
# sysmoISIM-SJA2 ATR, variant 1 (sim-facts §10.1): T=0, 15 historical bytes.
SJA2_ATR = SYSMO_ISIM_SJA2.atrs[0]

ARR_NAME = "EF.ARR"
MILENAGE_CFG = "milenage.cfg"
# TS 35.206 §4.1 rotation amounts and constants, as EF.MILENAGE_CFG stores them.
MILENAGE_CFG_BYTES = (bytes((64, 0, 32, 64, 96))
                      + b"".join((c).to_bytes(16, "big") for c in (0, 1, 2, 4, 8)))

__all__ = ["AUTH_GSM", "AUTH_USIM", "TREE", "SJA2_ATR", "Card", "build", "image_files"]

Value = bytes | list[bytes]


def image_files(tree: CardTree = TREE) -> dict[str, Located]:
    """The files whose contents the image keeps, by image key: every EF that is neither a
    link nor a store."""
    return {loc.key: loc for loc in tree.files()
            if loc.node.link is None and loc.node.store is None}


def empty_value(node: EfNode) -> Value:
    """A spec-neutral content: every byte FF (TS 102 221 §8.1: erased)."""
    if node.structure is Structure.TRANSPARENT:
        return b"\xff" * node.size
    return [b"\xff" * node.size] * node.records


def arr_records(node: EfNode) -> list[bytes]:
    """EF.ARR's records: ``ARR_RULES`` in the expanded format, FF-padded."""
    return [arr_record(rule).ljust(node.size, b"\xff") for rule in ARR_RULES]


def initial_value(node: EfNode) -> Value:
    """What a file holds before anyone writes it: an EF.ARR the access rules the FCPs
    reference, any other file nothing (all FF)."""
    return arr_records(node) if node.name == ARR_NAME else empty_value(node)


def check_shape(loc: Located, value: object, where: str | None = None) -> None:
    """Raise DataError unless ``value`` has the structure and size of the tree's node."""
    node = loc.node
    where = where or loc.key
    if node.structure is Structure.TRANSPARENT:
        if not isinstance(value, bytes) or len(value) != node.size:
            raise DataError(f"must be {node.size} bytes of hex", where=where)
    elif (not isinstance(value, list) or len(value) != node.records
          or any(not isinstance(r, bytes) or len(r) != node.size for r in value)):
        raise DataError(f"must be a list of {node.records} records of {node.size} bytes",
                        where=where)


class Card(NamedTuple):
    """The built file system."""

    mf: DF
    adf: DF                            # ADF.USIM
    nodes: dict[str, DF | EF]          # every DF and EF by its place in the tree
    contents: dict[str, Content]       # the image's files by image key
    stores: dict[str, Content]         # store contents by store name
    adfs: dict[str, DF]                # every ADF by name, in the tree's order


#: Makes the content of a store: called once per store name with the name and the first node
#: that names it; every node naming the store shares what it returns.
StoreMaker = Callable[[str, EfNode | None], Content]


def _stores(pins: Mapping[str, Pin], auth: Mapping[str, bytes]) -> dict[str, StoreMaker]:
    makers: dict[str, StoreMaker] = {
        name: (lambda key, _node, data=data: Content(key, data=data))
        for name, data in auth.items()}
    makers[MILENAGE_CFG] = lambda key, _node: Content(key, data=MILENAGE_CFG_BYTES,
                                                      persistent=False)
    for name, pin in pins.items():
        makers[f"pin.{name}"] = lambda key, _node, pin=pin: pin_file_content(key, pin)
    return makers


def build(files: Mapping[str, Value], pins: Mapping[str, Pin], auth: Mapping[str, bytes],
          tree: CardTree = TREE, stores: Mapping[str, StoreMaker] | None = None) -> Card:
    """Build the file system of ``tree`` with the given contents: ``files`` by image key,
    ``pins`` for the PIN files, ``auth`` by store name (AUTH_USIM, AUTH_GSM), ``stores`` for
    any other store the tree names."""
    makers = {**_stores(pins, auth), **(stores or {})}
    nodes: dict[str, DF | EF] = {}
    contents: dict[str, Content] = {}
    made: dict[str, Content] = {}
    keys: dict[str, str] = {}
    for loc in tree.files():                   # the image tells its files apart by key
        if loc.node.link is not None or loc.node.store is not None:
            continue                           # (a link's or a store's content is elsewhere)
        other = keys.setdefault(loc.key, loc.where)
        if other != loc.where:
            raise DataError(f"has the image key {loc.key} of {other}", where=loc.where)
    mf = DF(tree.root.fid, tree.root.name)
    mf.arr_fid = _arr_fid(tree.root, ())

    def content_of(loc: Located) -> Content:
        node = loc.node
        if node.link is not None:
            target = tree.get(node.link)
            if (target.node.structure, target.node.size, target.node.records) != (
                    node.structure, node.size, node.records):
                raise DataError(f"links to {node.link}, which has another structure or size",
                                where=loc.where)
            return content_of(target)
        if node.store is not None:
            content = made.get(node.store)
            if content is None:
                maker = makers.get(node.store)
                if maker is None:
                    raise DataError(f"the virtual card keeps no store {node.store!r}",
                                    where=loc.where)
                content = made[node.store] = maker(node.store, node)
            if content.size != node.total_size or (content.records is None) != (
                    node.structure is Structure.TRANSPARENT):
                raise DataError(f"store {node.store} holds {content.size} bytes, the file "
                                f"{node.total_size}", where=loc.where)
            return content
        content = contents.get(loc.key)
        if content is None:
            value = files.get(loc.key)
            if value is None:                  # a file the image does not know yet
                value = initial_value(node)
            check_shape(loc, value)
            if isinstance(value, list):
                content = Content(loc.key, records=list(value))
            else:
                content = Content(loc.key, data=value)
            contents[loc.key] = content
        return content

    def walk(df_node: DfNode, df: DF, ancestors: tuple[DfNode, ...], prefix: str) -> None:
        for child in df_node.children:
            where = f"{prefix}/{child.name}" if prefix else child.name
            loc = tree.get(where)
            if isinstance(child, DfNode):
                sub = DF(child.fid, child.name, child.aid)
                sub.arr_fid = _arr_fid(child, (*ancestors, df_node))
                if child.aid is None:
                    df.add(sub)
                else:
                    sub.parent = df        # an ADF is reached by AID or 7FFF, not by FID
                nodes[where] = sub
                walk(child, sub, (*ancestors, df_node), where)
            else:
                if child.structure not in (Structure.TRANSPARENT, Structure.LINEAR_FIXED,
                                           Structure.CYCLIC):
                    raise DataError(f"the virtual card has no {child.structure.value} EFs",
                                    where=where)
                arr_record_number(child.access, where)      # the rule must be in EF.ARR
                ef = EF(child.fid, child.name, content_of(loc), child.access, child.sfi,
                        child.structure, where)
                ef.arr_fid = _arr_fid(df_node, ancestors)
                df.add(ef)
                nodes[where] = ef

    walk(tree.root, mf, (), "")
    for name in auth:                          # the keys AUTHENTICATE uses, shown or not
        if name not in made:
            made[name] = makers[name](name, None)
    adfs = {where: df for where, df in nodes.items() if isinstance(df, DF) and df.aid}
    if "ADF.USIM" not in adfs:
        raise DataError("the card tree has no ADF.USIM")
    return Card(mf, adfs["ADF.USIM"], nodes, contents, made, adfs)


def _arr_fid(df: DfNode, ancestors: tuple[DfNode, ...]) -> int:
    """The FID of the nearest EF.ARR from ``df`` up to the MF."""
    for node in (df, *reversed(ancestors)):
        for child in node.children:
            if isinstance(child, EfNode) and child.name == ARR_NAME:
                return child.fid
    raise DataError("the card tree has no EF.ARR", where=df.name)
