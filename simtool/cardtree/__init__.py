"""The card's file tree, declared once: MF, DF.TELECOM, DF.GSM, DF.CDMA, ADF.USIM, ADF.ISIM and
their EFs.

Every EF is an :class:`EfNode` with its FID, SFI, structure, size (or record length and count)
and access conditions; where simtool has a codec for the file (``simtool.ef``), the node names
that class and takes FID, SFI and structure from it, so each FID is written once, either in its
codec or in the tree (:mod:`.standard` for the standard files, :mod:`simtool.cardtypes` for a
card type's own).  Card types add their proprietary files and declare which files are links to
others; :meth:`simtool.cardtypes.CardType.tree` is the tree of one card type.

Who reads it: the virtual card builds its file system and FCP templates from it (its image
keeps only contents and counters), the SJA2 driver's write plan finds where a codec's file lives
(:meth:`CardTree.of`), and ``simtool info`` takes its paths from it.  Add a file to the tree
(or to a card type) and all three see it.
"""

from simtool.cardtree.model import (ADF_FID, ADM_ADM, ADM_NEV, ALW_ADM, ALW_PIN, ARR_RULES,
                                    ISIM_AID, MF_FID, PIN_ADM, PIN_PIN, PIN_PIN2, USIM_AID,
                                    USIM_NAME, Acc, Access, CardTree, DfNode, EfNode, Located,
                                    Node, ef, raw)
from simtool.cardtree.standard import COMMON, EF_MENU, MF

__all__ = [
    "ADF_FID", "ADM_ADM", "ADM_NEV", "ALW_ADM", "ALW_PIN", "ARR_RULES", "COMMON", "EF_MENU",
    "ISIM_AID", "MF", "MF_FID", "PIN_ADM", "PIN_PIN", "PIN_PIN2", "USIM_AID", "USIM_NAME", "Acc",
    "Access", "CardTree", "DfNode", "EfNode", "Located", "Node", "ef", "raw",
]
