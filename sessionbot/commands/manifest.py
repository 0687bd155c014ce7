"""`sessionbot manifest --url URL`: the Slack app manifest to paste into api.slack.com."""

from __future__ import annotations

import argparse
import json
from typing import Any

import yaml

from sessionbot.settings import Settings

NAME = "manifest"


def add_parser(sub: Any) -> None:
    manifest = sub.add_parser(NAME, help="the Slack app manifest for a deployment")
    manifest.add_argument(
        "--url", required=True, help="public base URL, e.g. https://bot.clinic.org"
    )
    manifest.add_argument("--name", default="sessionbot", help="app name (default %(default)s)")
    manifest.add_argument("--json", action="store_true", help="JSON instead of YAML")
    manifest.add_argument("--socket-mode", action="store_true", help="Slack over Socket Mode")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.manifest import manifest

    data = manifest(args.url, name=args.name, socket_mode=args.socket_mode)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    return 0
