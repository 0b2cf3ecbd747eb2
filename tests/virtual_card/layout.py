"""The file tree of the virtual card, modelled on a sysmocom sysmoISIM-SJA2.

Paths are FIDs from the MF, ``7FFF`` standing for ADF.USIM (TS 102 221 §8.4.2); a path is also
the file's key in the card image.  File IDs, SFIs and structures: ETSI TS 102 221 §13,
3GPP TS 31.102 §4.2 / §4.4.3, 3GPP TS 51.011 §10; sizes follow a real SJA2 where pySim's
tools depend on them (PLMN lists 60 bytes, UST 20 bytes, SMSP 52-byte records).

SJA2 specifics (as pySim's sysmocom_sja2.py / legacy cards.py describe the card):

* DF.SYSTEM A515 holds EF.SIM_AUTH_KEY 6F20 (cfg byte + K + OP/OPc, 33 bytes) and
  EF.MILENAGE_CFG 6F21; ADF.USIM holds EF.USIM_AUTH_KEY AF20 (used by AUTHENTICATE in the 3G
  context) and EF.USIM_AUTH_KEY_2G AF22, which is the same file as A515/6F20 (used by RUN GSM
  ALGORITHM and the GSM context).  Their contents are kept in the image's ``auth`` section.
* ADF.USIM's EF.IMSI, SPN, ACC, FPLMN, LOCI, xPLMNwAcT, HPPLMN and ARR are links to the
  DF.GSM / MF files, MSISDN and SMSP links to DF.TELECOM's: pySim-prog programs an SJA2
  through DF.GSM and DF.TELECOM only.
"""

from __future__ import annotations

from typing import NamedTuple

from simtool.errors import DataError

from .fs import (ADM_ADM, ADM_NEV, ALW_ADM, ALW_PIN, DF, EF, PIN_ADM, PIN_PIN, PIN_PIN2, RULES,
                 Content, Rule, arr_record)

USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8907090000")
# sysmoISIM-SJA2 ATR, variant 1 (sim-facts §10.1): T=0, 15 historical bytes.
SJA2_ATR = bytes.fromhex("3B9F96801F878031E073FE211B674A4C753034054BA9")

AUTH_USIM = "auth.usim"        # EF.USIM_AUTH_KEY (AF20)
AUTH_GSM = "auth.gsm"          # EF.SIM_AUTH_KEY (A515/6F20) = EF.USIM_AUTH_KEY_2G (AF22)

DFS = {  # path -> (name, AID)
    "3F00": ("MF", None),
    "3F00/7F10": ("DF.TELECOM", None),
    "3F00/7F20": ("DF.GSM", None),
    "3F00/A515": ("DF.SYSTEM", None),
    "3F00/7FFF": ("ADF.USIM", USIM_AID),
    "3F00/7FFF/5F3B": ("DF.GSM-ACCESS", None),
}


class EfSpec(NamedTuple):
    path: str
    name: str
    rule: Rule
    sfi: int | None
    size: int | tuple[int, int]        # transparent size, or (record length, records)


