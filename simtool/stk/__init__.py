"""SIM Toolkit engine: COMPREHENSION-TLV objects, proactive commands, envelopes, terminal
response and profile (ETSI TS 102 223, 3GPP TS 31.111), the menu applet on the card side, a
handset simulator for the terminal side, the virtual network and the MMI parser.

Import from the submodules: :mod:`simtool.stk.objects` (data objects; base in
``dataobject``, BCD/USSD strings in ``dialstrings``), :mod:`~simtool.stk.commands` (proactive
commands; base in ``proactive``), :mod:`~simtool.stk.envelopes`, :mod:`~simtool.stk.responses`,
:mod:`~simtool.stk.profile`, :mod:`~simtool.stk.menu`, :mod:`~simtool.stk.applet`,
:mod:`~simtool.stk.handset`.
"""
