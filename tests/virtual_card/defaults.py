"""The built-in card image: a Milo Telecom subscriber on the SJA2-like layout.

========  ===============================================================================
ICCID     8948011234567890128 (sim-facts §3.1)
IMSI      260011234567890 (MCC 260, MNC 01; EF.AD says 2-digit MNC)
MSISDN    +48531234567
SPN       "Milo Telecom"
PIN1      1234, enabled, 3 tries; PUK1 12345678, 10 tries
PIN2      5678, 3 tries; PUK2 87654321, 10 tries
ADM1      11223344 (8 decimal digits on key reference 0A, like an SJA2), 3 tries
ADM2      55667788 (key reference 0B, as the SJA2 has it), 3 tries
Ki / OPc  3GPP TS 35.208 test set 1, Milenage, for both the USIM and the GSM key file
SQN       highest accepted 0, no upper window (any fresh SQN is accepted)
========  ===============================================================================

ADM1 deliberately differs from every PIN/PUK so that a card checking the wrong secret fails
the tests.  The encoders below are the card's own (TS 102 221 §13.2, TS 31.102 §4.2); the
emulator shares no codec with the simtool code it tests.

Contents are named by their place in the card tree (``"DF.GSM/EF.IMSI"``); every other EF of
the tree starts as :func:`.layout.initial_value` has it (an EF.ARR with the access rules, any
other file erased, all FF), so a file added to the tree needs no entry here.
"""

from __future__ import annotations

from simtool.cardtree import USIM_AID

from .gp import default_gp
from .ota import default_ota
from .layout import AUTH_GSM, AUTH_USIM, TREE, image_files, initial_value
from .isim_defaults import isim_dir_record, tree_files

ICCID = "8948011234567890128"
IMSI = "260011234567890"
MSISDN = "48531234567"
SPN = "Milo Telecom"
KI = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
# EF.SIM_AUTH_KEY / EF.USIM_AUTH_KEY cfg byte: b5 = value is OPc, b4..b1 = 4 (Milenage).
AUTH_CFG_MILENAGE_OPC = 0x14

UST_SERVICES = (12, 19, 20, 21, 27, 33, 34, 38, 42, 43, 71)   # TS 31.102 §4.2.8
MENU = "ADF.USIM/EF.MENU"
EF_MENU = TREE.get(MENU).key              # the image key of the menu applet's file
SST_SERVICES = (1, 2, 7, 9, 12, 15, 16, 17, 27, 29, 43, 44, 45)  # TS 51.011 §10.3.7


def swapped_bcd(digits: str, size: int) -> bytes:
    """Digits two per byte, first digit in the low nibble, F-padded (TS 102 221 §13.2)."""
    nibbles = [int(d, 16) for d in digits] + [0xF] * (2 * size - len(digits))
    return bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, 2 * size, 2))


