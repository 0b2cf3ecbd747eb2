"""``simtool network``: the virtual operator network, its subscriber records and its clock.

The records live in one state file (``--state``, ``$SIMTOOL_NETWORK_STATE``, default
``$XDG_DATA_HOME/simtool/network.json``), one subscriber per card, found by ICCID or IMSI.
Without ``--iccid`` / ``--imsi`` the card in the reader is asked for its ICCID (no PIN needed).
``simtool stk`` uses the same records, so a top-up here is what ``*108#`` shows there.
"""

from __future__ import annotations

from datetime import datetime

import click

from simtool.cli.common import global_options, profile_option
from simtool.errors import SimtoolError


class NetworkRefusal(SimtoolError):
    """The network or the operator's panel refused the request (exit 1)."""


def _options(f):
    f = click.option("--state", "state_path", envvar="SIMTOOL_NETWORK_STATE", metavar="FILE",
                     help="The network's state file (env SIMTOOL_NETWORK_STATE; default "
                          "$XDG_DATA_HOME/simtool/network.json).")(f)
    return f


def _subscriber_options(f):
    f = profile_option(default="milo", help="Operator of a new subscriber: a profile name "
                                            "or TOML file (its services).")(f)
    f = click.option("--iccid", default=None, help="The card's ICCID (default: read the card).")(f)
    f = click.option("--imsi", default=None, help="The card's IMSI instead of the ICCID.")(f)
    f = click.option("--msisdn", default=None,
                     help="Number of a new subscriber (default: the next free number of the "
                          "operator's pool).")(f)
    return _options(f)


def open_hlr(state_path: str | None):
    from simtool.stk.hlr import Hlr

    return Hlr.open(state_path)


def card_identity(obj, iccid: str | None, imsi: str | None):
    """The card the command is about: --iccid / --imsi, else the ICCID of the card in the
    reader (EF.ICCID is readable without PIN, TS 102 221 §13.2)."""
    from simtool.stk.hlr import CardIdentity

    if iccid or imsi:
        return CardIdentity(iccid, imsi)
    from simtool.info import read_iccid

    return CardIdentity(read_iccid(obj.open_card()))


def _session(obj, state_path, profile, iccid, imsi, msisdn):
    hlr = open_hlr(state_path)
    record = hlr.subscriber(card_identity(obj, iccid, imsi), profile, msisdn=msisdn)
    return hlr, record, hlr.network(record)


def _refused(call):
    from simtool.stk.network import NetworkError, PanelRefusal, SsError, UssdError

    try:
        return call()
    except (UssdError, SsError) as exc:
        raise NetworkRefusal(f"{exc.text} (błąd sieci {exc.code})") from None
    except (PanelRefusal, NetworkError) as exc:
        raise NetworkRefusal(str(exc)) from None


def status_json(hlr, record, net) -> dict:
    from simtool.stk.state import record_to_json

    net.advance()
    end = net.validity_end()
    return {"clock": hlr.clock().isoformat(timespec="seconds"),
            "clock_mode": hlr.clock.description, "state_file": str(hlr.path),
            "funds_valid_until": None if end is None else end.isoformat(timespec="seconds"),
            **record_to_json(record)}


def _status_text(data: dict) -> str:
    from simtool.stk.network import format_money

    lines = [f"subscriber +{data['msisdn']} ({data['operator']}; "
             f"ICCID {data['iccid'] or '-'}, IMSI {data['imsi'] or '-'})",
             f"network clock: {data['clock']} ({data['clock_mode']})",
             f"balance: {format_money(data['balance'])}"
             + (f", valid until {data['funds_valid_until']}" if data["funds_valid_until"]
                else ""),
             f"internet: {'on' if data['internet'] else 'off'}; in country {data['country']}"]
    if data["package"]:
        p = data["package"]
        lines.append(f"package: {p['minutes']} min, {p['minutes_left']} left, "
                     f"{p['start']} .. {p['end']}"
                     + (" (auto-renew)" if data["auto_renew"] else ""))
    for f in data["forwarding"]:
        lines.append(f"forwarding {f['service']}: {f['number']} "
                     f"({'active' if f['active'] else 'inactive'})")
    if data["speed_dial"]:
        lines.append("speed dial: " + ", ".join(f"{k}={v}" for k, v in data["speed_dial"].items()))
    if data["wakeup_once"] or data["wakeup_repeat"]:
        lines.append(f"wake-up: once {data['wakeup_once'] or '-'}, repeating "
                     f"{data['wakeup_repeat'] or '-'}")
    lines.append(f"top-ups: {len(data['top_ups'])}, calls: {len(data['calls'])}")
    return "\n".join(lines)


