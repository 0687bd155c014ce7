"""JSON as Python holds it: what `json.loads` returns and `json.dumps` takes."""

from __future__ import annotations

from typing import TypeAlias

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
