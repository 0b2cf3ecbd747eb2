"""Programmable card types, recognised by their ATR (ISO/IEC 7816-3 §8).

Tools in this field pick a card driver by exact ATR match; so do we.  The table is data: ATR,
name, how its ADM1 key is formatted and referenced, and the minimum ADM1 tries simtool leaves
untouched (a blocked ADM1 cannot be recovered).  ATRs per ../shared/reference/sim-facts.md §10.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

from simtool.cardtree import ADM_ADM, ADM_NEV, COMMON, EF_MENU, CardTree, DfNode, Node, raw
from simtool.pin import ADM1, ADM_MIN_TRIES, AdmFormat, KeyReference


@dataclass(frozen=True)
class CardType:
    name: str
    atrs: tuple[bytes, ...]
    adm_format: AdmFormat
    adm_key_ref: KeyReference = ADM1
    programmable: bool = True
    # Never VERIFY ADM1 when fewer tries than this are left: one mistake must not lock the card.
    adm_min_tries: int = ADM_MIN_TRIES
    # The vendor ties the card OS's licence management to the factory ICCID (sysmocom's
    # sysmoISIM cards; pySim's driver refuses to rewrite it for that reason): simtool changes
    # the ICCID of such a card only when explicitly told to.
    factory_iccid_bound: bool = False
    #: proprietary files: (parent DF's place in the tree, node), added to the common tree
    files: tuple[tuple[str, Node], ...] = ()
    #: files that share another file's content: (place, place of the file it shows)
    links: tuple[tuple[str, str], ...] = ()
    #: a tree given instead of the common one + files + links (:meth:`with_tree`)
    given_tree: CardTree | None = field(default=None, compare=False, repr=False)

    @cached_property
    def tree(self) -> CardTree:
        """The common tree with this card type's own files and links."""
        if self.given_tree is not None:
            return self.given_tree
        tree = COMMON
        for parent, node in self.files:
            tree = tree.with_child(parent, node)
        for where, target in self.links:
            tree = tree.linked(where, target)
        return tree

    def with_tree(self, tree: CardTree) -> CardType:
        """The same card type (equal to this one) reading ``tree``: a driver or ``info`` built
        on it sees a file removed from the tree as absent, e.g.
        ``SYSMO_ISIM_SJA2.with_tree(SYSMO_ISIM_SJA2.tree.without("ADF.USIM/EF.AD"))``."""
        return replace(self, given_tree=tree)

    def matches(self, atr: bytes) -> bool:
        return atr in self.atrs


def _atr(*hexes: str) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(h.replace(" ", "")) for h in hexes)


#: Content the SJA2 keeps outside its ordinary files (``EfNode.store``): the two Milenage key
#: files, and the PIN files, which are views of the card's PIN/PUK/ADM counters.
AUTH_USIM, AUTH_GSM = "auth.usim", "auth.gsm"

#: Content the emulator keeps outside its ordinary files and shows through a proprietary EF:
#: the OTA key sets and counters, the GP SCP02 sequence counters, the SQN state of AKA.
OTA_KEYS, OTA_COUNTERS, GP_COUNTERS, SQN_STATE = "ota.keys", "ota.counters", "gp.counters", "sqn"

