"""``simtool mmi``: what a dialled code means (3GPP TS 22.030, the operators' own codes)."""

from __future__ import annotations

from datetime import time

import click

from simtool.cli.common import global_options, pass_cli, profile_option
from simtool.stk import mmi as m
from simtool.stk.services import DAY_NAMES_PL, OperatorServices, services_for_profile


@global_options
@click.group()
def mmi() -> None:
    """Dialled codes: supplementary services, USSD, operator codes.

    \b
    Examples:
      simtool mmi explain '*21*600123456#'
      simtool mmi explain '*55*0630#' --profile citysat --json
    """


_KIND_TEXT = {
    "ussd": "sent to the network as USSD",
    "feature": "a feature code of the operator's exchange, dialled as is",
    "call": "a number to call",
    "ss": "a standard supplementary service code",
}


@global_options
@mmi.command("explain")
@click.argument("code")
@profile_option(help="Operator profile (milo, citysat, halonet, idea24, plus) or a services "
                     ".toml file: recognises that operator's own codes.")
@pass_cli
def explain(obj, code: str, profile: str | None) -> None:
    """Explain a dialled CODE: procedure, service, decoded fields, or why it is invalid.

    Exits with 4 when the code is invalid.

    \b
    Examples:
      simtool mmi explain '**61*+48600123456**20#'
      simtool mmi explain --profile citysat '*57*0456*12467#'
      simtool mmi explain --profile milo --json '*109#'
      simtool mmi explain -p citysat '*55*2460#'     # 24:60 is no time (exit 4)
    """
    services = services_for_profile(profile) if profile else None
    result = m.explain(code, services)
    obj.emit(as_json(result), lambda: "\n".join(render(result, services)))
    if isinstance(result, m.Invalid):
        click.get_current_context().exit(4)


def _pl_en(pl: str, en: str) -> str:
    return f"{pl} ({en})"


def render(c: m.Classification, services: OperatorServices | None = None) -> list[str]:
    """Human lines: Polish descriptions with an English gloss."""
    if isinstance(c, m.SupplementaryService):
        s = c.service
        lines = ["Supplementary service control (3GPP TS 22.030 §6.5.2, Annex B)",
                 f"  service:       {s.abbreviation} {s.code}: {_pl_en(s.name_pl, s.name)}",
                 f"  procedure:     {_pl_en(c.procedure.label_pl, c.procedure.label)}"]
        if c.number:
            lines.append(f"  number:        {c.number}")
        if c.basic_service:
            b = c.basic_service
            lines.append(f"  basic service: {b.code}: {_pl_en(b.name_pl, b.name)}")
        elif s.group != m.IDENTIFICATION:
            lines.append("  basic service: wszystkie (all tele- and bearer services)")
        if c.timer is not None:
            lines.append(f"  no-reply timer: {c.timer} s")
        if c.password is not None:
            lines.append("  password:      **** (given)")
        if c.call_number:
            verb = "pokaż" if c.procedure is m.Procedure.ACTIVATION else "ukryj"
            gloss = "show" if verb == "pokaż" else "hide"
            lines.append(f"  this call:     {c.call_number}: "
                         f"{_pl_en(verb + ' mój numer', gloss + ' my number')}")
        if c.operator:
            lines += _operator_lines(c.operator, services, indent="  ")
        return lines
    if isinstance(c, m.OperatorService):
        return _operator_lines(c, services, indent="")
    if isinstance(c, m.Ussd):
        route = ("reserved for the home network (TS 22.090 §5.1.2 a)" if c.hplmn_reserved
                 else "reserved for the visited network (TS 22.090 §5.1.2 b)"
                 if c.vplmn_reserved else "not reserved; the network decides")
        return [f"USSD {c.code}: sent to the network as typed (3GPP TS 22.030 §6.5.3.2)",
                f"  routing: {route}"]
    if isinstance(c, m.PinProcedure):
        what_pl = (f"odblokowanie PIN{c.pin} kodem PUK{'2' if c.pin == 2 else ''}" if c.unblock
                   else f"zmiana kodu PIN{c.pin}")
        what_en = (f"unblock PIN{c.pin} with the PUK" if c.unblock else f"change PIN{c.pin}")
        cmd = "UNBLOCK PIN" if c.unblock else "CHANGE PIN"
        return [f"{_pl_en(what_pl, what_en)}: done by the handset (3GPP TS 22.030 §6.6)",
                f"  card command: {cmd}, key reference {c.key_reference:02X}; PINs not shown"]
    if isinstance(c, m.PasswordRegistration):
        which = (f"{c.service.code}: {_pl_en(c.service.name_pl, c.service.name)}" if c.service
                 else _pl_en("wszystkie blokady", "all barring services"))
        return [f"{_pl_en('nowe hasło blokad', 'new call barring password')} "
                "(3GPP TS 22.030 §6.5.4)", f"  for: {which}; passwords not shown"]
    if isinstance(c, m.ShowImei):
        return [f"{_pl_en('wyświetlenie numeru IMEI', 'show the IMEI')}: done by the handset "
                "(3GPP TS 22.030)"]
    return [f"Invalid: {c.reason}"]


