"""A seeded stream of command APDUs for the virtual card: corpus commands, the same mutated
in CLA/INS/P1/P2/Lc/Le/data, random bytes, and a handset that plays proactive sessions."""

from __future__ import annotations

import random

from simtool.apdu.tlv import ComprehensionTlv, ber_decode, ctlv_decode_all, ctlv_encode
from simtool.errors import DecodeError
from simtool.milenage import autn as make_autn
from simtool.milenage import opc as make_opc

from .mutation import INTERESTING, mutate, random_ops
from .status_words import UICC_COMMANDS, is_success

USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8907090000")
FIDS = (0x3F00, 0x2FE2, 0x2F00, 0x2F05, 0x2F06, 0x7F10, 0x7F20, 0x7FFF, 0xA515, 0x5F3B, 0x6F07,
        0x6F38, 0x6FAD, 0x6F40, 0x6F3A, 0x6F42, 0x6F46, 0x6F7E, 0x6F78, 0x6F7B, 0x6F60, 0x6F06,
        0x4F20, 0x6F20, 0xAF20, 0x6F21, 0x1234)
PATHS = ("7FFF6F07", "7F206F07", "7F106F40", "7FFF5F3B4F20", "3F002FE2", "7FFF6F38", "2F00",
         "A5156F20", "7F10", "")
SFIS = (0x01, 0x02, 0x03, 0x04, 0x06, 0x07, 0x0A, 0x0B, 0x0D, 0x1E, 0x1F, 0x05, 0x17)
PINS = {0x01: "1234", 0x81: "5678", 0x0A: "11223344", 0x02: "5678"}
PUKS = {0x01: "12345678", 0x81: "87654321", 0x00: "12345678", 0x02: "87654321"}
TERMINAL_PROFILES = ("0961072D", "FF", "0961072D0000000000", "00", "01", "FFFFFFFFFFFFFFFFFFFF")
#: vpcd's control bytes (power off, power on, reset, get ATR): a 1-byte APDU with one of these
#: values cannot be told apart from the control (tests/virtual_card/vpcd.py)
VPCD_CONTROLS = frozenset((0x00, 0x01, 0x02, 0x04))
#: first bytes that look like vpcd controls or frame lengths, for 1-4 byte commands
CONTROL_LIKE = (0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x80, 0xA0, 0xFF)


def pin_block(digits: str) -> bytes:
    return digits.encode("ascii").ljust(8, b"\xff")


def _apdu(head: str, data: bytes = b"", le: int | None = None) -> bytes:
    out = bytes.fromhex(head)
    if data:
        out += bytes((len(data),)) + data
    if le is not None:
        out += bytes((le & 0xFF,))
    return out


