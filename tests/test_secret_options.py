"""No secret on a command line or in a printed URL (issue 14.3), and an exclusive card while
``batch program`` has ADM1 open (issue 14.2).

* every written password form of a libpq URL / conninfo is redacted by one function, and in
  the CLI's error output;
* secret options take ``file:PATH`` (mode-checked) and ``env:VAR``; a value typed on the
  command line is warned about;
* end to end: ``batch program`` started with those forms shows no secret in
  ``/proc/<pid>/cmdline``, and holds the card so that a second PC/SC client is refused.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from simtool.cli.main import main
from simtool.provision.conninfo import has_password, redact_conninfo
from simtool.provision.generate import generate_batch
from simtool.provision.profile import load_profile
from tests.background_cli import LINE_TIMEOUT, BackgroundCli

CARD = {"pin1": "1234", "adm1": "11223344"}  # the default virtual card (virtual_card.defaults)
PW = "Tr0ub4dor&3"  # with a character that ends a URL query value
PW_PLAIN = "s3cretPW"

# (text, what must stay) for every written form of a libpq password
FORMS = {
    "uri userinfo": (f"postgresql://prov:{PW_PLAIN}@db.example/provisioning",
                     "postgresql://prov:***@db.example/provisioning"),
    "uri userinfo, '@' in the password": (f"postgres://prov:{PW_PLAIN}@x@db/p",
                                          "postgres://prov:***@db/p"),
    "query ?password=": (f"postgresql://prov@db/p?password={PW_PLAIN}",
                         "postgresql://prov@db/p?password=***"),
    "query &password=": (f"postgresql:///p?host=%2Frun&password={PW_PLAIN}&sslmode=require",
                         "postgresql:///p?host=%2Frun&password=***&sslmode=require"),
    "query, percent-encoded keyword": (f"postgresql://db/p?pass%77ord={PW_PLAIN}",
                                       "postgresql://db/p?pass%77ord=***"),
    "conninfo bare": (f"host=db password={PW_PLAIN} dbname=p", "host=db password=*** dbname=p"),
    "conninfo spaces around =": (f"host=db password = {PW_PLAIN} dbname=p",
                                 "host=db password = *** dbname=p"),
    "conninfo quoted": (f"host=db password='{PW_PLAIN} x\\' y' dbname=p",
                        "host=db password=*** dbname=p"),
    "inside an error line": (f'error: cannot connect to the journal at '
                             f'postgresql://u@h/p?password={PW_PLAIN}: connection refused',
                             "postgresql://u@h/p?password=***"),
}


@pytest.mark.parametrize("form", FORMS)
def test_every_libpq_password_form_is_redacted(form):
    text, kept = FORMS[form]
    shown = redact_conninfo(text)
    assert PW_PLAIN not in shown and "x\\' y" not in shown
    assert kept in shown
    assert has_password(text)


def test_urls_without_password_are_left_alone():
    for text in ("postgresql://prov@db/p?sslmode=require", "postgresql:///p?host=%2Frun",
                 "sqlite:////var/lib/j.sqlite", "host=db dbname=p user=prov",
                 "passwords are never printed"):
        assert redact_conninfo(text) == text and not has_password(text)


def test_a_journal_connection_error_never_prints_the_password(tmp_path, capsys):
    """A real psycopg failure (nothing listens on port 1) through the CLI's error path."""
    url = f"postgresql://prov@127.0.0.1:1/p?connect_timeout=5&password={PW}"
    rc = main(["batch", "generate", "--profile", "milo", "--count", "1", "--out",
               str(tmp_path / "b"), "--journal", url])
    err = capsys.readouterr().err
    assert rc != 0 and "127.0.0.1" in err, err
    assert PW not in err and "Tr0ub4dor" not in err and "password=***" in err
    assert "visible to other users" in err  # the warning about the command line
    assert not (tmp_path / "b").exists()


# --- file: and env: forms ----------------------------------------------------------------------

