"""RFM/RAM command scripts (ETSI TS 102 226 §5).

Vectors (facts only): osmocom pySim tests/unittests/test_ota.py, the expanded format cases
(ExpandedCmdTestCase, ExpandedRespTestCase, ExpandedIndefiniteTestCase — the indefinite ones
captured from a live eUICC over SCP81).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.errors import DecodeError
from simtool.ota import remote
from simtool.ota.remote import ExpandedResponse

h = bytes.fromhex
A = CommandApdu.from_bytes


def test_expanded_command_vectors():
    assert remote.expanded_script([A(h("80f24002024f0000"))]) == h("aa0a220880f24002024f0000")
    two = [A(h("80f24002024f0000")), A(h("00a40004023f0000"))]
    assert remote.expanded_script(two) == h("aa14220880f24002024f0000220800a40004023f0000")
    big = A(h("80f24000") + bytes([195]) + bytes(range(195)))
    assert remote.expanded_script([big])[:6] == h("aa81cb2281c8")
    assert remote.expanded_script([A(h("80ca00e000"))], definite=False) == \
        h("ae80220580ca00e0000000")
    rfm = [A(h("00a4000c023f00")), A(h("00a4000c022fe2")), A(h("00b000000a"))]
    coded = remote.expanded_script(rfm, definite=False)
    assert coded == h("ae80220700a4000c023f00220700a4000c022fe2220500b000000a0000")
    assert remote.parse_expanded_script(coded) == rfm
    assert remote.parse_expanded_script(remote.expanded_script(two)) == two


def test_expanded_response_vectors():
    r = ExpandedResponse.decode(h("ab0780010123026132"))
    assert r.executed == 1 and r.last == ResponseApdu(b"", 0x6132)
    assert r.encode() == h("ab0780010123026132")
    registry = bytes(range(198))
    coded = ExpandedResponse((ResponseApdu(registry, 0x9000),), 1).encode()
    assert coded[:9] == h("ab81ce8001012381c8")
    live = ExpandedResponse.decode(h("af80" "23029000" "23029000" "230c988812010000408608149000"
                                     "0000"))
    assert [(x.data, x.sw) for x in live.responses] == [
        (b"", 0x9000), (b"", 0x9000), (h("98881201000040860814"), 0x9000)]
    assert ExpandedResponse.decode(h("ab06800101900101")).bad_format == 1
    assert ExpandedResponse.decode(h("ab06800101810101")).immediate_action == 1
    assert ExpandedResponse.decode(h("ab06800101830102")).script_chaining == 2
    trunc = ExpandedResponse((ResponseApdu(h("6f21"), 0x9000), ResponseApdu(h("aabb"), 0x62F1)), 2)
    assert ExpandedResponse.decode(trunc.encode()).truncated
    with pytest.raises(DecodeError, match="end-of-contents"):
        ExpandedResponse.decode(h("af8023029000"))


def test_compact_script():
    script = [A(h("00a40004023f00")), A(h("00b000000a")), A(h("00d6000002abcd")),
              A(h("80f24002024f0000"))]
    coded = remote.compact_script(script)
    # T=0 form: the case 4 GET STATUS travels without its Le
    assert coded == h("00a40004023f00" "00b000000a" "00d6000002abcd" "80f24002024f00")
    parsed = remote.parse_compact_script(coded)
    assert parsed[:3] == script[:3] and parsed[3] == A(h("80f24002024f00"))
    with pytest.raises(DecodeError, match="command 2"):
        remote.parse_compact_script(h("00a40004023f00" "00d60000"))


@given(st.lists(st.builds(CommandApdu, st.integers(0, 255), st.integers(0, 255),
                          st.integers(0, 255), st.integers(0, 255), st.binary(max_size=60),
                          st.none() | st.integers(1, 256)), max_size=5), st.booleans())
def test_expanded_round_trip(apdus, definite):
    assert remote.parse_expanded_script(remote.expanded_script(apdus, definite=definite)) == apdus
