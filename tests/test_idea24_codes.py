"""Idea24 on-line (seed 003): the subscriber code (last 6 characters of the PUK), the
account-level subscriber code and the temporary SMS password — generated, exported to the panel
import hashed, and kept off the carrier letter."""

from __future__ import annotations

import csv
import io
import json

from simtool.provision.batchdir import read_records
from simtool.provision.sealed import read_text
from simtool.provision.credentials import CredentialDeriver, Scope
from simtool.provision.generate import generate_batch
from simtool.provision.profile import CredentialKind, load_profile
from simtool.secret import Secret
from tests.test_exports import KEY, NOW, SeededRandom

K = CredentialKind


def test_deriver_gives_the_three_idea24_codes():
    d = CredentialDeriver([K.SUBSCRIBER_CODE, K.ACCOUNT_SUBSCRIBER_CODE, K.TEMPORARY_PASSWORD],
                          numbers_per_account=2, account_prefix="A", rng=SeededRandom(3))
    cards = [d.next_card(printed=Secret("1" * 26), puk1=Secret(puk))
             for puk in ("31415926", "27182818", "16180339")]
    accounts = [a for a, _ in cards]
    assert accounts[0] == accounts[1] != accounts[2]
    per_card = [{c.kind: c for c in creds} for _, creds in cards]
    assert [p[K.SUBSCRIBER_CODE].value.reveal() for p in per_card] == \
        ["415926", "182818", "180339"], "seed 003: 6 ostatnich znaków kodu PUK"
    acc = [p[K.ACCOUNT_SUBSCRIBER_CODE] for p in per_card]
    assert acc[0].scope is Scope.ACCOUNT and acc[0].value.reveal() == acc[1].value.reveal()
    assert len(acc[0].value.reveal()) == 6
    tmp = [p[K.TEMPORARY_PASSWORD] for p in per_card]
    assert all(t.scope is Scope.NUMBER and t.must_change for t in tmp), "hasło tymczasowe"
    assert len({t.value.reveal() for t in tmp}) == 3 and all(len(t.value.reveal()) == 8
                                                              for t in tmp)


def test_panel_import_has_them_hashed_and_the_letter_does_not(tmp_path):
    out = tmp_path / "b"
    generate_batch(load_profile("idea24"), 4, out, transport_key=KEY, rng=SeededRandom(5),
                   now=NOW, workers=1)
    records = read_records(out / "records.jsonl")
    rows = list(csv.DictReader(io.StringIO(read_text(out / "exports/panel.csv").reveal())))
    kinds = [r["credential"] for r in rows]
    assert kinds.count("subscriber_code") == 4 and kinds.count("temporary_password") == 4
    assert kinds.count("account_subscriber_code") == len({r.account for r in records})
    assert all(r["hash"].startswith("$argon2") for r in rows)
    tmp_rows = [r for r in rows if r["credential"] == "temporary_password"]
    assert all(r["must_change"] == "1" for r in tmp_rows)
    doc = json.loads(read_text(out / "exports/panel.json").reveal())
    assert any(c["kind"] == "account_subscriber_code" for a in doc["accounts"]
               for c in a["credentials"])
    letters = "".join(p.read_text(errors="replace") for p in out.rglob("*")
                      if p.is_file() and "printer" in p.parts and p.suffix in (".csv", ".html"))
    assert letters, "the printer files exist"
    for rec in records:
        for c in rec.credentials:
            if c.kind in (K.ACCOUNT_SUBSCRIBER_CODE, K.TEMPORARY_PASSWORD):
                assert c.value.reveal() not in letters
