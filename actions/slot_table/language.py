"""The participant's language: "she speaks Spanish", "en español", "in Spanish" (read by
actions/extraction/languages.py), said back in words; the summary names it when it is not
the practice's default, and Save gives it to the first participant (their invitation,
reminders and page are written in it). A known contact brings their remembered language
(actions/form_validators.py `validate_participant`)."""

from __future__ import annotations

import dataclasses

from actions.extraction.languages import find_language
from actions.slot_table import SlotDef
from dialogue.slots import SlotValueError, read_text
from ground.language import name_of, normalize, resolve
from ground.practice import Practice
from ground.session import SessionSpec


def _read(raw: object) -> str:
    code = normalize(read_text(raw))
    if code is None:
        raise SlotValueError("not a language we write in")
    return code


def _summary(code: str, practice: Practice) -> str | None:
    """'• Language: Spanish' when it is not what the practice writes in anyway."""
    default = practice.language
    return None if resolve(code, default) == default else f"• Language: {name_of(code)}"


def _apply(spec: SessionSpec, code: str) -> SessionSpec:
    lead = dataclasses.replace(spec.lead, language=code)
    return dataclasses.replace(spec, participants=(lead, *spec.participants[1:]))


SLOT: SlotDef[str] = SlotDef(
    name="language",
    find=find_language,
    before="participant_tz",  # "in Spanish" before a zone or a name reads it
    read=_read,
    refuse=lambda _code, _practice: None,  # the finder knows only the languages we write
    said=lambda code, _practice: f"The participant's messages and page will be in {name_of(code)}.",
    apply=_apply,
    summary=_summary,
)
