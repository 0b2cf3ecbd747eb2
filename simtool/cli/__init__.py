"""The click command-line interface: one small module per area, wired in simtool.cli.main."""
