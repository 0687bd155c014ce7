"""`sessionbot keys new | rotate`: make an encryption key; move every value to the first.

Rotating, step by step (README, "The encryption key"): `sessionbot keys new`, then
SESSIONBOT_ENCRYPTION_KEY=NEW,OLD for every process, then `sessionbot keys rotate`, then
NEW alone.
"""

from __future__ import annotations

import argparse
import sys

from ground.settings import Settings

NAME = "keys"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="make an encryption key, or rotate the data to the first key")
    what = p.add_subparsers(dest="keys_action", required=True)
    what.add_parser("new", help="print a fresh key (Fernet) for SESSIONBOT_ENCRYPTION_KEY")
    rotate = what.add_parser(
        "rotate",
        help="re-encrypt every value and blind index under the first key of "
        "SESSIONBOT_ENCRYPTION_KEY (resumable: run it again after a stop)",
    )
    rotate.add_argument(
        "--batch", type=int, default=500, help="rows a transaction (default %(default)s)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.keys_action == "new":
        from store.crypto import new_key

        print(new_key())
        return 0
    from actions.context import open_store
    from store.rotation import rotate

    if args.batch < 1:
        print("sessionbot keys rotate: --batch must be at least 1", file=sys.stderr)
        return 2
    store = open_store(settings)
    try:
        counts = rotate(store, batch=args.batch, progress=lambda line: print(line, flush=True))
    finally:
        store.dispose()
    for what in sorted(counts):
        if what != "values re-encrypted":
            print(f"{what}: {counts[what]}")
    print(f"done: {counts['values re-encrypted']} values re-encrypted under the first key")
    if counts["values left unreadable"]:
        print(
            "some values are under none of the keys given: keep the keys they need in "
            "SESSIONBOT_ENCRYPTION_KEY and run it again",
            file=sys.stderr,
        )
        return 1
    return 0