def _secret_file(tmp_path, text: str, mode: int):
    path = tmp_path / f"secret-{mode:o}"
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("option", ["--pin"])
def test_a_secret_file_readable_by_others_is_refused(tmp_path, capsys, option):
    path = _secret_file(tmp_path, "1234", 0o644)
    rc = main(["pin", "verify", "pin1", option, f"file:{path}"])
    err = capsys.readouterr().err
    assert rc == 5 and "accessible by group/others" in err and "chmod 600" in err
    assert "1234" not in err


def test_a_missing_environment_variable_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("SIMTOOL_TEST_NO_SUCH", raising=False)
    rc = main(["pin", "verify", "pin1", "--pin", "env:SIMTOOL_TEST_NO_SUCH"])
    assert rc == 2 and "not set" in capsys.readouterr().err


def test_every_secret_option_warns_in_its_help():
    from click.testing import CliRunner

    from simtool.cli.main import _register, cli

    _register()
    runner = CliRunner()
    for args, option in ((["pin", "verify"], "--pin"), (["pin", "change"], "--old"),
                         (["pin", "change"], "--new"), (["pin", "unblock"], "--puk"),
                         (["pin", "enable"], "--pin"), (["pin", "disable"], "--pin"),
                         (["batch", "program"], "--adm1"), (["batch", "program"], "--journal"),
                         (["batch", "generate"], "--journal"), (["batch", "purge"], "--journal")):
        text = " ".join(runner.invoke(cli, [*args, "--help"]).output.split())
        assert option in text
        assert "process list (ps)" in text and "file:PATH" in text and "env:VAR" in text, args


@pytest.mark.e2e
def test_pin_from_file_and_environment(pcsc_stack, tmp_path, monkeypatch):
    from tests.conftest import run_simtool

    good = _secret_file(tmp_path, CARD["pin1"], 0o600)
    proc = run_simtool("pin", "verify", "pin1", "--pin", f"file:{good}",
                       reader=pcsc_stack.reader)
    assert proc.returncode == 0 and "PIN1 verified" in proc.stdout, proc.stderr
    assert "WARNING" not in proc.stderr
    proc = run_simtool("pin", "verify", "pin1", "--pin", "env:MY_PIN",
                       reader=pcsc_stack.reader, env={"MY_PIN": CARD["pin1"]})
    assert proc.returncode == 0, proc.stderr
    proc = run_simtool("pin", "verify", "pin1", "--pin", CARD["pin1"], reader=pcsc_stack.reader)
    assert proc.returncode == 0 and "visible to other users (ps)" in proc.stderr


# --- batch program: nothing in ps, and the card held exclusively ---------------------------------

SECOND_CLIENT = """
import sys
from smartcard import scard
hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
hr, card, proto = scard.SCardConnect(ctx, sys.argv[1], scard.SCARD_SHARE_SHARED,
                                     scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
if hr == scard.SCARD_S_SUCCESS:  # connected: it could now send APDUs in the verified state
    scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
refused = (hr & 0xFFFFFFFF) == (scard.SCARD_E_SHARING_VIOLATION & 0xFFFFFFFF)
print("refused" if refused else "connected 0x%08X" % (hr & 0xFFFFFFFF))
"""


