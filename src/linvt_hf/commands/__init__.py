"""Subcommands of the `linvt-hf` console script (see linvt_hf.cli)."""
