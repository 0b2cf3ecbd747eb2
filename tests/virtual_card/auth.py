"""AUTHENTICATE (3GPP TS 31.102 §7.1.2) and RUN GSM ALGORITHM (3GPP TS 51.011 §9.2.16) with
Milenage and the keys in the SJA2 key files (layout of EF.USIM_AUTH_KEY / EF.SIM_AUTH_KEY:
cfg byte, K (16), OP or OPc (16); cfg b4..b1 = algorithm, 4 = Milenage; b5 = the value is OPc;
b6 = SRES derivation function 2; b7 = 4-byte RES in the 3G context).

Sequence numbers (TS 33.102 §6.3.3, Annex C): the card keeps the highest SQN it accepted.  An
AUTN is fresh when its SQN is greater, and — when the image sets ``sqn_window`` — at most that
far ahead; otherwise the card answers a synchronisation failure with AUTS computed from the
stored SQN.  The new SQN is written to the image before the response leaves the card.

The ISIM's AUTHENTICATE in the IMS AKA context (TS 31.103 §7.1.2.1, P2 81) is the same
Milenage run with the same key (EF.USIM_AUTH_KEY) and the same SQN state: the response is
DB RES CK IK, never with a Kc, or DC AUTS.  :func:`milenage_aka` is the run itself, bytes in
and bytes out; :class:`Authenticator` gives it the key and SQN state and keeps the result.

SRES derivation function 1 is TS 33.102 §6.8.1.2 c2 (XOR of the RES halves); function 2,
taken to be the first 4 bytes of RES, is an SJA2 option whose exact definition was not
confirmed from a second source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from simtool.milenage import Milenage, auts, gsm_kc, gsm_sres, opc

from . import status as st
from .fs import Content
from .status import CardStatus

ALGORITHM_MILENAGE = 0x4
CFG_IS_OPC = 0x10
CFG_SRES_FUNCTION_2 = 0x20
CFG_RES_4_BYTES = 0x40
GSM_ACCESS_SERVICE = 27      # TS 31.102 §4.2.8: Kc in the 3G AUTHENTICATE response


class AkaOutcome(NamedTuple):
    """The response data of an AKA run and the SQN the card keeps after it: the AUTN's SQN
    when it was fresh (``accepted``), else the card's SQN unchanged (a sync failure)."""

    response: bytes
    sqn: int
    accepted: bool


def parse_rand_autn(data: bytes) -> tuple[bytes, bytes]:
    """AUTHENTICATE data ``10 RAND 10 AUTN`` (TS 31.102 §7.1.2.1, TS 31.103 §7.1.2.1)."""
    if len(data) != 34:
        raise CardStatus(st.WRONG_LENGTH)
    if data[0] != 16 or data[17] != 16:
        raise CardStatus(st.WRONG_DATA)
    return data[1:17], data[18:34]


def milenage_aka(m: Milenage, k: bytes, op_c: bytes, rand: bytes, autn: bytes, sqn: int,
                 window: int | None, *, res_length: int = 8,
                 kc: bool = False) -> AkaOutcome:
    """One AKA run on the card's side (TS 33.102 §6.3.3): MAC-A checked (else 98 62), the SQN
    checked for freshness against ``sqn``, the highest accepted (and, with ``window``, at most
    that far ahead); then ``DB`` RES CK IK [Kc when ``kc``] or ``DC 0E`` AUTS."""
    res, ck, ik, ak = m.f2345(rand)
    their_sqn = bytes(a ^ b for a, b in zip(autn[:6], ak))
    if m.f1(rand, their_sqn, autn[6:8]) != autn[8:]:
        raise CardStatus(st.AUTH_MAC_FAILURE)
    value = int.from_bytes(their_sqn, "big")
    if not (value > sqn and (window is None or value - sqn <= window)):
        return AkaOutcome(b"\xdc\x0e" + auts(k, op_c, rand, sqn.to_bytes(6, "big")), sqn, False)
    res = res[:res_length]
    out = b"\xdb" + bytes((len(res),)) + res + b"\x10" + ck + b"\x10" + ik
    if kc:
        out += b"\x08" + gsm_kc(ck, ik)
    return AkaOutcome(out, value, True)