class ApduSource:
    """A seeded stream of command APDUs; ``observe(apdu, response)`` lets the handset part
    follow the card (91xx → FETCH, the fetched command → its TERMINAL RESPONSE)."""

    def __init__(self, rng: random.Random, auth_key: bytes) -> None:
        self.rng = rng
        cfg, k, op_or_opc = auth_key[0], auth_key[1:17], auth_key[17:33]
        self._k, self._opc = k, (op_or_opc if cfg & 0x10 else make_opc(k, op_or_opc))
        self.sqn = 0
        self.pending = 0                  # length announced by 91xx
        self.fetched: bytes | None = None  # last D0 object fetched
        self.menu_ids: tuple[int, ...] = (1, 2, 3)
        self.fetches = 0

    # -- the card's side observed by the handset ----------------------------------------------

    def observe(self, apdu: bytes, response: bytes) -> None:
        sw = int.from_bytes(response[-2:], "big")
        ins = apdu[1] if len(apdu) > 1 else -1
        data = response[:-2]
        if data and (ins == 0x12 or ins == 0xC0 and data[0] == 0xD0) and is_success(sw):
            self._fetched(data)
        self.pending = sw & 0xFF if sw >> 8 == 0x91 else 0

    def _fetched(self, raw: bytes) -> None:
        if not raw:
            return
        self.fetched = raw
        self.fetches += 1
        try:
            tlv, _ = ber_decode(raw)
            objs = ctlv_decode_all(tlv.value)
        except DecodeError:
            return
        details = next((o for o in objs if o.tag == 0x01), None)
        if details is not None and details.value[1:2] == b"\x25":      # SET UP MENU
            ids = tuple(o.value[0] for o in objs if o.tag == 0x0F and o.value)
            self.menu_ids = ids or self.menu_ids

    # -- generation ---------------------------------------------------------------------------

    def next(self) -> bytes:
        r = self.rng.random()
        if r < 0.05:
            return self.short()
        if r < 0.30:
            return self.corpus()
        if r < 0.70:
            return self.mutated()
        if r < 0.80:
            return self.rng.randbytes(self.rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 20, 261, 262,
                                                        self.rng.randrange(300))))
        return self.handset()

    def short(self, controls: bool = True) -> bytes:
        """A command of 1-4 bytes, too short for a full header or just a header (case 1):
        control-like bytes, a corpus command cut short, or random bytes.  ``controls=False``
        leaves out the four 1-byte vpcd controls (which vpcd cannot carry as APDUs)."""
        rng = self.rng
        while True:
            n = rng.randint(1, 4)
            r = rng.random()
            if r < 0.4:
                out = bytes(rng.choice(CONTROL_LIKE) for _ in range(n))
            elif r < 0.7:
                out = self.corpus()[:n]
            else:
                out = rng.randbytes(n)
            if controls or len(out) != 1 or out[0] not in VPCD_CONTROLS:
                return out

    def mutated(self) -> bytes:
        rng = self.rng
        apdu = bytearray(self.corpus())
        field = rng.randrange(8)
        if field == 0:
            apdu[0] = rng.choice((0x00, 0x01, 0x03, 0x04, 0x0C, 0x40, 0x60, 0x80, 0x83, 0x8C,
                                  0xA0, 0xA1, 0xB0, 0xC0, 0xE0, 0xFF, rng.randrange(256)))
        elif field == 1:
            apdu[1] = rng.choice((*UICC_COMMANDS, 0x44, 0x04, 0x82, 0x84, 0x70, 0xCA,
                                  rng.randrange(256)))
        elif field in (2, 3):
            apdu[field] = rng.choice((*INTERESTING, rng.randrange(256)))
        elif field == 4 and len(apdu) > 4:          # Lc / P3
            lc = rng.choice((0, 1, len(apdu) - 4, len(apdu) - 6, 255, rng.randrange(256)))
            apdu[4] = lc & 0xFF
        elif field == 5:                             # add, drop or change Le
            if rng.random() < 0.5 and len(apdu) > 4:
                del apdu[-1]
            else:
                apdu.append(rng.choice((0, 1, 2, 0x10, 0x20, 0xFF, rng.randrange(256))))
        else:
            return mutate(bytes(apdu), random_ops(rng))
        return bytes(apdu)

    def corpus(self) -> bytes:
        rng = self.rng
        kind = rng.randrange(17)
        le = rng.choice((None, 0, None))
        gsm = rng.random() < 0.25
        cla = "A0" if gsm else "00"
        if kind == 0:                                # SELECT by FID
            fid = rng.choice(FIDS).to_bytes(2, "big")
            if gsm:
                return _apdu("A0A40000", fid)
            return _apdu(f"00A400{rng.choice(('04', '0C', '00'))}", fid, le)
        if kind == 1:                                # SELECT by path / AID / parent / child
            p1 = rng.choice((0x08, 0x09, 0x04, 0x03, 0x01, 0x02))
            if p1 == 0x04:
                data = USIM_AID[:rng.choice((16, 7, 5, 12))]
            elif p1 in (0x01, 0x02):
                data = rng.choice(FIDS).to_bytes(2, "big")
            elif p1 == 0x03:
                data = b""
            else:
                data = bytes.fromhex(rng.choice(PATHS))
            return _apdu(f"00A4{p1:02X}{rng.choice(('04', '0C'))}", data, le)
        if kind == 2:                                # STATUS
            if gsm:
                return _apdu("A0F20000", le=rng.choice((0x16, 0x22, 0)))
            return _apdu(f"80F200{rng.choice(('00', '01', '0C'))}", le=le)
        if kind == 3:                                # READ BINARY
            p1 = rng.choice((0, 0, 0x80 | rng.choice(SFIS)))
            return _apdu(f"{cla}B0{p1:02X}{rng.choice((0, 0, 2, 8, 60)):02X}",
                         le=rng.choice((0, 1, 2, 9, 10, 20)))
        if kind == 4:                                # UPDATE BINARY
            p1 = rng.choice((0, 0, 0x80 | rng.choice(SFIS)))
            return _apdu(f"{cla}D6{p1:02X}{rng.choice((0, 0, 1, 8)):02X}",
                         rng.randbytes(rng.choice((1, 2, 4, 9, 10, 20))))
        if kind == 5:                                # READ RECORD
            p2 = rng.choice((2, 3, 4, 4)) | (rng.choice(SFIS) << 3 if rng.random() < 0.3 else 0)
            return _apdu(f"{cla}B2{rng.choice((0, 1, 2, 3, 10)):02X}{p2:02X}",
                         le=rng.choice((0, 30, 32, 34, 56)))
        if kind == 6:                                # UPDATE RECORD
            p2 = rng.choice((2, 3, 4, 4))
            return _apdu(f"{cla}DC{rng.choice((0, 1, 2)):02X}{p2:02X}",
                         rng.randbytes(rng.choice((30, 32, 34, 52, 56, 5))))
        if kind == 7:                                # SEARCH RECORD
            return _apdu(f"00A2{rng.choice((0, 1, 2)):02X}{rng.choice((4, 5, 6)):02X}",
                         rng.choice((b"\xff", b"\xff\xff", b"\x61", b"\x80\x01")), le)
        if kind == 8:                                # VERIFY: right, wrong, query
            ref = rng.choice(tuple(PINS))
            digits = PINS[ref] if rng.random() < 0.7 else rng.choice(("0000", "9999", "1235"))
            if not gsm and rng.random() < 0.2:
                return _apdu(f"002000{ref:02X}")
            return _apdu(f"{cla}2000{ref:02X}", pin_block(digits))
        if kind in (9, 10):                          # CHANGE / DISABLE / ENABLE / UNBLOCK
            ref = rng.choice(tuple(PINS))
            pin = pin_block(PINS[ref] if rng.random() < 0.8 else "4321")
            ins = rng.choice((0x24, 0x26, 0x28, 0x2C))
            if ins == 0x24:
                return _apdu(f"{cla}2400{ref:02X}", pin + pin)
            if ins == 0x2C:
                ref = rng.choice(tuple(PUKS))
                return _apdu(f"{cla}2C00{ref:02X}", pin_block(PUKS[ref]) + pin)
            return _apdu(f"{cla}{ins:02X}00{ref:02X}", pin)
        if kind == 11:                               # AUTHENTICATE / RUN GSM ALGORITHM
            return self._authenticate(gsm, le)
        if kind == 12:                               # GET RESPONSE
            return _apdu(f"{cla}C00000", le=rng.choice((None, 0, 2, 12, 16, 0x22, 0x35)))
        return self.handset(cla="A0" if gsm and rng.random() < 0.3 else "80")

    def _authenticate(self, gsm: bool, le: int | None) -> bytes:
        rng = self.rng
        rand = rng.randbytes(16)
        if gsm:
            return _apdu("A0880000", rand)
        if rng.random() < 0.3:
            return _apdu("00880080", b"\x10" + rand, le)
        step = rng.choice((1, 1, 2, 0, -1, 1 << 20))
        self.sqn = max(0, self.sqn + step)
        sqn = (self.sqn if rng.random() < 0.9 else rng.randrange(1 << 48)).to_bytes(6, "big")
        token = make_autn(self._k, self._opc, rand, sqn, b"\x80\x00")
        if rng.random() < 0.1:
            token = mutate(token, random_ops(rng, 1))[:16].ljust(16, b"\x00")
        return _apdu("00880081", b"\x10" + rand + b"\x10" + token, le)

    # -- the handset: proactive sessions, in order and out of order ---------------------------

    def handset(self, cla: str = "80") -> bytes:
        rng = self.rng
        if self.pending and rng.random() < 0.8:
            le = rng.choice((self.pending, self.pending, 0, None, self.pending - 1))
            return _apdu(f"{cla}120000", le=le)
        if self.fetched is not None and rng.random() < 0.6:
            data, self.fetched = self._terminal_response(self.fetched), None
            return _apdu(f"{cla}140000", data)
        step = rng.randrange(5)
        if step == 0:
            return _apdu(f"{cla}100000", bytes.fromhex(rng.choice(TERMINAL_PROFILES)))
        if step in (1, 2):                            # MENU SELECTION (TS 102 223 §7.2)
            item = rng.choice((*self.menu_ids, 0, 99))
            body = bytes.fromhex("82020181") + bytes((0x90, 1, item))
            if rng.random() < 0.2:
                body += b"\x15\x00"                 # help request
            return _apdu(f"{cla}C20000", bytes((0xD3, len(body))) + body)
        if step == 3:
            return _apdu(f"{cla}120000", le=rng.choice((0, 0x10, None)))
        return _apdu(f"{cla}140000", bytes.fromhex("810301250082028281830100"))

    def _terminal_response(self, fetched: bytes) -> bytes:
        """A TERMINAL RESPONSE to the fetched command, with a random general result
        (TS 102 223 §6.8, §8.12) and the text / item the command type asks for."""
        rng = self.rng
        try:
            tlv, _ = ber_decode(fetched)
            objs = ctlv_decode_all(tlv.value)
            details = next(o for o in objs if o.tag == 0x01).value
        except (DecodeError, StopIteration):
            details = bytes.fromhex("012100")
        result = rng.choice((0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x20, 0x21, 0x30, 0x32, 0x34,
                             0x37, 0x04))
        out = (ctlv_encode(ComprehensionTlv(0x01, details, True))
               + bytes.fromhex("82028281") + ctlv_encode(ComprehensionTlv(0x03, bytes((result,)),
                                                                          True)))
        kind = details[1] if len(details) > 1 else 0
        if kind in (0x12, 0x23) and result == 0:     # SEND USSD / GET INPUT: a text string
            text = rng.choice((b"1234", b"0630", b"", b"Saldo 5 zl", b"abc", b"600123456"))
            out += ctlv_encode(ComprehensionTlv(0x0D, b"\x04" + text, True))
        elif kind == 0x24 and result == 0:           # SELECT ITEM: the chosen item
            out += ctlv_encode(ComprehensionTlv(0x10, bytes((rng.choice((1, 2, 3, 9)),)), True))
        if rng.random() < 0.15:
            out = mutate(out, random_ops(rng, 2))
        return out
