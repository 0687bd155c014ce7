"""Subcommands of the other processes.

Each module has NAME, add_parser(sub) and run(args, settings).
"""

from __future__ import annotations

import argparse

LOCAL_TEAM = "T_LOCAL"  # the workspace of the terminal (`sessionbot shell`)
DEFAULT_USER = "U_SHELL"


def add_clinician(parser: argparse.ArgumentParser, *, acting: bool = True) -> None:
    """`--user` and `--team`: whose sessions (a Rasa sender "TEAM:USER" is both); with
    `acting`, `--as C`: --user is a staff member acting for clinician C (their role is
    checked, scheduling/roles.py)."""
    parser.add_argument("--user", default=DEFAULT_USER, help="clinician id (default %(default)s)")
    parser.add_argument(
        "--team", default=LOCAL_TEAM, help="Slack workspace id (default %(default)s: the shell's)"
    )
    if acting:
        add_as(parser)


def add_as(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="for_user",
        metavar="CLINICIAN",
        help="act for this clinician: --user is their scheduler, supervisor or an admin",
    )
