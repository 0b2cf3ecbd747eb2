"""The card tree's model: EF and DF nodes with their access conditions, and :class:`CardTree`
(look-up by place or by codec, links, derived trees).  The standard files are declared in
:mod:`simtool.cardtree.standard`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import NamedTuple, Union

from simtool.ef.base import EfCodec, Structure
from simtool.errors import DataError

#: The FID that stands for the current ADF in a path (TS 102 221 §8.4.2).
ADF_FID = 0x7FFF
MF_FID = 0x3F00
USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8907090000")
USIM_NAME = "ADF.USIM"
#: The sysmoISIM-SJA2's ISIM: RID A000000087, application code 1004 (TS 101 220 Annex E), the
#: same PIX tail as its USIM (its EF.DIR, sim-facts §2.1).
ISIM_AID = bytes.fromhex("A0000000871004FFFFFFFF8907090000")


class Acc(enum.IntEnum):
    """Who may perform an operation; the value is the TS 51.011 §9.3 nibble (ADMn as A..D)."""

    ALW = 0x0
    PIN1 = 0x1
    PIN2 = 0x2
    ADM1 = 0xA
    ADM2 = 0xB
    ADM3 = 0xC
    ADM4 = 0xD
    NEV = 0xF


class Access(NamedTuple):
    """The access conditions of an EF: READ, UPDATE, INCREASE, DEACTIVATE/ACTIVATE."""

    read: Acc
    update: Acc
    increase: Acc = Acc.NEV
    deactivate: Acc = Acc.ADM1


ALW_ADM = Access(Acc.ALW, Acc.ADM1)
ALW_PIN = Access(Acc.ALW, Acc.PIN1)
PIN_ADM = Access(Acc.PIN1, Acc.ADM1)
PIN_PIN = Access(Acc.PIN1, Acc.PIN1)
PIN_PIN2 = Access(Acc.PIN1, Acc.PIN2)
ADM_ADM = Access(Acc.ADM1, Acc.ADM1)
ADM_NEV = Access(Acc.ADM1, Acc.NEV)

#: The access rules a card's EF.ARR holds, record n = ARR_RULES[n - 1]; DFs reference record 1.
ARR_RULES: tuple[Access, ...] = (ALW_ADM, ALW_PIN, PIN_ADM, PIN_PIN, PIN_PIN2, ADM_ADM, ADM_NEV)


@dataclass(frozen=True)
class EfNode:
    """One elementary file.  ``size`` is the file size (transparent) or the record length
    (linear fixed, cyclic), ``records`` the record count.  ``link`` names the file whose
    content this one shares (``"DF.GSM/EF.IMSI"``); ``store`` names content the card keeps
    outside its ordinary files (keys, PIN files: the card type says which)."""

    name: str
    fid: int
    access: Access
    size: int
    structure: Structure = Structure.TRANSPARENT
    records: int = 0
    sfi: int | None = None
    codec: type[EfCodec] | None = None
    link: str | None = None
    store: str | None = None

    def __post_init__(self) -> None:
        if self.sfi is not None and not 0 < self.sfi < 0x1F:
            raise DataError(f"SFI {self.sfi:02X} out of range", where=self.name)
        if (self.structure is Structure.TRANSPARENT) != (self.records == 0):
            raise DataError("a record file needs a record count, a transparent one none",
                            where=self.name)

    @property
    def total_size(self) -> int:
        return self.size * self.records if self.records else self.size


@dataclass(frozen=True)
class DfNode:
    """MF, DF or ADF (an ADF has an AID; in paths it is :data:`ADF_FID`)."""

    name: str
    fid: int | None
    children: tuple[Node, ...] = ()
    aid: bytes | None = None

    @property
    def path_fid(self) -> int:
        return ADF_FID if self.aid is not None else self.fid


Node = Union[EfNode, DfNode]


def ef(codec: type[EfCodec], access: Access, *, size: int | None = None, records: int = 0,
       sfi: int | None | bool = True, name: str | None = None) -> EfNode:
    """The node of a file simtool has a codec for: FID, structure and SFI from the codec
    (``sfi=False``: the file has none at this place, e.g. in DF.GSM)."""
    if sfi is True:
        sfi = codec.SFI
    elif sfi is False:
        sfi = None
    return EfNode(name or codec.NAME, codec.FID, access, size or codec.SIZE, codec.STRUCTURE,
                  records, sfi, codec)


def raw(name: str, fid: int, access: Access, size: int, *, records: int = 0,
        sfi: int | None = None, structure: Structure | None = None,
        store: str | None = None) -> EfNode:
    """The node of a file simtool keeps as bytes."""
    if structure is None:
        structure = Structure.LINEAR_FIXED if records else Structure.TRANSPARENT
    return EfNode(name, fid, access, size, structure, records, sfi, None, None, store)


@dataclass(frozen=True)
class Located:
    """A node at its place: ``path`` are the FIDs below the MF (the ADF as 7FFF), ``where``
    the names below the MF (``"DF.GSM/EF.IMSI"``; an MF file is just ``"EF.ICCID"``)."""

    node: Node
    path: tuple[int, ...]
    where: str
    #: the ADF this node is (or is in), None outside any ADF
    adf: str | None = None

    @cached_property
    def key(self) -> str:
        """The path as text from the MF, ``3F00/7F20/6F07``: the virtual card's image key.
        ADF.USIM shows as ``7FFF``; another ADF, whose files would otherwise share ADF.USIM's
        keys (6FAD, 6F06, 6F07 are in both), by its name: ``3F00/ADF.ISIM/6F02``."""
        parts = [f"{fid:04X}" for fid in (MF_FID, *self.path)]
        if self.adf is not None and self.adf != USIM_NAME:
            parts[parts.index(f"{ADF_FID:04X}")] = self.adf
        return "/".join(parts)

    @property
    def parent(self) -> str:
        return self.where.rpartition("/")[0]


@dataclass(frozen=True)
class CardTree:
    root: DfNode
    _index: dict[str, Located] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Located] = {}
        self._walk_into(self.root, (), "", index, None)
        object.__setattr__(self, "_index", index)
        for loc in index.values():
            link = getattr(loc.node, "link", None)
            if link is not None:
                target = index.get(link)
                if target is None or not isinstance(target.node, EfNode) or target.node.link:
                    raise DataError(f"links to {link}, which is not a plain EF of the tree",
                                    where=loc.where)

    @staticmethod
    def _walk_into(df: DfNode, path: tuple[int, ...], where: str,
                   index: dict[str, Located], adf: str | None) -> None:
        fids: set[int] = set()
        sfis: set[int] = set()
        aids: set[bytes] = set()
        for child in df.children:
            fid = child.path_fid if isinstance(child, DfNode) else child.fid
            if isinstance(child, DfNode) and child.aid is not None:
                # ADFs are told apart by AID (TS 102 221 §8.3); each is 7FFF while current
                if child.aid in aids:
                    raise DataError(f"AID {child.aid.hex().upper()} twice in {df.name}",
                                    where=child.name)
                aids.add(child.aid)
            elif fid in fids:
                raise DataError(f"FID {fid:04X} twice in {df.name}", where=child.name)
            else:
                fids.add(fid)
            if isinstance(child, EfNode) and child.sfi is not None:
                if child.sfi in sfis:
                    raise DataError(f"SFI {child.sfi:02X} twice in {df.name}", where=child.name)
                sfis.add(child.sfi)
            child_where = f"{where}/{child.name}" if where else child.name
            if child_where in index:
                raise DataError(f"two files named {child.name} in {df.name}", where=child.name)
            child_adf = child.name if isinstance(child, DfNode) and child.aid else adf
            index[child_where] = Located(child, (*path, fid), child_where, child_adf)
            if isinstance(child, DfNode):
                CardTree._walk_into(child, (*path, fid), child_where, index, child_adf)

    def walk(self) -> Iterator[Located]:
        """Every DF and EF below the MF, parents before their children."""
        return iter(self._index.values())

    def files(self) -> Iterator[Located]:
        return (loc for loc in self._index.values() if isinstance(loc.node, EfNode))

    def get(self, where: str) -> Located:
        try:
            return self._index[where]
        except KeyError:
            raise DataError(f"the card tree has no file {where}") from None

    def has(self, where: str) -> bool:
        return where in self._index

    def of(self, codec: type[EfCodec]) -> tuple[Located, ...]:
        """Every place the file of ``codec`` lives (links included); an error when none."""
        found = tuple(loc for loc in self.files() if loc.node.codec is codec)
        if not found:
            raise DataError(f"the card tree has no file {codec.NAME}")
        return found

    def target(self, loc: Located) -> Located:
        """The file whose content ``loc`` shows: itself, or the file it links to."""
        link = getattr(loc.node, "link", None)
        return self._index[link] if link else loc

    def listing(self) -> str:
        """The tree as text, one file a line: FID, SFI, structure and size, READ/UPDATE
        conditions, and the codec, the linked file or the content store (docs/card-tree.md
        shows this listing)."""
        lines = [f"{self.root.name} {self.root.fid:04X}"]

        def walk(df: DfNode, indent: str) -> None:
            for i, child in enumerate(df.children):
                last = i == len(df.children) - 1
                head = f"{indent}{'└─ ' if last else '├─ '}"
                if isinstance(child, DfNode):
                    ident = f"AID {child.aid.hex().upper()}" if child.aid else f"{child.fid:04X}"
                    lines.append(f"{head}{child.name} {ident}")
                    walk(child, indent + ("   " if last else "│  "))
                    continue
                shape = (f"{child.structure.value} {child.records}×{child.size}"
                         if child.records else f"{child.structure.value} {child.size}")
                sfi = f"SFI {child.sfi:02X}" if child.sfi is not None else "      "
                acc = f"{child.access.read.name}/{child.access.update.name}"
                what = (f"→ {child.link}" if child.link else child.codec.__name__ if child.codec
                        else f"[{child.store}]" if child.store else "")
                lines.append(f"{head}{child.name:<{26 - len(indent)}} {child.fid:04X} {sfi} "
                             f"{shape:<19} {acc:<9} {what}".rstrip())

        walk(self.root, "")
        return "\n".join(lines)

    # --- deriving trees ----------------------------------------------------------------

    def _edit(self, where: str, edit) -> CardTree:
        parts = where.split("/")

        def rebuild(df: DfNode, depth: int) -> DfNode:
            children = []
            hit = False
            for child in df.children:
                if child.name == parts[depth]:
                    hit = True
                    if depth == len(parts) - 1:
                        child = edit(child)
                    elif isinstance(child, DfNode):
                        child = rebuild(child, depth + 1)
                    else:
                        raise DataError(f"{child.name} is not a DF", where=where)
                if child is not None:
                    children.append(child)
            if not hit:
                raise DataError(f"the card tree has no file {where}")
            return replace(df, children=tuple(children))

        return CardTree(rebuild(self.root, 0))

    def without(self, where: str) -> CardTree:
        """This tree without the file (or DF) at ``where``."""
        return self._edit(where, lambda _node: None)

    def linked(self, where: str, target: str) -> CardTree:
        """This tree with the file at ``where`` sharing the content of ``target``."""
        return self._edit(where, lambda node: replace(node, link=target))

    def with_child(self, parent: str, node: Node) -> CardTree:
        """This tree with ``node`` added to the DF at ``parent`` ("" = the MF)."""
        if not parent:
            return CardTree(replace(self.root, children=(*self.root.children, node)))
        return self._edit(parent, lambda df: replace(df, children=(*df.children, node)))