def _operator_lines(c: m.OperatorService, services: OperatorServices | None,
                    indent: str) -> list[str]:
    name = services.name if services else c.operator
    lines = [f"{indent}{name}: {_pl_en(c.description, c.gloss)}",
             f"{indent}  {_KIND_TEXT[c.kind]}"]
    for p in c.parameters:
        lines.append(f"{indent}  {p.name}: {_param_text(p)}")
    return lines


def _param_text(p) -> str:
    if p.type == "time":
        return f"{p.value:%H:%M}"
    if p.type == "days":
        return ", ".join(DAY_NAMES_PL[d - 1] for d in p.value) + f" ({p.raw})"
    return str(p.value)


_TYPE_NAMES = {
    m.SupplementaryService: "supplementary_service", m.Ussd: "ussd",
    m.OperatorService: "operator_service", m.PinProcedure: "pin_procedure",
    m.PasswordRegistration: "password_registration", m.ShowImei: "show_imei",
    m.Invalid: "invalid",
}


def as_json(c: m.Classification) -> dict:
    """A JSON-ready dict of a classification; secrets appear as ``"***"``."""
    out: dict = {"type": _TYPE_NAMES[type(c)]}
    if isinstance(c, m.SupplementaryService):
        out.update(
            procedure=c.procedure.label, prefix=c.procedure.value,
            service=_service_json(c.service), number=c.number,
            basic_service=_bs_json(c.basic_service), timer=c.timer,
            password="***" if c.password is not None else None,
            call_number=c.call_number,
            operator=as_json(c.operator) if c.operator else None)
    elif isinstance(c, m.Ussd):
        out.update(code=c.code, hplmn_reserved=c.hplmn_reserved, vplmn_reserved=c.vplmn_reserved)
    elif isinstance(c, m.OperatorService):
        out.update(code=c.code, operator=c.operator, name=c.name, kind=c.kind,
                   description=c.description, gloss=c.gloss, action=c.action,
                   parameters=[{"name": p.name, "type": p.type, "raw": p.raw,
                                "value": _value_json(p.value)} for p in c.parameters])
    elif isinstance(c, m.PinProcedure):
        out.update(pin=c.pin, unblock=c.unblock, key_reference=c.key_reference,
                   code="***", new_pin="***")
    elif isinstance(c, m.PasswordRegistration):
        out.update(service=_service_json(c.service) if c.service else None,
                   old="***", new="***")
    elif isinstance(c, m.Invalid):
        out.update(reason=c.reason)
    return out


def _service_json(s: m.SsService) -> dict:
    return {"code": s.code, "abbreviation": s.abbreviation, "name": s.name,
            "name_pl": s.name_pl, "group": s.group}


def _bs_json(b: m.BasicService | None) -> dict | None:
    return None if b is None else {"code": b.code, "name": b.name, "name_pl": b.name_pl}


def _value_json(v):
    return v.strftime("%H:%M") if isinstance(v, time) else list(v) if isinstance(v, tuple) else v
