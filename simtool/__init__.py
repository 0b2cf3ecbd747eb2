"""simtool: a toolkit for SIM/UICC cards (provisioning, SIM Toolkit, virtual card)."""

__version__ = "0.1.0"