#: The sysmoISIM-SJA2's own files, as a real card (ATR variant 1, pySim-shell's export of one
#: kept with osmocom pySim's tests) has them: FID, structure, size or record length x count,
#: and access (read/update ADM1 where the card's compact rule says 03 1A 1A; the GBA files'
#: rule allows nothing, shown here as ADM1 read, update never).  Layouts as pySim's
#: sysmocom_sja2.py decodes them (sysmocom's manual was not consulted):
#:
#: * DF.SYSTEM A515: the PIN files EF.CHV1/CHV2 (21 bytes: state, tries, maximum, PIN, PUK
#:   part) and EF.ADM1/ADM2 (11 bytes, no PUK part) for key references 0A/0B; the card has no
#:   EF.ADM3/ADM4 (6F0C/6F0D) and no EF.SIM_AUTH_COUNTER (AF24): SELECT answers 6A82 for them.
#:   EF.SIM_AUTH_KEY 6F20 (cfg + K + OP/OPc, the GSM context), EF.MILENAGE_CFG 6F21 (85 bytes:
#:   rotations, constants); EF.0348_KEY 6F22 (12 records of 35: security domain, key set
#:   version, b8 MAC length/b7 AES/b6..b4 key length in 8 bytes/b2..b1 KIc-KID-KIK, key);
#:   EF.0348_COUNT 6F23 (4 records of 7: security domain, key set version, 5-byte counter);
#:   EF.GP_COUNT 6F26 (3 records of 5: security domain, key set version, 2-byte SCP02
#:   sequence counter, RFU); EF.GP_DIV_DATA 6F27 (1 record of 12: security domain, key set
#:   version, 8 bytes of key diversification data).
#: * ADF.USIM: EF.USIM_AUTH_KEY AF20 (3G context), EF.USIM_AUTH_KEY_2G AF22 (= A515/6F20),
#:   EF.USIM_SQN AF30 (206 bytes: flags, delta, age limit, 32 freshness values;
#:   :class:`simtool.provision.sja2.UsimSqnFile`), EF.GBA_SK AF31 (33), EF.GBA_REC_LIST AF32
#:   (200), EF.GBA_INT_KEY AF33 (1 record of 32).  EF.MENU is simtool's menu applet's file.
#: * ADF.ISIM, when the tree has one: EF.ISIM_AUTH_KEY AF20, EF.ISIM_AUTH_KEY_2G AF22 and
#:   EF.ISIM_SQN AF30, laid out as the USIM's (the virtual card's ISIM shares the USIM's keys
#:   and SQN state).
SJA2_FILES: tuple[tuple[str, Node], ...] = (
    ("", DfNode("DF.SYSTEM", 0xA515, (
        raw("EF.CHV1", 0x6F01, ADM_ADM, 21, store="pin.PIN1"),
        raw("EF.CHV2", 0x6F81, ADM_ADM, 21, store="pin.PIN2"),
        raw("EF.ADM1", 0x6F0A, ADM_ADM, 11, store="pin.ADM1"),
        raw("EF.ADM2", 0x6F0B, ADM_ADM, 11, store="pin.ADM2"),
        raw("EF.SIM_AUTH_KEY", 0x6F20, ADM_ADM, 33, store=AUTH_GSM),
        raw("EF.MILENAGE_CFG", 0x6F21, ADM_NEV, 85, store="milenage.cfg"),
        raw("EF.0348_KEY", 0x6F22, ADM_ADM, 35, records=12, store=OTA_KEYS),
        raw("EF.0348_COUNT", 0x6F23, ADM_ADM, 7, records=4, store=OTA_COUNTERS),
        raw("EF.GP_COUNT", 0x6F26, ADM_ADM, 5, records=3, store=GP_COUNTERS),
        raw("EF.GP_DIV_DATA", 0x6F27, ADM_ADM, 12, records=1),
    ))),
    ("ADF.USIM", raw("EF.USIM_AUTH_KEY", 0xAF20, ADM_ADM, 33, store=AUTH_USIM)),
    ("ADF.USIM", raw("EF.USIM_AUTH_KEY_2G", 0xAF22, ADM_ADM, 33, store=AUTH_GSM)),
    ("ADF.USIM", raw("EF.USIM_SQN", 0xAF30, ADM_ADM, 206, store=SQN_STATE)),
    ("ADF.USIM", raw("EF.GBA_SK", 0xAF31, ADM_NEV, 33)),
    ("ADF.USIM", raw("EF.GBA_REC_LIST", 0xAF32, ADM_NEV, 200)),
    ("ADF.USIM", raw("EF.GBA_INT_KEY", 0xAF33, ADM_NEV, 32, records=1)),
    ("ADF.USIM", EF_MENU),
)
#: ADF.ISIM's own files on the SJA2, part of SJA2_FILES as soon as the common tree has the ISIM
SJA2_ISIM_FILES: tuple[tuple[str, Node], ...] = (
    ("ADF.ISIM", raw("EF.ISIM_AUTH_KEY", 0xAF20, ADM_ADM, 33, store=AUTH_USIM)),
    ("ADF.ISIM", raw("EF.ISIM_AUTH_KEY_2G", 0xAF22, ADM_ADM, 33, store=AUTH_GSM)),
    ("ADF.ISIM", raw("EF.ISIM_SQN", 0xAF30, ADM_ADM, 206, store=SQN_STATE)),
)
if COMMON.has("ADF.ISIM"):
    SJA2_FILES += SJA2_ISIM_FILES
#: ADF.USIM's files that are DF.GSM's, DF.TELECOM's or the MF's (pySim-prog programs an SJA2
#: through DF.GSM and DF.TELECOM only).
SJA2_LINKS: tuple[tuple[str, str], ...] = (("ADF.USIM/EF.ARR", "EF.ARR"),) + tuple(
    (f"ADF.USIM/{name}", f"{df}/{name}") for df, name in (
        ("DF.GSM", "EF.IMSI"), ("DF.GSM", "EF.HPPLMN"),
        ("DF.TELECOM", "EF.MSISDN"), ("DF.TELECOM", "EF.SMSP"), ("DF.GSM", "EF.SPN"),
        ("DF.GSM", "EF.PLMNwAcT"), ("DF.GSM", "EF.OPLMNwACT"), ("DF.GSM", "EF.HPLMNwAcT"),
        ("DF.GSM", "EF.ACC"), ("DF.GSM", "EF.FPLMN"), ("DF.GSM", "EF.LOCI"))
)

SYSMO_ISIM_SJA2 = CardType(
    "sysmoISIM-SJA2",
    _atr(
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 4C 75 30 34 05 4B A9",
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 4C 75 31 33 02 51 B2",
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 4C 52 75 31 04 51 D5",
    ),
    AdmFormat.DECIMAL8,
    factory_iccid_bound=True,
    files=SJA2_FILES,
    links=SJA2_LINKS,
)
SYSMO_ISIM_SJA5 = CardType(
    "sysmoISIM-SJA5",
    _atr(
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 35 75 30 35 02 59 C4",
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 35 75 30 35 02 51 CC",
        "3B 9F 96 80 1F 87 80 31 E0 73 FE 21 1B 67 4A 35 75 30 35 02 65 F8",
    ),
    AdmFormat.DECIMAL8,
    factory_iccid_bound=True,
)
SYSMO_USIM_SJS1 = CardType(
    "sysmoUSIM-SJS1",
    _atr("3B 9F 96 80 1F C7 80 31 A0 73 BE 21 13 67 43 20 07 18 00 00 01 A5"),
    AdmFormat.DECIMAL8,
)

KNOWN_TYPES: tuple[CardType, ...] = (SYSMO_ISIM_SJA2, SYSMO_ISIM_SJA5, SYSMO_USIM_SJS1)

# Card types whose Ki/OPc programming simtool implements (simtool.provision.program).
PROGRAMMABLE: tuple[CardType, ...] = (SYSMO_ISIM_SJA2,)


def identify(atr: bytes) -> CardType | None:
    for t in KNOWN_TYPES:
        if t.matches(atr):
            return t
    return None
