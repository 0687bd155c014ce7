"""What JSON holds once parsed, as a type: the one alias for a tracker's slots and events,
a Slack payload's free parts and whatever else is stored or sent as JSON.

`JSON` takes any list or mapping of JSON (its containers are read-only, so a
`list[dict[str, int]]` is JSON too); `JSONObject` is the dict one builds or reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

JSON: TypeAlias = str | int | float | bool | None | Sequence["JSON"] | Mapping[str, "JSON"]
JSONObject: TypeAlias = dict[str, JSON]