class Authenticator:
    def __init__(self, usim_key: Content, gsm_key: Content, ust: Content, sqn: int,
                 window: int | None, commit: Callable[[Callable[[], None]], None]) -> None:
        self._usim_key = usim_key
        self._gsm_key = gsm_key
        self._ust = ust
        self.sqn = sqn
        self.window = window
        self._commit = commit
        self._cache: dict[bytes, tuple[int, bytes, bytes, Milenage]] = {}

    def __repr__(self) -> str:
        return "Authenticator(***)"

    def _keys(self, content: Content) -> tuple[int, bytes, bytes, Milenage]:
        raw = content.data
        entry = self._cache.get(raw)
        if entry is None:
            cfg, k, op_or_opc = raw[0], raw[1:17], raw[17:33]
            if cfg & 0x0F != ALGORITHM_MILENAGE:
                raise CardStatus(st.CONDITIONS_NOT_MET)
            op_c = op_or_opc if cfg & CFG_IS_OPC else opc(k, op_or_opc)
            self._cache.clear()            # keys change rarely; keep at most the current ones
            entry = self._cache[raw] = (cfg, k, op_c, Milenage(k, op_c))
        return entry

    def _service(self, n: int) -> bool:
        data = self._ust.data
        return len(data) > (n - 1) // 8 and bool(data[(n - 1) // 8] & (1 << ((n - 1) % 8)))

    def authenticate_3g(self, data: bytes) -> bytes:
        """P2 81 in ADF.USIM: data 10 RAND 10 AUTN → DB RES CK IK [Kc], DC AUTS, or 98 62."""
        return self._aka(data, kc=self._service(GSM_ACCESS_SERVICE))

    def authenticate_ims(self, data: bytes) -> bytes:
        """P2 81 in ADF.ISIM, the IMS AKA context (TS 31.103 §7.1.2.1): the same run, with
        the same key and SQN state, answering DB RES CK IK (no Kc), DC AUTS, or 98 62."""
        return self._aka(data, kc=False)

    def _aka(self, data: bytes, *, kc: bool) -> bytes:
        rand, autn = parse_rand_autn(data)
        cfg, k, op_c, m = self._keys(self._usim_key)
        outcome = milenage_aka(m, k, op_c, rand, autn, self.sqn, self.window,
                               res_length=4 if cfg & CFG_RES_4_BYTES else 8, kc=kc)
        if outcome.accepted:
            previous = self.sqn
            self.sqn = outcome.sqn
            self._commit(lambda: setattr(self, "sqn", previous))
        return outcome.response

    def _sres_kc(self, rand: bytes) -> tuple[bytes, bytes]:
        cfg, _k, _op_c, m = self._keys(self._gsm_key)
        res, ck, ik, _ak = m.f2345(rand)
        sres = res[:4] if cfg & CFG_SRES_FUNCTION_2 else gsm_sres(res)
        return sres, gsm_kc(ck, ik)

    def authenticate_gsm(self, data: bytes) -> bytes:
        """P2 80 (TS 31.102 §7.1.2.2): data 10 RAND → 04 SRES 08 Kc."""
        if len(data) != 17:
            raise CardStatus(st.WRONG_LENGTH)
        if data[0] != 16:
            raise CardStatus(st.WRONG_DATA)
        sres, kc = self._sres_kc(data[1:])
        return b"\x04" + sres + b"\x08" + kc

    def run_gsm_algorithm(self, rand: bytes) -> bytes:
        """A0 88: RAND (16) → SRES (4) || Kc (8)."""
        if len(rand) != 16:
            raise CardStatus(st.WRONG_LENGTH)
        sres, kc = self._sres_kc(rand)
        return sres + kc
