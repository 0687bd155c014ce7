"""The page in the participant's language: one template environment per language, with
the catalog of ground/locale installed (jinja2's i18n extension: `{% trans %}` and `_()`
in web/templates), and what every page says of its session, written for that locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ground.formatting import when, zone_label_in
from ground.language import N_, resolve, translations
from ground.practice import Practice
from scheduling.page import PageSession

HERE = Path(__file__).parent


@cache
def templates(language: str) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return environment


def language_of(session: PageSession, practice: Practice) -> str:
    """The participant's language, else the practice's default."""
    return resolve(session.language, practice.language)


def gettext(language: str, message: str) -> str:
    return translations(language).gettext(message)


@dataclass(frozen=True)
class Said:
    """What the pages say of a session: whose, when, in which zone, in which language."""

    language: str
    clinician: str
    start: str
    zone: str


def said(session: PageSession, practice: Practice, tz: str | None = None) -> Said:
    """The page's words of the session, in the participant's language and in `tz` (the
    zone of the participant whose link it is; default the first participant's)."""
    language = language_of(session, practice)
    tz = tz or session.participant_tz
    return Said(
        language=language,
        clinician=session.clinician or gettext(language, N_("Your clinician")),
        start=when(session.start_at, tz, language=language),
        zone=zone_label_in(tz, language),
    )
