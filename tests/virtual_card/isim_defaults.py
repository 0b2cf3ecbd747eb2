"""What the virtual card holds in ADF.ISIM and in ADF.USIM's mandatory START-HFN, THRESHOLD and
NETPAR files when its image says nothing else, keyed by the card tree's places
(``"ADF.ISIM/EF.IMPI"``, :attr:`simtool.cardtree.Located.where`).

The Milo subscriber of :mod:`.defaults` (IMSI 260011234567890, MSISDN +48531234567) with the
IMS identities TS 23.003 §13 gives it:

=========  =====================================================================
domain     ims.mnc001.mcc260.3gppnetwork.org (§13.2: MNC in three digits)
IMPI       260011234567890@ims.mnc001.mcc260.3gppnetwork.org (§13.3)
IMPU       sip:+48531234567@ims.mnc001.mcc260.3gppnetwork.org (§13.4)
P-CSCF     pcscf.ims.mnc001.mcc260.3gppnetwork.org (an FQDN, TS 31.103 §4.2.8)
IST        service 1 (P-CSCF address) available (TS 31.103 §4.2.7)
=========  =====================================================================

and the personalisation values TS 31.102 Annex E gives: EF.START-HFN F00000F00000,
EF.THRESHOLD FFFFFF, EF.NETPAR all FF.  The bytes are written out here, not encoded with
simtool's codecs, so that a codec bug shows up as a difference in the tests.
"""

from __future__ import annotations

from simtool.cardtree import COMMON, ISIM_AID

IMSI = "260011234567890"
MSISDN = "48531234567"
DOMAIN = "ims.mnc001.mcc260.3gppnetwork.org"
IMPI = f"{IMSI}@{DOMAIN}"
IMPU = f"sip:+{MSISDN}@{DOMAIN}"
PCSCF = f"pcscf.{DOMAIN}"


def _tag80(value: bytes) -> bytes:
    """A tag-80 data object with a one-byte length (all values here are < 128 bytes)."""
    assert len(value) < 0x80
    return bytes((0x80, len(value))) + value


def _pad(where: str, data: bytes) -> bytes:
    return data.ljust(COMMON.get(where).node.size, b"\xff")


def _records(where: str, *records: bytes) -> list[bytes]:
    node = COMMON.get(where).node
    return [r.ljust(node.size, b"\xff") for r in records] + \
        [b"\xff" * node.size] * (node.records - len(records))


def tree_files() -> dict[str, bytes | list[bytes]]:
    """The default content of each of these files, by its place in the card tree."""
    return {
        "ADF.ISIM/EF.IMPI": _pad("ADF.ISIM/EF.IMPI", _tag80(IMPI.encode())),
        "ADF.ISIM/EF.DOMAIN": _pad("ADF.ISIM/EF.DOMAIN", _tag80(DOMAIN.encode())),
        "ADF.ISIM/EF.IMPU": _records("ADF.ISIM/EF.IMPU", _tag80(IMPU.encode())),
        "ADF.ISIM/EF.AD": b"\x00\x00\x00",                     # normal operation
        "ADF.ISIM/EF.IST": b"\x01\x00\x00",                    # service 1: P-CSCF address
        "ADF.ISIM/EF.P-CSCF": _records("ADF.ISIM/EF.P-CSCF", _tag80(b"\x00" + PCSCF.encode())),
        "ADF.USIM/EF.START-HFN": bytes.fromhex("F00000F00000"),
        "ADF.USIM/EF.THRESHOLD": bytes.fromhex("FFFFFF"),
        "ADF.USIM/EF.NETPAR": b"\xff" * COMMON.get("ADF.USIM/EF.NETPAR").node.size,
    }


def isim_dir_record(length: int) -> bytes:
    """EF.DIR's record for the ISIM: template 61 with AID (4F) and label "ISIM" (50)
    (ETSI TS 102 221 §13.1), FF-padded to ``length``."""
    body = b"\x4f" + bytes((len(ISIM_AID),)) + ISIM_AID + b"\x50\x04ISIM"
    return (b"\x61" + bytes((len(body),)) + body).ljust(length, b"\xff")
