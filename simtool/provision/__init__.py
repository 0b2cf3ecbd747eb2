"""Provisioning: operator profiles, batch generation and exports, the journal, programming.

Modules: :mod:`.profile` (profiles as TOML data), :mod:`.credentials` (ICCID, barcode number,
customer codes), :mod:`.generate` (a batch), :mod:`.exports` (pySim CSV, HSS, panel, printer),
:mod:`.hashing` (Argon2id), :mod:`.crypto` (key files, encrypted exports), :mod:`.batchdir`
(the batch folder and ``records.jsonl``), :mod:`.journal`, and the card programming.
"""
