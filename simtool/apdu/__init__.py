"""The APDU layer: command/response types, status words, TLV codecs, transports, Channel.

``simtool.apdu.pcsc`` (pyscard) is not imported here: import it where a reader is needed.
"""

from simtool.apdu.channel import Channel
from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.apdu.sw import SW, describe, is_success, proactive_pending
from simtool.apdu.tlv import (
    ComprehensionTlv,
    Tlv,
    ber_decode,
    ber_decode_all,
    ber_encode,
    ctlv_decode,
    ctlv_decode_all,
    ctlv_encode,
    decode_length,
    encode_length,
)
from simtool.apdu.transport import (
    CountingTransport,
    InProcessTransport,
    TracingTransport,
    Transport,
)

__all__ = [
    "SW",
    "Channel",
    "CommandApdu",
    "ComprehensionTlv",
    "CountingTransport",
    "InProcessTransport",
    "ResponseApdu",
    "Tlv",
    "TracingTransport",
    "Transport",
    "ber_decode",
    "ber_decode_all",
    "ber_encode",
    "ctlv_decode",
    "ctlv_decode_all",
    "ctlv_encode",
    "decode_length",
    "describe",
    "encode_length",
    "is_success",
    "proactive_pending",
]
