"""Read scheduling slot values out of what a clinician typed.

Pure functions of (text, now, zone, practice): no I/O, no Slack, no database. Every date is
the clinician's wall time, read relative to ``now`` (an aware datetime in the clinician's
zone), so tests freeze nothing.

One module a slot (``dates``, ``times``, ``participant``, ``channels``, ``emails``,
``phones``, ``zones``, ``documents``, ``amounts``, plus ``intents`` for what is not a slot
value), and ``reader``: the message as spans, each claimed by at most one slot, with what is
left over. ``message.extract`` runs the finders in order and returns typed values.

Speed matters (bench/bench_extraction.py): spans are found with module-level regexes, each
linear in the message's length, and ``dateparser`` is called at most once, only for what
plain code cannot do well.
"""

from actions.extraction.intents import Shift
from actions.extraction.message import (
    SLOT_NAMES,
    Extracted,
    extract,
    parse_amount,
    parse_channel,
    parse_date,
    parse_email,
    parse_time,
)
from actions.extraction.participant import parse_participant
from actions.extraction.phones import parse_phone
from actions.extraction.reader import ExtractionError
from actions.extraction.zones import (
    city_zone,
    parse_zone,
    region_of_zone,
    zone_choices,
)
from ground.zones import short_zone, zone_label

__all__ = [
    "SLOT_NAMES",
    "city_zone",
    "Extracted",
    "ExtractionError",
    "Shift",
    "extract",
    "parse_amount",
    "parse_channel",
    "parse_date",
    "parse_email",
    "parse_participant",
    "parse_phone",
    "parse_time",
    "parse_zone",
    "region_of_zone",
    "short_zone",
    "zone_choices",
    "zone_label",
]