EFS: tuple[EfSpec, ...] = (
    EfSpec("3F00/2F00", "EF.DIR", ALW_ADM, 0x1E, (32, 2)),
    EfSpec("3F00/2FE2", "EF.ICCID", ALW_ADM, 0x02, 10),
    EfSpec("3F00/2F05", "EF.PL", ALW_PIN, 0x05, 10),
    EfSpec("3F00/2F06", "EF.ARR", ALW_ADM, 0x06, (56, len(RULES))),
    EfSpec("3F00/7F10/6F3A", "EF.ADN", PIN_PIN, None, (30, 10)),
    EfSpec("3F00/7F10/6F40", "EF.MSISDN", PIN_PIN, None, (34, 2)),
    EfSpec("3F00/7F10/6F42", "EF.SMSP", PIN_PIN, None, (52, 2)),
    EfSpec("3F00/7F20/6F05", "EF.LP", ALW_PIN, None, 5),
    EfSpec("3F00/7F20/6F07", "EF.IMSI", PIN_ADM, None, 9),
    EfSpec("3F00/7F20/6F20", "EF.Kc", PIN_PIN, None, 9),
    EfSpec("3F00/7F20/6F30", "EF.PLMNsel", PIN_PIN, None, 60),
    EfSpec("3F00/7F20/6F31", "EF.HPPLMN", PIN_ADM, None, 1),
    EfSpec("3F00/7F20/6F38", "EF.SST", PIN_ADM, None, 15),
    EfSpec("3F00/7F20/6F3E", "EF.GID1", PIN_ADM, None, 10),
    EfSpec("3F00/7F20/6F3F", "EF.GID2", PIN_ADM, None, 10),
    EfSpec("3F00/7F20/6F46", "EF.SPN", ALW_ADM, None, 17),
    EfSpec("3F00/7F20/6F60", "EF.PLMNwAcT", PIN_PIN, None, 60),
    EfSpec("3F00/7F20/6F61", "EF.OPLMNwAcT", PIN_ADM, None, 60),
    EfSpec("3F00/7F20/6F62", "EF.HPLMNwAcT", PIN_ADM, None, 60),
    EfSpec("3F00/7F20/6F78", "EF.ACC", PIN_ADM, None, 2),
    EfSpec("3F00/7F20/6F7B", "EF.FPLMN", PIN_PIN, None, 12),
    EfSpec("3F00/7F20/6F7E", "EF.LOCI", PIN_PIN, None, 11),
    EfSpec("3F00/7F20/6FAD", "EF.AD", ALW_ADM, None, 4),
    EfSpec("3F00/7F20/6FAE", "EF.Phase", ALW_ADM, None, 1),
    EfSpec("3F00/7F20/6FB7", "EF.ECC", ALW_ADM, None, 15),
    EfSpec("3F00/7FFF/6F05", "EF.LI", ALW_PIN, 0x02, 10),
    EfSpec("3F00/7FFF/6F08", "EF.Keys", PIN_PIN, 0x08, 33),
    EfSpec("3F00/7FFF/6F09", "EF.KeysPS", PIN_PIN, 0x09, 33),
    EfSpec("3F00/7FFF/6F38", "EF.UST", PIN_ADM, 0x04, 20),
    EfSpec("3F00/7FFF/6F56", "EF.EST", PIN_PIN2, 0x05, 1),
    EfSpec("3F00/7FFF/6F73", "EF.PSLOCI", PIN_PIN, 0x0C, 14),
    EfSpec("3F00/7FFF/6FAD", "EF.AD", ALW_ADM, 0x03, 4),
    EfSpec("3F00/7FFF/6FB7", "EF.ECC", ALW_ADM, 0x01, (4, 5)),
    EfSpec("3F00/7FFF/6FD9", "EF.EHPLMN", PIN_ADM, 0x1D, 12),
    # The STK menu applet's menu (simtool.stk.menufile), a proprietary FID clear of the
    # SJA2's own AF20..AF33 (EF.USIM_SQN is AF30): read always, updated with ADM1 or OTA RFM.
    EfSpec("3F00/7FFF/AF50", "EF.MENU", ALW_ADM, None, 8192),
    # SJA2 proprietary files held as bytes (simtool.cardtypes.SJA2_FILES)
    EfSpec("3F00/A515/6F27", "EF.GP_DIV_DATA", ADM_ADM, None, (12, 1)),
    EfSpec("3F00/7FFF/AF31", "EF.GBA_SK", ADM_NEV, None, 33),
    EfSpec("3F00/7FFF/AF32", "EF.GBA_REC_LIST", ADM_NEV, None, 200),
    EfSpec("3F00/7FFF/AF33", "EF.GBA_INT_KEY", ADM_NEV, None, (32, 1)),
    EfSpec("3F00/7FFF/5F3B/4F20", "EF.Kc", PIN_PIN, 0x01, 9),
    EfSpec("3F00/7FFF/5F3B/4F52", "EF.KcGPRS", PIN_PIN, 0x02, 9),
)

# Files whose content lives outside the image's "files" section: (path, name, content key).
KEY_FILES = (
    ("3F00/A515/6F20", "EF.SIM_AUTH_KEY", AUTH_GSM),
    ("3F00/7FFF/AF20", "EF.USIM_AUTH_KEY", AUTH_USIM),
    ("3F00/7FFF/AF22", "EF.USIM_AUTH_KEY_2G", AUTH_GSM),
)
MILENAGE_CFG = ("3F00/A515/6F21", "EF.MILENAGE_CFG")