@global_options
@click.group()
def network() -> None:
    """The virtual operator network: subscriber records, clock, codes and calls.

    \b
    Examples:
      simtool network status --iccid 8948970000000000011 --msisdn 48531234567
      simtool network top-up 50
      simtool network advance 181d
      simtool network ussd '*109#'
      simtool --json network call +48221234567 --seconds 95
    """


@global_options
@network.command()
@_subscriber_options
@click.pass_obj
def status(obj, state_path, profile, iccid, imsi, msisdn) -> None:
    """Show the subscriber's record: number, balance, validity, package, forwardings.

    \b
    Example:
      simtool --json network status
    """
    hlr, record, net = _session(obj, state_path, profile, iccid, imsi, msisdn)
    data = status_json(hlr, record, net)
    hlr.save()
    obj.emit(data, lambda: _status_text(data))


@global_options
@network.command("top-up")
@click.argument("amount_zl", type=int)
@_subscriber_options
@click.pass_obj
def top_up(obj, amount_zl, state_path, profile, iccid, imsi, msisdn) -> None:
    """Top the account up by AMOUNT_ZL zloty (Milo: 50, 100, 200 or 300).

    \b
    Example:
      simtool network top-up 50
    """
    from simtool.stk.network import format_money

    hlr, record, net = _session(obj, state_path, profile, iccid, imsi, msisdn)
    balance = _refused(lambda: net.top_up(amount_zl * 100))
    hlr.save()
    end = net.validity_end()
    obj.emit({"balance": balance, "funds_valid_until": end.isoformat(timespec="seconds")
              if end else None},
             f"Stan konta: {format_money(balance)}."
             + (f" Środki ważne do {end:%d.%m.%Y, godz. %H:%M}." if end else ""))


@global_options
@network.command("buy-package")
@click.argument("minutes", type=int)
@click.option("--auto-renew/--no-auto-renew", default=None,
              help="Przedłużenie automatyczne: renew on expiry while funds allow.")
@click.option("--panel-profile", default=None, metavar="NAME",
              help="The customer-panel profile this account belongs to (one profile may hold "
                   "several accounts, each with its own package).")
@_subscriber_options
@click.pass_obj
def buy_package(obj, minutes, auto_renew, panel_profile, state_path, profile, iccid, imsi,
                msisdn) -> None:
    """Buy a minute package of MINUTES (HaloNet: 500 or 1200) for this account (one active
    package per account; a panel profile may hold several accounts).

    \b
    Example:
      simtool network buy-package 500 --profile halonet --auto-renew
    """
    hlr, record, net = _session(obj, state_path, profile, iccid, imsi, msisdn)
    if panel_profile is not None:
        record.state.panel_profile = panel_profile
    package = _refused(lambda: net.buy_package(minutes))
    if auto_renew is not None:
        _refused(lambda: net.set_auto_renew(auto_renew))
    hlr.save()
    obj.emit({"minutes": package.minutes, "price": package.price,
              "start": package.start.isoformat(timespec="seconds"),
              "end": package.end.isoformat(timespec="seconds"),
              "auto_renew": record.state.auto_renew,
              "panel_profile": record.state.panel_profile,
              "panel_packages": [
                  {"msisdn": r.state.msisdn, "minutes": r.state.package.minutes}
                  for r in hlr.records.subscribers
                  if panel_profile and r.state.panel_profile == panel_profile
                  and r.state.package is not None]},
             f"Pakiet {package.minutes} minut aktywny od {package.start:%d.%m.%Y %H:%M} "
             f"do {package.end:%d.%m.%Y %H:%M}.")


@global_options
@network.command("set-clock")
@click.argument("when", required=False)
@click.option("--real", is_flag=True, help="Follow real time again.")
@_options
@click.pass_obj
def set_clock(obj, when, real, state_path) -> None:
    """Stop the network's clock at WHEN (ISO 8601), or --real to follow real time.

    \b
    Examples:
      simtool network set-clock 2026-01-15T10:00
      simtool network set-clock --real
    """
    from simtool.stk.state import parse_instant

    if bool(when) == bool(real):
        raise click.UsageError("give either WHEN or --real")
    hlr = open_hlr(state_path)
    if real:
        hlr.clock.reset()
    else:
        hlr.clock.set(parse_instant(when))
    hlr.save()
    _emit_clock(obj, hlr)


