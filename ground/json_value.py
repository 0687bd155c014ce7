"""What JSON holds once parsed, as a type: the one alias for a tracker's slots and events,
a Slack payload's free parts and whatever else is stored or sent as JSON."""

from __future__ import annotations

from typing import TypeAlias

JSON: TypeAlias = str | int | float | bool | None | list["JSON"] | dict[str, "JSON"]
JSONObject: TypeAlias = dict[str, JSON]