def imsi_bytes(imsi: str) -> bytes:
    """EF.IMSI: length, then digit 1 + parity/type nibble, then swapped BCD (TS 31.102 §4.2.2)."""
    parity = 0x9 if len(imsi) % 2 else 0x1
    body = bytes((int(imsi[0]) << 4 | parity,)) + swapped_bcd(imsi[1:], len(imsi) // 2)
    return bytes((len(body),)) + body.ljust(8, b"\xff")


def plmn(mcc: str, mnc: str) -> bytes:
    """3-byte PLMN (TS 24.008 §10.5.1.3): MCC2|MCC1, MNC3|MCC3, MNC2|MNC1."""
    mnc3 = mnc[2] if len(mnc) == 3 else "F"
    return swapped_bcd(mcc[:2], 1) + swapped_bcd(mcc[2] + mnc3, 1) + swapped_bcd(mnc[:2], 1)


def number_record(number: str, alpha_len: int) -> bytes:
    """ADN/MSISDN record: alpha, BCD length, TON/NPI 91, number, CCP, EXT (TS 31.102 §4.4.2.3)."""
    bcd = swapped_bcd(number, (len(number) + 1) // 2)
    return (b"\xff" * alpha_len + bytes((len(bcd) + 1, 0x91)) + bcd.ljust(10, b"\xff")
            + b"\xff\xff")


def service_table(services: tuple[int, ...], size: int, bits_per_service: int) -> bytes:
    """UST (1 bit, TS 31.102 §4.2.8) or SST (2 bits: allocated + activated, TS 51.011 §10.3.7)."""
    table = bytearray(size)
    per_byte = 8 // bits_per_service
    for n in services:
        mask = (1 << bits_per_service) - 1
        table[(n - 1) // per_byte] |= mask << (bits_per_service * ((n - 1) % per_byte))
    return bytes(table)


def _pin(value: str, puk: str | None) -> dict:
    entry = {"value": value, "enabled": True, "tries": 3, "max_tries": 3}
    if puk is not None:
        entry.update({"puk": puk, "puk_tries": 10, "puk_max_tries": 10})
    return entry


def default_contents() -> dict[str, bytes | list[bytes]]:
    """The subscriber's contents, by place in the tree."""
    hplmn = plmn("260", "01")
    unused_act = bytes.fromhex("FFFFFF0000")
    dir_record = bytes.fromhex("61") + bytes((len(USIM_AID) + 8,)) + b"\x4f\x10" + USIM_AID \
        + b"\x50\x04USIM"
    msisdn = number_record(MSISDN, 20)
    return {
        "EF.DIR": [dir_record.ljust(32, b"\xff"), isim_dir_record(32)],
        "EF.ICCID": swapped_bcd(ICCID, 10),
        "EF.PL": b"plen".ljust(10, b"\xff"),
        "DF.TELECOM/EF.MSISDN": [msisdn, b"\xff" * 34],
        "DF.GSM/EF.IMSI": imsi_bytes(IMSI),
        "DF.GSM/EF.Kc": b"\xff" * 8 + b"\x07",
        "DF.GSM/EF.PLMNsel": hplmn.ljust(60, b"\xff"),
        "DF.GSM/EF.HPPLMN": b"\x05",
        "DF.GSM/EF.SST": service_table(SST_SERVICES, 15, 2),
        "DF.GSM/EF.SPN": b"\x01" + SPN.encode("ascii").ljust(16, b"\xff"),
        "DF.GSM/EF.PLMNwAcT": unused_act * 12,
        "DF.GSM/EF.OPLMNwACT": hplmn + b"\xc0\x80" + unused_act * 11,
        "DF.GSM/EF.HPLMNwAcT": hplmn + b"\xc0\x80" + unused_act * 11,
        "DF.GSM/EF.ACC": (1 << int(IMSI[-1])).to_bytes(2, "big"),
        "DF.GSM/EF.LOCI": bytes.fromhex("FFFFFFFFFFFFFF0000FF01"),
        "DF.GSM/EF.AD": b"\x00\x00\x00\x02",
        "DF.GSM/EF.Phase": b"\x03",
        "DF.GSM/EF.ECC": bytes.fromhex("11F2FF19F1FF").ljust(15, b"\xff"),
        "ADF.USIM/EF.LI": b"plen".ljust(10, b"\xff"),
        "ADF.USIM/EF.Keys": b"\x07" + b"\xff" * 32,
        "ADF.USIM/EF.KeysPS": b"\x07" + b"\xff" * 32,
        "ADF.USIM/EF.UST": service_table(UST_SERVICES, 20, 1),
        "ADF.USIM/EF.EST": b"\x00",
        "ADF.USIM/EF.PSLOCI": bytes.fromhex("FFFFFFFFFFFFFFFFFF000000FF01"),
        "ADF.USIM/EF.AD": b"\x00\x00\x00\x02",
        "ADF.USIM/EF.ECC": [bytes.fromhex("11F2FF00"), bytes.fromhex("19F1FF00")]
                           + [b"\xff" * 4] * 3,
        "ADF.USIM/EF.EHPLMN": hplmn.ljust(12, b"\xff"),
        "ADF.USIM/DF.GSM-ACCESS/EF.Kc": b"\xff" * 8 + b"\x07",
        "ADF.USIM/DF.GSM-ACCESS/EF.KcGPRS": b"\xff" * 8 + b"\x07",
        **tree_files(),          # ADF.ISIM and the USIM's START-HFN, THRESHOLD, NETPAR
        **_empty_values(),
    }


def _empty_values() -> dict[str, bytes | list[bytes]]:
    """Files whose spec gives "nothing yet" a value other than all FF: no charge counted
    and no limit (TS 31.102 §4.2.6/7, TS 51.011 §10.3.6/7), no call time (§4.2.35/36),
    locations "not updated" (TS 31.102 §4.2.23/91, §4.4.11.2/3; TS 51.011 §10.3.33),
    phone book counters at 0 (TS 31.102 §4.4.2.12-14), no investigation scan (§4.4.3.5)."""
    not_updated_gprs = bytes.fromhex("FFFFFFFFFFFFFFFFFF000000FF01")
    not_updated_5gs = b"\xff" * 19 + b"\x01"
    values: dict[str, bytes | list[bytes]] = {
        "DF.GSM/EF.LOCIGPRS": not_updated_gprs,
        "DF.GSM/EF.InvScan": b"\x00",
        "ADF.USIM/EF.ICT": [b"\x00" * 3],
        "ADF.USIM/EF.OCT": [b"\x00" * 3],
        # GUTI and TAI absent, EPS update status 01 "not updated"
        "ADF.USIM/EF.EPSLOCI": b"\xff" * 12 + bytes.fromhex("FFFFFF000001"),
        "ADF.USIM/DF.GSM-ACCESS/EF.InvScan": b"\x00",
        "ADF.USIM/DF.5GS/EF.5GS3GPPLOCI": not_updated_5gs,
        "ADF.USIM/DF.5GS/EF.5GSN3GPPLOCI": not_updated_5gs,
        "DF.TELECOM/DF.PHONEBOOK/EF.PSC": b"\x00" * 4,
        "DF.TELECOM/DF.PHONEBOOK/EF.CC": b"\x00" * 2,
        "DF.TELECOM/DF.PHONEBOOK/EF.PUID": b"\x00" * 2,
    }
    for df in ("DF.GSM", "ADF.USIM"):
        values[f"{df}/EF.ACMmax"] = b"\x00" * 3
        values[f"{df}/EF.ACM"] = [b"\x00" * 3] * 20
    return values


def default_files() -> dict[str, bytes | list[bytes]]:
    """Every file the image keeps, by image key: the subscriber's contents where
    :func:`default_contents` has one (the tree's file at that place), the access rules in an
    EF.ARR, else erased."""
    files = {key: initial_value(loc.node) for key, loc in image_files().items()}
    for where, value in default_contents().items():
        files[TREE.get(where).key] = value
    return files


def default_image() -> dict:
    """The default card image as the JSON document :mod:`.image` reads and writes."""
    key = {"cfg": f"{AUTH_CFG_MILENAGE_OPC:02X}", "ki": KI.hex().upper(),
           "op_opc": OPC.hex().upper()}
    files = default_files()
    # The card carries the operator's STK menu applet with the Milo Telecom menu
    # (provisioning/menus/milo.toml) in EF.MENU.
    files[EF_MENU] = _default_menu()
    return {
        "format": "simtool-virtual-card/1",
        "pins": {"PIN1": _pin("1234", "12345678"), "PIN2": _pin("5678", "87654321"),
                 "ADM1": _pin("11223344", None), "ADM2": _pin("55667788", None)},
        "auth": {AUTH_USIM.split(".")[1]: dict(key), AUTH_GSM.split(".")[1]: dict(key),
                 "sqn": "000000000000", "sqn_window": None},
        "files": {path: (value.hex().upper() if isinstance(value, bytes)
                         else [r.hex().upper() for r in value])
                  for path, value in files.items()},
        "gp": default_gp(menu_applet=True).to_json(),
        "ota": default_ota().to_json(),
    }


def _default_menu() -> bytes:
    from simtool.stk.menu import load_named_menu
    from simtool.stk.menufile import encode_menu_file

    return encode_menu_file(load_named_menu("milo"), TREE.get(MENU).node.size)