def second_client(reader: str) -> str:
    """Another local PC/SC program trying the card (its own process, as an attacker's)."""
    try:
        done = subprocess.run([sys.executable, "-c", SECOND_CLIENT, reader],
                              capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        # a shared connect to a card busy with another client's APDU waits for it: not refused
        return "waiting, not refused"
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.e2e
def test_batch_program_hides_its_secrets_from_ps_and_holds_the_card_alone(
        pcsc_stack, tmp_path, monkeypatch):
    folder = tmp_path / "batch"
    generate_batch(load_profile("milo"), 1, folder, panel_import=False)
    adm_file = _secret_file(tmp_path, CARD["adm1"], 0o600)
    journal = tmp_path / "shared-journal.sqlite"
    monkeypatch.setenv("SIMTOOL_TEST_JOURNAL_URL", f"sqlite:///{journal}")
    assert second_client(pcsc_stack.reader).startswith("connected")  # shared before
    cli = BackgroundCli("-r", pcsc_stack.reader, "--trace", "batch", "program",
                        "--allow-iccid-change", str(folder), "--adm1", f"file:{adm_file}",
                        "--journal", "env:SIMTOOL_TEST_JOURNAL_URL", "--count", "1", "--json",
                        "--poll", "0.05")
    card_pid = pcsc_stack.card.pid
    stopped = False
    try:
        cli.stderr_until(">> 00 D6")  # ADM1 verified, the first UPDATE BINARY on its way
        os.kill(card_pid, signal.SIGSTOP)  # the card holds still: ADM1 stays open
        stopped = True
        with open(f"/proc/{cli.proc.pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
        assert b"batch" in argv and f"file:{adm_file}".encode() in argv
        assert not any(CARD["adm1"].encode() in a for a in argv), argv
        assert not any(b"sqlite:" in a for a in argv)
        # another local client, while the verified ADM1 is in force: refused
        assert second_client(pcsc_stack.reader) == "refused"
        os.kill(card_pid, signal.SIGCONT)
        stopped = False
        result = cli.result(skip=("removed", "partial"))
        assert cli.proc.wait(timeout=LINE_TIMEOUT) == 0
    finally:
        if stopped:
            os.kill(card_pid, signal.SIGCONT)
        stderr = cli.stop()
    assert result["outcome"] == "verified", stderr[-3000:]
    assert "WARNING" not in stderr  # no secret was typed on the command line
    assert journal.exists()  # the journal came from the environment variable
    assert second_client(pcsc_stack.reader).startswith("connected")  # released, reset


def test_a_journal_url_file_is_mode_checked_and_read(tmp_path, capsys):
    folder = tmp_path / "b"
    generate_batch(load_profile("milo"), 1, folder, panel_import=False)
    url_file = _secret_file(tmp_path, f"sqlite:///{tmp_path / 'j.sqlite'}", 0o644)
    assert main(["batch", "purge", str(folder), "--journal", f"file:{url_file}"]) == 5
    assert "accessible by group/others" in capsys.readouterr().err
    url_file.chmod(0o600)
    assert main(["batch", "purge", str(folder), "--journal", f"file:{url_file}"]) == 5
    err = capsys.readouterr().err
    assert "no card of it was programmed" in err  # the journal named in the file was opened
    assert (tmp_path / "j.sqlite").exists()


@pytest.mark.e2e
def test_batch_program_waits_while_another_client_has_the_card(pcsc_stack, tmp_path):
    """Exclusive use is asked for, not taken: while another program is connected,
    batch program says so and waits, and programs the card once it is released."""
    from smartcard import scard

    folder = tmp_path / "batch"
    generate_batch(load_profile("milo"), 1, folder, panel_import=False)
    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    hr, card, _ = scard.SCardConnect(ctx, pcsc_stack.reader, scard.SCARD_SHARE_SHARED,
                                     scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
    assert hr == scard.SCARD_S_SUCCESS
    adm_file = _secret_file(tmp_path, CARD["adm1"], 0o600)
    cli = BackgroundCli("-r", pcsc_stack.reader, "batch", "program", "--allow-iccid-change",
                        str(folder), "--adm1", f"file:{adm_file}", "--count", "1", "--json",
                        "--poll", "0.05")
    released = False
    try:
        cli.stderr_until("in use by another program")
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        released = True
        result = cli.result(skip=("removed", "partial"))
        assert cli.proc.wait(timeout=LINE_TIMEOUT) == 0
    finally:
        if not released:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(ctx)
        stderr = cli.stop()
    assert result["outcome"] == "verified", stderr[-3000:]
