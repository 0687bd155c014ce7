"""`sessionbot manifest --url URL`: the Slack app manifest to paste into api.slack.com.

What Slack would refuse (a name too long, a bot name with capitals or spaces, a plain
http URL) is refused here with a message saying what to change, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys

import yaml

from ground.settings import Settings

NAME = "manifest"


def add_parser(sub: argparse._SubParsersAction) -> None:
    manifest = sub.add_parser(NAME, help="the Slack app manifest for a deployment")
    manifest.add_argument(
        "--url", required=True, help="public base URL, e.g. https://bot.clinic.org"
    )
    manifest.add_argument(
        "--name", default="sessionbot", help="app name, at most 35 characters (default %(default)s)"
    )
    manifest.add_argument(
        "--bot-name",
        help="the bot user's name: lowercase, no spaces (default: made from --name)",
    )
    manifest.add_argument("--json", action="store_true", help="JSON instead of YAML")
    manifest.add_argument("--socket-mode", action="store_true", help="Slack over Socket Mode")
    manifest.add_argument(
        "--local-testing",
        action="store_true",
        help="allow an http:// URL (a test app only; production needs https)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.manifest import ManifestError, manifest

    try:
        data = manifest(
            args.url,
            name=args.name,
            bot_name=args.bot_name,
            socket_mode=args.socket_mode,
            allow_http=args.local_testing,
        )
    except ManifestError as exc:
        print(f"sessionbot manifest: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    return 0
