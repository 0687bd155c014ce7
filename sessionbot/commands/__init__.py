"""Subcommands of the other processes.

Each module has NAME, add_parser(sub) and run(args, settings).
"""

from __future__ import annotations

import argparse

LOCAL_TEAM = "T_LOCAL"  # the workspace of the terminal (`sessionbot shell`)
DEFAULT_USER = "U_SHELL"


def add_clinician(parser: argparse.ArgumentParser) -> None:
    """`--user` and `--team`: whose sessions (a Rasa sender "TEAM:USER" is both)."""
    parser.add_argument("--user", default=DEFAULT_USER, help="clinician id (default %(default)s)")
    parser.add_argument(
        "--team", default=LOCAL_TEAM, help="Slack workspace id (default %(default)s: the shell's)"
    )