LINKS = (  # (path, name, SFI, path of the file it shares its content with)
    ("3F00/7FFF/6F06", "EF.ARR", 0x17, "3F00/2F06"),
    ("3F00/7FFF/6F07", "EF.IMSI", 0x07, "3F00/7F20/6F07"),
    ("3F00/7FFF/6F31", "EF.HPPLMN", 0x12, "3F00/7F20/6F31"),
    ("3F00/7FFF/6F40", "EF.MSISDN", None, "3F00/7F10/6F40"),
    ("3F00/7FFF/6F42", "EF.SMSP", None, "3F00/7F10/6F42"),
    ("3F00/7FFF/6F46", "EF.SPN", None, "3F00/7F20/6F46"),
    ("3F00/7FFF/6F60", "EF.PLMNwAcT", 0x0A, "3F00/7F20/6F60"),
    ("3F00/7FFF/6F61", "EF.OPLMNwAcT", 0x11, "3F00/7F20/6F61"),
    ("3F00/7FFF/6F62", "EF.HPLMNwAcT", 0x13, "3F00/7F20/6F62"),
    ("3F00/7FFF/6F78", "EF.ACC", 0x06, "3F00/7F20/6F78"),
    ("3F00/7FFF/6F7B", "EF.FPLMN", 0x0D, "3F00/7F20/6F7B"),
    ("3F00/7FFF/6F7E", "EF.LOCI", 0x0B, "3F00/7F20/6F7E"),
)

EF_SPECS = {spec.path: spec for spec in EFS}
# TS 35.206 §4.1 rotation amounts and constants, as EF.MILENAGE_CFG stores them.
MILENAGE_CFG_BYTES = (bytes((64, 0, 32, 64, 96))
                      + b"".join((c).to_bytes(16, "big") for c in (0, 1, 2, 4, 8)))


def arr_records() -> list[bytes]:
    length = EF_SPECS["3F00/2F06"].size[0]
    return [arr_record(rule).ljust(length, b"\xff") for rule in RULES]


def check_shape(key: str, value: bytes | list[bytes]) -> None:
    """Raise DataError unless ``value`` has the size/record layout of the file at ``key``."""
    size = EF_SPECS[key].size
    if isinstance(size, int):
        if not isinstance(value, bytes) or len(value) != size:
            raise DataError(f"must be {size} bytes of hex", where=key)
    else:
        rec_len, count = size
        if (not isinstance(value, list) or len(value) != count
                or any(not isinstance(r, bytes) or len(r) != rec_len for r in value)):
            raise DataError(f"must be a list of {count} records of {rec_len} bytes", where=key)


class Tree(NamedTuple):
    mf: DF
    adf: DF
    contents: dict[str, Content]      # every persistent content by its image key


def build(files: dict[str, bytes | list[bytes]], auth: dict[str, bytes]) -> Tree:
    """Build the tree with the given contents (``files`` keyed by path, ``auth`` by AUTH_*)."""
    dfs: dict[str, DF] = {}
    for path, (name, aid) in DFS.items():
        parts = path.split("/")
        df = DF(None if aid else int(parts[-1], 16), name, aid)
        if len(parts) > 1:
            parent = dfs["/".join(parts[:-1])]
            if aid is None:
                parent.add(df)
            else:
                df.parent = parent        # an ADF is reached by AID or 7FFF, not by FID
        dfs[path] = df

    contents: dict[str, Content] = {}
    by_path: dict[str, EF] = {}

    def place(path: str, name: str, content: Content, rule: Rule, sfi: int | None) -> None:
        parent_path, fid = path.rsplit("/", 1)
        ef = EF(int(fid, 16), name, content, rule, sfi)
        parent = dfs[parent_path]
        if parent.is_within(dfs["3F00/7FFF"]):
            ef.arr_fid = 0x6F06
        parent.add(ef)
        by_path[path] = ef

    for spec in EFS:
        value = files[spec.path]
        check_shape(spec.path, value)
        if isinstance(value, list):
            content = Content(spec.path, records=list(value))
        else:
            content = Content(spec.path, data=value)
        contents[spec.path] = content
        place(spec.path, spec.name, content, spec.rule, spec.sfi)
    for path, name, sfi, target in LINKS:
        source = by_path[target]
        place(path, name, source.content, source.rule, sfi)
    for key in (AUTH_USIM, AUTH_GSM):
        contents[key] = Content(key, data=auth[key])
    for path, name, key in KEY_FILES:
        place(path, name, contents[key], ADM_ADM, None)
    place(MILENAGE_CFG[0], MILENAGE_CFG[1],
          Content(MILENAGE_CFG[0], data=MILENAGE_CFG_BYTES, persistent=False), ADM_NEV, None)
    return Tree(dfs["3F00"], dfs["3F00/7FFF"], contents)
