"""The ISIM's identities from profile to card: TS 23.003 §13 derivation, the profile's
``ims_domain``, the batch records, and ``batch program`` writing and reading back EF.IMPI,
EF.IMPU and EF.DOMAIN (TS 31.103 §4.2.2-§4.2.4) on the virtual card."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from simtool.apdu.channel import Channel
from simtool.card import Card
from simtool.ef import EfDomain, EfImpi, EfImpu
from simtool.pin import AdmFormat
from simtool.errors import DataError
from simtool.provision.batchdir import record_to_json
from simtool.provision.ims import check_domain, home_domain, private_identity, public_identity
from simtool.provision.profile import load_profile, parse_profile
from simtool.provision.program import Outcome
from simtool.provision.validate import BatchInfo, check_record
from tests.test_program import Wire, insert, make_batch, programmer
from tests.virtual_card import VirtualUicc

MILO_DOMAIN = "ims.mnc097.mcc260.3gppnetwork.org"


def ims_profile():
    """Milo with its (commented-out) IMS domain given."""
    return dataclasses.replace(load_profile("milo"), ims_domain=MILO_DOMAIN)


def test_identities_of_ts_23_003():
    # §13.2: the MNC in three digits; §13.3 IMPI <IMSI>@domain; §13.4 a SIP URI
    assert home_domain("260", "01") == "ims.mnc001.mcc260.3gppnetwork.org"
    assert home_domain("310", "410") == "ims.mnc410.mcc310.3gppnetwork.org"
    d = home_domain("260", "01")
    assert private_identity("260011234567890", d) == f"260011234567890@{d}"
    assert public_identity("48531234567", d) == f"sip:+48531234567@{d}"
    assert public_identity("+48531234567", d) == f"sip:+48531234567@{d}"


@pytest.mark.parametrize("domain, message", [
    ("ims.mnc002.mcc260.3gppnetwork.org", "MCC 260 MNC 002, not of this network"),
    ("not a domain", "is not a domain name"),
    ("-ims.example.pl", "is not a domain name"),
    ("x" * 95 + ".example", "at most 100"),
])
def test_a_domain_simtool_cannot_write_is_refused(domain, message):
    with pytest.raises(DataError, match=message):
        check_domain(domain, "260", "01")
    assert check_domain("ims.example.pl", "260", "01") == "ims.example.pl"


def test_a_profile_names_its_ims_domain_and_a_wrong_one_names_the_line():
    assert load_profile("milo").ims_domain is None        # Milo's documents name no IMS
    text = Path(load_profile("milo").source).read_text(encoding="utf-8").replace(
        f'# ims_domain = "{MILO_DOMAIN}"', f'ims_domain = "{MILO_DOMAIN}"')
    assert parse_profile(text, "milo.toml").ims_domain == MILO_DOMAIN
    text = text.replace(MILO_DOMAIN, "ims.mnc001.mcc262.3gppnetwork.org")
    with pytest.raises(DataError) as exc:
        parse_profile(text, "milo.toml")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("ims_domain"))
    assert exc.value.where == f"milo.toml:{line}" and "network.ims_domain" in str(exc.value)


def test_records_carry_impi_and_impu_and_the_batch_its_domain(tmp_path):
    batch = make_batch(tmp_path / "b", 3, profile=ims_profile())
    assert batch.card.ims_domain == MILO_DOMAIN
    for rec in batch.records.values():
        assert rec.impi == f"{rec.imsi}@{MILO_DOMAIN}"
        assert rec.impu == f"sip:+{rec.msisdn}@{MILO_DOMAIN}"
    # a profile without it: no IMS fields in the records (their JSON as before)
    plain = make_batch(tmp_path / "p", 1,
                       profile=dataclasses.replace(load_profile("milo"), ims_domain=None))
    rec = plain.records[0]
    assert (rec.impi, rec.impu, plain.card.ims_domain) == (None, None, None)
    assert "impi" not in json.loads(record_to_json(rec))


def test_a_record_without_its_identities_is_refused(tmp_path):
    batch = make_batch(tmp_path / "b", 1, profile=ims_profile())
    info = BatchInfo("b", 1, batch.card, AdmFormat.DECIMAL8, False)
    obj = json.loads(record_to_json(batch.records[0]))
    assert check_record(obj, "r:1", info).impi == obj["impi"]
    for key, value, message in (("impi", None, "impi: missing"),
                                ("impu", "sip:+1@ims.example.pl", "is not an identity @ims.mnc097"),
                                ("impu", "mailto:x@" + MILO_DOMAIN, "must be a sip: or tel: URI")):
        bad = dict(obj)
        if value is None:
            del bad[key]
        else:
            bad[key] = value
        with pytest.raises(DataError, match=message):
            check_record(bad, "r:1", info)
    no_domain = dataclasses.replace(info, card=dataclasses.replace(batch.card, ims_domain=None))
    with pytest.raises(DataError, match="names no IMS domain"):
        check_record(obj, "r:1", no_domain)


def _isim(vc: VirtualUicc) -> dict[str, bytes | list[bytes]]:
    files = vc.image_state().files
    return {k.rsplit("/", 1)[1]: v for k, v in files.items() if "/ADF.ISIM/" in k}


def test_batch_program_writes_the_isim_and_reads_it_back(tmp_path):
    batch = make_batch(tmp_path / "b", 1, profile=ims_profile())
    rec = batch.records[0]
    vc = VirtualUicc.from_image(None)
    card, wire = insert(vc)
    result = programmer(batch).program(card)
    assert result.outcome is Outcome.VERIFIED, result.reason
    assert "isim" in result.steps
    isim = _isim(vc)
    assert EfImpi.decode(isim["6F02"]).nai == rec.impi
    assert EfImpu.decode(isim["6F04"][0]).uri == rec.impu
    assert EfDomain.decode(isim["6F03"]).domain == MILO_DOMAIN
    # the ISIM was selected by its AID up to the application code before its files
    select_isim = bytes.fromhex("00A4040C07A0000000871004")
    first_impi = next(i for i, a in enumerate(wire.sent) if a[5:9] == b"\x7f\xff\x6f\x02")
    assert select_isim in wire.sent[:first_impi]


def test_an_isim_file_that_reads_back_different_fails_the_card(tmp_path):
    class StaleImpi(Wire):
        """The card acknowledges the UPDATE of EF.IMPI but keeps the old content."""

        current = b""

        def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
            if apdu[1] == 0xA4:
                self.current = apdu[5:5 + apdu[4]]
            if apdu[1] == 0xD6 and self.current == b"\x7f\xff\x6f\x02":
                self.sent.append(apdu)
                return b"\x90\x00"
            return super().transmit(apdu, secret=secret)

    batch = make_batch(tmp_path / "b", 1, profile=ims_profile())
    vc = VirtualUicc.from_image(None)
    vc.reset()
    result = programmer(batch).program(Card(Channel(StaleImpi(vc))))
    assert result.outcome is Outcome.FAILED
    assert "EF.IMPI (7FFF/6F02) reads back different" in result.reason


def test_the_pysim_export_carries_the_isim_identities(tmp_path):
    import io

    from simtool.provision.exports import PysimCsv

    rec = make_batch(tmp_path / "b", 1, profile=ims_profile()).records[0]
    row = PysimCsv(io.StringIO(newline=""), ims_profile()).row(rec, None)
    # pySim-prog's CSV columns for the ISIM (sim-facts §10.2)
    assert (row["ims_hdomain"], row["impi"], row["impu"]) == (MILO_DOMAIN, rec.impi, rec.impu)
