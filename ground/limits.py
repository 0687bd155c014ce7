"""JSON from outside, parsed at a bounded cost: no deeper than any real payload nests.

`json.loads` recurses once per level (a body of a few hundred thousand `[` raises
RecursionError, a `RuntimeError`, not a `ValueError`), and whatever walks the parsed value
afterwards (Bolt, Stripe's objects, our own readers) recurses again; a payload nested
900 deep parses and then fails there. Slack's and Stripe's payloads nest some 15 levels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ground.jsontypes import JSON

MAX_JSON_DEPTH = 64


class TooDeep(ValueError):
    """Nested deeper than `MAX_JSON_DEPTH` (or than the parser's own recursion)."""


def depth_ok(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `value` (parsed JSON) nests at most `limit` containers deep; no recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def loads(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> JSON:
    """`json.loads`, refusing (TooDeep, a ValueError) what nests deeper than `limit`."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep("JSON nested too deep") from None
    if not depth_ok(value, limit):
        raise TooDeep("JSON nested too deep")
    return value
