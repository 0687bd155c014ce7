"""The participant's name, taken only where a name is plainly meant: when the name was
asked for, when a word marks it ("with Jane", "for Mr. Alvarez", "see JD", "it should be
JT", "client is Ana"), or when it opens the message ("JD tomorrow 3pm", "Jane Smith, ...").
A name being replaced ("not JD") is never taken. Every other word nobody claimed is
said back to the clinician, never stored.
"""

from __future__ import annotations

import re

from actions.extraction import spoken
from actions.extraction.reader import Context, ExtractionError, Reader
from actions.extraction.vocabulary import (
    EMOJI,
    FILLER,
    MONTH_WORDS,
    NOT_NAME,
    ROLES,
    TITLES,
    TOKEN,
    clean_token,
    is_initial,
)
from actions.extraction.zones import city_zone

_NAME_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['’.\-]){0,40}")
# Words that mark a name after them; a contraction or "is" may follow the marker.
_MARKER = re.compile(
    r"\b(?:(with|w/|for|see|seeing|meet|meeting|client|patient|participant|pt|clt|named|called"
    r"|name(?:'s|’s|\s+is|\s+should\s+be|\s+to)?|should\s+be|book|booking|schedule)"
    r"|it'?s|it’s|that'?s|that’s|is\s+actually|actually|to)"
    r"(?:\s+(?:is|for|with|be|actually|called|named|a|an|the))?:?\s(?=\S)",
    re.IGNORECASE,
)
_NOT_NAME = re.compile(r"\bnot\s+(?=\S)", re.IGNORECASE)
# "Jane's session Thursday", "book Ana Ruiz's follow-up": a name owning the session.
_OWNER = re.compile(
    r"(?<![\w'’.\-])((?:[^\W\d_][\w.\-]*\s+){0,2}[^\W\d_][\w.\-]*)['’]s\s+"
    r"(?=(?:next\s+|first\s+|weekly\s+|usual\s+)?(?:session|appointment|appt|call|meeting"
    r"|visit|check-?in|follow-?up|intake)\b)",
    re.IGNORECASE,
)
MAX_NAME_WORDS = 4


def _name_at(rest: str, start: int, *, any_case: bool) -> tuple[str, int, int] | None:
    """The name that begins at start: up to four name-like words, stopping at a filler,
    a comma or a span another slot took (two spaces or more); title words kept."""
    taken: list[str] = []
    end = start
    expected = 0
    for match in re.finditer(r"(\s*)([^\s,;:!?()\[\]{}\"“”<>*]+)", rest[start : start + 200]):
        if match.start() != expected:
            break  # a comma or other punctuation ends the name
        expected = match.end()
        gap, token = match.group(1), clean_token(match.group(2))
        if taken and len(gap) >= 2:
            break
        if not token or not _NAME_TOKEN.fullmatch(token):
            break
        word = token.lower().rstrip(".")
        if not taken and word in ROLES:
            continue  # "with pt JD", "for client Ana": the role is not the name
        initial = is_initial(token) and (any_case or token[0].isupper())
        if (
            not initial
            and word not in TITLES
            and (word in FILLER or word in NOT_NAME or not (any_case or token[0].isupper()))
        ):
            break
        owner = token[-2:] in ("'s", "’s") and len(token) > 3
        taken.append(token[:-2] if owner else token)
        end = start + match.end()
        if owner or len(taken) >= MAX_NAME_WORDS:
            break  # "Ana Ruiz's follow-up": the name ends where it owns something
    if not any(t.lower().rstrip(".") not in TITLES | MONTH_WORDS for t in taken):
        return None  # titles or month names only: no name
    return " ".join(taken), start, end


def find_participant(reader: Reader, ctx: Context) -> str | None:
    """A name where one is plainly meant; the words of a replaced name ("not JD") are
    taken so they are neither stored nor said back."""
    rest = reader.rest
    replaced_spans = []
    for match in _NOT_NAME.finditer(rest):
        replaced = _name_at(rest, match.end(), any_case=True)
        if replaced:
            replaced_spans.append((match.start(), replaced[2]))
    reader.cut_many(replaced_spans, "replaced")
    rest = reader.rest
    if ctx.requested_slot == "participant":
        left = _answer_words(rest)
        if left:
            reader.clear("participant")
            return parse_participant(" ".join(left))
        said = [t for t in TOKEN.findall(rest) if _not_name(clean_token(t))]
        if said and not any(w.lower() in ("text", "txt", "sms") for w in said):
            # "none", "n/a", "idk", "same", "pt": no name, and the question still stands.
            reader.clear("participant")
            return parse_participant(" ".join(said))  # raises: said back, not stored
        return None
    for match in _OWNER.finditer(rest):
        words = match.group(1).split()
        while words and words[0].lower() in FILLER:
            words.pop(0)  # "book Ana Ruiz's": the verb is not part of the name
        if words and _plausible(" ".join(words)) and (words[0][0].isupper() or len(words) == 1):
            start = match.start(1) + match.group(1).rfind(words[0])
            reader.cut(start, match.end(), "participant")
            return parse_participant(" ".join(words))
    for match in _MARKER.finditer(rest):
        if re.search(r"\b(?:a|an|the)\s$", match.group(), re.I):
            continue  # "for an hour", "actually the day after": no name after an article
        found = _name_at(rest, match.end(), any_case=True)
        # After a strong marker ("with jd") lower-case initials are a name; after a weak
        # one ("schedule sth") they are not.
        if found and _plausible(found[0], strong=bool(match.group(1))):
            reader.cut(match.start(), found[2], "participant")
            return parse_participant(found[0])
    if ctx.requested_slot is not None:
        return None  # an unmarked word answering another question is not a name
    lead = re.match(r"\s*", rest)
    start = lead.end() if lead else 0
    found = _name_at(rest, start, any_case=False)
    if found and " " not in found[0] and city_zone(found[0]):
        return None  # "Paris, tomorrow 3pm": the participant, or their city? Asked.
    if found and _followed_by_a_break(rest, found[2]) and _plausible(found[0]):
        reader.cut(start, found[2], "participant")
        return parse_participant(found[0])
    # "jd tmrw 2p": lower-case initials opening the message, right before another answer.
    initials = re.match(r"\s*([^\W\d_]{2,3})(?=\s{2}|,)", rest)
    if initials and initials.group(1).lower() not in FILLER and reader.claims:
        reader.cut(initials.start(1), initials.end(1), "participant")
        return parse_participant(initials.group(1))
    return None


def _plausible(name: str, *, strong: bool = False) -> bool:
    """A marked name has at least two letters and is not a lone short lower-case word
    ("for sth"); initials are written in capitals or with dots."""
    letters = sum(char.isalpha() for char in name)
    if letters < 2:
        return False
    # After a weak marker ("it's", "actually", "to") a lower-case word is more often
    # anything but a name ("it's late", "actually later"): it is said back, with a button
    # to take it as the name, instead of guessed.
    return strong or not name.islower()


def _followed_by_a_break(rest: str, end: int) -> bool:
    """An unmarked name opens the message and stands apart: a comma, a span another slot
    took (two spaces), or the end follows it."""
    after = rest[end : end + 2]
    if after == "" or after.startswith(",") or after.startswith(";") or after == "  ":
        return True
    # "Jane Smith asap", "JD pls": only fillers between the name and the break.
    tail = _FILLER_TAIL.match(rest, end)
    return tail is not None and all(word.lower() in FILLER for word in tail.group(1).split())


_FILLER_TAIL = re.compile(r"((?:[ \t]+[\w/']+){1,3})(?=\s*$|\s*[,;]|\s{2})")


def _answer_words(rest: str) -> list[str]:
    """The answer to "who is the session with?", without "it's", "that's for", "name is"."""
    text = re.sub(
        r"^\s*(?:(?:it|that|this|the\s+name|name|the\s+client|client|participant)"
        r"(?:'s|’s|\s+is|\s+will\s+be|\s+should\s+be)?\s+)?(?:for|with)?\s*",
        "",
        rest,
        count=1,
        flags=re.IGNORECASE,
    )
    tokens = [clean_token(t) for t in TOKEN.findall(text)]
    kept = [
        t
        for t in tokens
        if t and not _not_name(t) and (t.lower() not in FILLER or t.lower().rstrip(".") in TITLES)
    ]
    return kept


def _not_name(token: str) -> bool:
    """A role, a short form, a dictated punctuation word, a non-answer or an emoji."""
    unmarked = EMOJI.sub("", token)
    if not unmarked:
        return bool(token)  # emoji only
    return unmarked.lower().strip(".,;:!?") in NOT_NAME


def parse_participant(text: str) -> str:
    """A name or initials, trimmed, whitespace collapsed, surrounding quotes removed;
    roles, short forms, dictated punctuation and emoji are never part of it ("pt JD" is
    JD), and an answer with nothing else ("none", "n/a", "idk") is no name."""
    said = " ".join(spoken.punctuated(text).split()).strip("\"'“”‘’` ")
    kept = (EMOJI.sub("", t) for t in said.split() if not _not_name(t))
    name = " ".join(clean_token(t) if t.endswith(".") else t for t in kept).strip(" ,;:")
    if said and all(t.lower().strip(".,") in MONTH_WORDS | TITLES for t in name.split()):
        name = ""  # "May", "Dec.": a month is no name
    if said and not name:
        raise ExtractionError(
            f"“{said[:40]}” isn't a name. Who is the session with? A name or initials, like JD."
        )
    if len(name) < 2:
        raise ExtractionError("Please give at least 2 characters: a name or initials like JD.")
    if len(name) > 80:
        raise ExtractionError("That name is too long; please keep it under 80 characters.")
    if not any(char.isalpha() for char in name):
        raise ExtractionError("A name needs at least one letter: a name or initials like JD.")
    return name
