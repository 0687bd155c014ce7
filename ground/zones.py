"""Zone names: the one vocabulary the assistant reads, shows and says zones with.

``VOCABULARY`` is the only table of zone names: what a clinician may type for a zone
("Eastern", "PST", "London", read by ``actions.extraction.zones``), what the summary shows
("Eastern (America/New_York)") and what a message says ("Eastern").
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ZoneName:
    """How one zone is named: ``short`` in messages, ``label`` in lists, ``words`` and
    ``abbreviations`` as typed."""

    short: str
    label: str
    words: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()


VOCABULARY: dict[str, ZoneName] = {
    "America/New_York": ZoneName("Eastern", "Eastern Time",
                                 ("eastern", "new york", "nyc", "dc", "philly"),
                                 ("ET", "EST", "EDT")),
    "America/Detroit": ZoneName("Detroit", "Detroit"),
    "America/Chicago": ZoneName("Central", "Central Time", ("central", "chicago"),
                                ("CT", "CST", "CDT")),
    "America/Denver": ZoneName("Mountain", "Mountain Time", ("mountain",), ("MT", "MST", "MDT")),
    "America/Phoenix": ZoneName("Arizona", "Arizona Time", ("arizona",)),
    "America/Los_Angeles": ZoneName("Pacific", "Pacific Time",
                                    ("pacific", "los angeles", "la", "l.a", "sf", "vegas"),
                                    ("PT", "PST", "PDT")),
    "America/Anchorage": ZoneName("Alaska", "Alaska Time", ("alaska", "alaskan"),
                                  ("AKT", "AKST", "AKDT")),
    "Pacific/Honolulu": ZoneName("Hawaii", "Hawaii Time", ("hawaii", "hawaiian"), ("HST",)),
    "UTC": ZoneName("UTC", "Coordinated Universal Time", ("utc", "gmt", "zulu"),
                    ("UTC", "GMT", "Z")),
    "Europe/London": ZoneName("London", "London", ("london", "uk"), ("BST",)),
    "Europe/Paris": ZoneName("Paris", "Paris", ("paris",), ("CET", "CEST")),
    "Europe/Berlin": ZoneName("Berlin", "Berlin", ("berlin",)),
    "Asia/Kolkata": ZoneName("India", "India", ("india",), ("IST",)),
    "Asia/Tokyo": ZoneName("Tokyo", "Tokyo", ("tokyo",), ("JST",)),
    "Australia/Sydney": ZoneName("Sydney", "Sydney", ("sydney",), ("AEST", "AEDT")),
    "America/Toronto": ZoneName("Toronto", "Toronto", ("toronto",)),
}  # fmt: skip

# Offered as buttons when the participant's zone is asked, after the clinician's own.
COMMON_ZONE_CHOICES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Europe/London",
)


def short_zone(zone: str) -> str:
    """What a message says: "Eastern", "London", "Buenos Aires", "UTC+2"."""
    known = VOCABULARY.get(zone)
    if known:
        return known.short
    offset = _fixed_offset_name(zone)
    return offset or zone.rsplit("/", 1)[-1].replace("_", " ")


def _fixed_offset_name(zone: str) -> str | None:
    """ "Etc/GMT-2" as people write it: "UTC+2" (the IANA name's sign is the other way)."""
    found = re.fullmatch(r"Etc/GMT([+-])(\d{1,2})", zone)
    if not found:
        return None
    return f"UTC{'+' if found.group(1) == '-' else '-'}{found.group(2)}"


def zone_label(zone: str) -> str:
    """What the summary shows: "Eastern (America/New_York)", or the IANA name alone."""
    known = VOCABULARY.get(zone)
    offset = _fixed_offset_name(zone)
    if offset:
        return f"{offset} (a fixed offset: no daylight saving)"
    return f"{known.short} ({zone})" if known and known.short != zone else zone
