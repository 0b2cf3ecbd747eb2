"""Shared generators and oracles of the fuzz tests (tests/test_fuzz_*.py) and of the long run
(bench/fuzz_emulator.py); what they check is described in docs/reliability.md.  No hypothesis
here: the bench needs only the standard library.

* :mod:`.mutation` — ``mutate(data, ops)`` / ``mutate_text(text, ops)``: structured edits.
* :mod:`.status_words` — ``sw_allowed(apdu, sw)`` per ETSI TS 102 221 §10.2 / 3GPP TS 51.011
  §9.4, ``may_change_image(apdu, sw)``, ``followup`` (T=0 procedure bytes).
* :mod:`.apdus` — ``ApduSource``: corpus, mutated and random commands, a proactive handset.
* :mod:`.emulator` — ``EmulatorFuzz``: the card under fuzz, oracles, minimised reproducers.
* :mod:`.pcsc` — ``PcscFuzz``: the same commands through pyscard, pcscd and vpcd, with a
  deadline per APDU (a hang is a finding).
* :mod:`.findings` — ``Finding`` and the ``KNOWN_DEVIATIONS`` reported to the card's authors.
"""

from .apdus import VPCD_CONTROLS, ApduSource
from .emulator import EmulatorFuzz, FakeSocket, Stats
from .findings import KNOWN_DEVIATIONS, Deviation, Finding, is_known, matches
from .mutation import mutate, mutate_text, random_ops
from .pcsc import PcscFuzz, PcscStats
from .status_words import command_info, followup, is_success, may_change_image, sw_allowed

__all__ = [
    "KNOWN_DEVIATIONS", "VPCD_CONTROLS", "ApduSource", "Deviation", "EmulatorFuzz", "FakeSocket",
    "Finding", "PcscFuzz", "PcscStats", "Stats", "command_info", "followup", "is_known",
    "is_success", "matches", "may_change_image", "mutate", "mutate_text", "random_ops", "sw_allowed",
]
