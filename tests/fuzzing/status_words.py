"""The status words a command may answer with (ETSI TS 102 221 §10.2 for CLA 0X/8X, 3GPP TS
51.011 §9.4 for CLA A0), which answers may change the card image, and the T=0 follow-up a
procedure status word asks for (TS 102 221 Table 7.1)."""

from __future__ import annotations

# Patterns are 4 hex digits, X matching any nibble.  Per-command lists: TS 102 221 §10.2.2 and
# the command clauses §11.1.1-§11.1.16 / §11.2.1-§11.2.4 (CLA 0X/8X); TS 51.011 §9.4.1-§9.4.7
# (CLA A0).  9000 and 91XX end every command that succeeds (TS 102 221 §10.2.1.1).  61XX
# (9FXX under A0) is also tolerated for a command that returns data when it came without Le:
# the emulator's T=0 behaviour (tests/virtual_card/uicc.py), not a per-command rule of the spec.

#: Any UICC command: CLA function not supported (68xx), wrong length, wrong P1-P2, wrong class
#: (an INS of the other CLA group), technical problem (TS 102 221 §10.2.1.4, §10.2.1.5).
UICC_COMMON = "9000 91XX 6400 6700 6800 6881 6882 6A86 6B00 6E00 6F00 6FXX"
_FILE_ERRORS = "6283 6981 6982 6986 6A81 6A82"
_PIN = "63CX 6581 6983 6984 6985 6A80 6A81 6A88"
_STK = "6D00"      # a card without a toolkit applet does not know the INS (TS 102 221 §10.2.1.5)
UICC_COMMANDS: dict[int, tuple[str, str]] = {
    0xA4: ("SELECT", "61XX 6CXX 6283 6285 6A81 6A82 6A87"),
    0xF2: ("STATUS", "61XX 6CXX"),
    0xB0: ("READ BINARY", f"61XX 6CXX 6281 6282 {_FILE_ERRORS}"),
    0xD6: ("UPDATE BINARY", f"6500 6581 6A84 {_FILE_ERRORS}"),
    0xB2: ("READ RECORD", f"61XX 6CXX 6281 6282 6A83 {_FILE_ERRORS}"),
    0xDC: ("UPDATE RECORD", f"6500 6581 6A83 6A84 {_FILE_ERRORS}"),
    0xA2: ("SEARCH RECORD", f"61XX 6CXX 6282 6A80 6A83 {_FILE_ERRORS}"),
    0x20: ("VERIFY PIN", _PIN),
    0x24: ("CHANGE PIN", _PIN),
    0x26: ("DISABLE PIN", _PIN),
    0x28: ("ENABLE PIN", _PIN),
    0x2C: ("UNBLOCK PIN", _PIN),
    0x88: ("AUTHENTICATE", "61XX 6CXX 6581 9862 9863 9864 6982 6984 6985 6A80 6A81 6A88"),
    0xC0: ("GET RESPONSE", "61XX 6CXX"),
    0x10: ("TERMINAL PROFILE", _STK),
    0x12: ("FETCH", f"61XX 6CXX {_STK}"),
    0x14: ("TERMINAL RESPONSE", f"6985 6A80 {_STK}"),
    0xC2: ("ENVELOPE", f"61XX 6CXX 6200 6300 9300 6A80 {_STK}"),
    # §11.1.17: 6A81 no channel left / the one named is open; 61XX for the card-assigned
    # number asked for without Le
    0x70: ("MANAGE CHANNEL", "61XX 6CXX 6A81"),
}
UICC_UNKNOWN_INS = "6D00 6700 6800 6881 6882 6E00"
BAD_CLASS = "6E00 6700 6800 6881 6882"