@global_options
@network.command()
@click.argument("duration")
@_options
@click.pass_obj
def advance(obj, duration, state_path) -> None:
    """Move the network's clock forward by DURATION (181d, 12h, 30m, 45s, 1d12h).

    \b
    Example:
      simtool network advance 181d
    """
    from simtool.stk.state import parse_duration

    hlr = open_hlr(state_path)
    hlr.clock.advance(parse_duration(duration))
    hlr.save()
    _emit_clock(obj, hlr)


def _emit_clock(obj, hlr) -> None:
    now: datetime = hlr.clock()
    obj.emit({"clock": now.isoformat(timespec="seconds"), "mode": hlr.clock.description},
             f"network clock: {now.isoformat(timespec='seconds')} ({hlr.clock.description})")


@global_options
@network.command("set-country")
@click.argument("country")
@_subscriber_options
@click.pass_obj
def set_country(obj, country, state_path, profile, iccid, imsi, msisdn) -> None:
    """Put the subscriber in COUNTRY (ISO 3166 alpha-2): the billing zone and *110# follow.

    \b
    Example:
      simtool network set-country DE
    """
    import re

    if not re.fullmatch(r"[A-Za-z]{2}", country):
        raise click.BadParameter("an ISO 3166 alpha-2 code such as DE", param_hint="COUNTRY")
    hlr, record, net = _session(obj, state_path, profile, iccid, imsi, msisdn)
    record.state.country = country.upper()
    hlr.save()
    obj.emit({"country": record.state.country}, f"country: {record.state.country}")


def _reply(obj, kind: str, code: str, state_path, profile, iccid, imsi, msisdn) -> None:
    hlr, record, net = _session(obj, state_path, profile, iccid, imsi, msisdn)
    send = net.send_ussd if kind == "ussd" else net.send_ss
    try:
        reply = _refused(lambda: send(code))
    finally:
        hlr.save()
    obj.emit({"code": code, "reply": reply}, reply)


@global_options
@network.command()
@click.argument("code")
@_subscriber_options
@click.pass_obj
def ussd(obj, code, state_path, profile, iccid, imsi, msisdn) -> None:
    """Send CODE as USSD and print the network's answer (as a handset would show it).

    \b
    Examples:
      simtool network ussd '*101#'
      simtool network ussd '*107*1#'
    """
    _reply(obj, "ussd", code, state_path, profile, iccid, imsi, msisdn)


@global_options
@network.command()
@click.argument("code")
@_subscriber_options
@click.pass_obj
def ss(obj, code, state_path, profile, iccid, imsi, msisdn) -> None:
    """Send CODE as a supplementary-service request (TS 22.030) and print the result.

    \b
    Examples:
      simtool network ss '*21*0322015880#' --profile citysat
      simtool network ss '*#21#'
    """
    _reply(obj, "ss", code, state_path, profile, iccid, imsi, msisdn)


@global_options
@network.command()
@click.argument("number")
@click.option("--seconds", type=click.IntRange(0), required=True,
              help="How long the call lasted.")
@click.option("--incoming", is_flag=True, help="A call received from NUMBER (default: made).")
@_subscriber_options
@click.pass_obj
def call(obj, number, seconds, incoming, state_path, profile, iccid, imsi, msisdn) -> None:
    """Bill a call to (or, with --incoming, from) NUMBER lasting --seconds.

    \b
    Examples:
      simtool network call +48221234567 --seconds 95
      simtool --json network call +12125551234 --seconds 61 --incoming
    """
    from simtool.stk.network import format_money

    hlr, record, net = _session(obj, state_path, profile, iccid, imsi, msisdn)
    rec = _refused(lambda: net.call(number, seconds, direction="in" if incoming else "out"))
    hlr.save()
    how = "z pakietu" if rec.increment == "package" else \
        f"taktowanie {rec.increment}, {format_money(rec.price)}/min"
    obj.emit({**rec.to_json(), "balance": record.state.balance},
             f"Połączenie {'od' if incoming else 'z'} +{rec.number}: {rec.seconds} s, "
             f"naliczono {rec.billed_seconds} s ({how}): {format_money(rec.cost)}. "
             f"Stan konta: {format_money(record.state.balance)}.")