#: Any class A0 command: application independent errors (TS 51.011 §9.4.6).
GSM_COMMON = "9000 91XX 67XX 6BXX 6DXX 6EXX 6FXX"
_GSM_READ = "9400 9402 9408 9804 9810"
_GSM_WRITE = "920X 9240 9400 9402 9408 9804 9810"
_CHV = "920X 9240 9802 9804 9808 9840"
GSM_COMMANDS: dict[int, tuple[str, str]] = {
    0xA4: ("SELECT", "9FXX 9404"),
    0xF2: ("STATUS", "9FXX"),
    0xB0: ("READ BINARY", f"9FXX {_GSM_READ}"),
    0xD6: ("UPDATE BINARY", _GSM_WRITE),
    0xB2: ("READ RECORD", f"9FXX {_GSM_READ}"),
    0xDC: ("UPDATE RECORD", _GSM_WRITE),
    0x20: ("VERIFY CHV", _CHV),
    0x24: ("CHANGE CHV", _CHV),
    0x26: ("DISABLE CHV", _CHV),
    0x28: ("ENABLE CHV", _CHV),
    0x2C: ("UNBLOCK CHV", _CHV),
    0x88: ("RUN GSM ALGORITHM", "9FXX 9400 9804"),
    0xC0: ("GET RESPONSE", ""),
    0x10: ("TERMINAL PROFILE", ""),
    0x12: ("FETCH", "9FXX"),
    0x14: ("TERMINAL RESPONSE", ""),
    0xC2: ("ENVELOPE", "9FXX 9EXX 9300"),
}
SUCCESS = ("9000", "91XX", "61XX", "9FXX")
PIN_INS = frozenset((0x20, 0x24, 0x26, 0x28, 0x2C))
COUNTER_SWS = ("63CX", "9804", "9840")    # a wrong PIN / CHV / PUK spends a try


def match_sw(patterns: tuple[str, ...] | list[str], sw: int) -> bool:
    text = f"{sw:04X}"
    return any(all(p in ("X", c) for p, c in zip(pattern, text)) for pattern in patterns)


def command_info(apdu: bytes) -> tuple[str, tuple[str, ...]]:
    """(command name, allowed SW patterns) for a command APDU as the card parses its header."""
    if len(apdu) < 4:
        return "(no header)", ("6700",)
    cla, ins = apdu[0], apdu[1]
    if cla == 0xA0:
        name, own = GSM_COMMANDS.get(ins, (f"A0 {ins:02X}", "6DXX"))
        return f"GSM {name}", tuple(f"{GSM_COMMON} {own}".split())
    if cla & 0xF0 not in (0x00, 0x80):
        return f"CLA {cla:02X}", tuple(BAD_CLASS.split())
    entry = UICC_COMMANDS.get(ins)
    if entry is None:
        return f"INS {ins:02X}", tuple(UICC_UNKNOWN_INS.split())
    return entry[0], tuple(f"{UICC_COMMON} {entry[1]}".split())


def sw_allowed(apdu: bytes, sw: int) -> bool:
    return match_sw(command_info(apdu)[1], sw)


def is_success(sw: int) -> bool:
    return match_sw(SUCCESS, sw)


def may_change_image(apdu: bytes, sw: int) -> bool:
    """Only a successful command, or a PIN command that spent a try, may change the image."""
    if is_success(sw):
        return True
    return len(apdu) > 1 and apdu[1] in PIN_INS and match_sw(COUNTER_SWS, sw)


def followup(apdu: bytes, response: bytes) -> tuple[bytes, int] | None:
    """The command a T=0 terminal sends next, and the data length it must get
    (TS 102 221 Table 7.1): 6Cxx → the same command with Le = xx; 61xx / 9Fxx → GET RESPONSE
    with Le = xx."""
    if len(apdu) < 4 or len(response) < 2:
        return None
    sw1, xx = response[-2], response[-1]
    if sw1 == 0x6C:
        head = apdu[:4]
        if len(apdu) > 5 and len(apdu) >= 5 + apdu[4]:
            head += apdu[4:5 + apdu[4]]
        return head + bytes((xx,)), xx or 256
    if sw1 in (0x61, 0x9F):
        cla = 0xA0 if sw1 == 0x9F else apdu[0] & 0x03
        return bytes((cla, 0xC0, 0, 0, xx)), xx or 256
    return None
