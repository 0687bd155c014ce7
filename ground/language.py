"""A participant's language: the message catalogs (gettext, read with Babel) and the
languages they offer.

The catalogs are `ground/locale/<code>/LC_MESSAGES/messages.po`, compiled in memory the
first time a language is used (Babel's `read_po` and `write_mo`), so a `.po` is all a
translator adds: no build step and no code. `ground/locale/messages.pot` is the template
(`pybabel extract -F babel.cfg -k N_ -o ground/locale/messages.pot .`). The words are
written in English in the code and are their own message ids, so English needs no
catalog and reads exactly as the code says.

A participant's language is theirs (`scheduled_sessions.language`, remembered on the
contact), else the practice's default (`language` in the practice file).
"""

from __future__ import annotations

import gettext
from functools import cache
from importlib import resources
from io import BytesIO

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "messages"
SOURCE = "en"  # the language the words are written in (the message ids)


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined; translated where it is used."""
    return message


def _catalog_dir() -> resources.abc.Traversable:
    return resources.files(__package__).joinpath("locale")


@cache
def available() -> tuple[str, ...]:
    """English, and every language with a catalog: ("en", "es")."""
    found = [
        entry.name
        for entry in _catalog_dir().iterdir()
        if entry.is_dir() and entry.joinpath("LC_MESSAGES", f"{DOMAIN}.po").is_file()
    ]
    return (SOURCE, *sorted(code for code in found if code != SOURCE))


@cache
def translations(code: str | None) -> gettext.NullTranslations:
    """The catalog of `code`, compiled from its .po; English (or none): the ids as written."""
    if not code or code == SOURCE or code not in available():
        return gettext.NullTranslations()
    po = _catalog_dir().joinpath(code, "LC_MESSAGES", f"{DOMAIN}.po")
    with po.open("rb") as source:
        catalog = read_po(source, locale=code, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def normalize(code: str | None) -> str | None:
    """'es', 'ES', 'es_MX' -> 'es' when offered; None when not a language we have."""
    if not code:
        return None
    base = code.strip().replace("-", "_").split("_")[0].lower()
    return base if base in available() else None


def resolve(code: str | None, default: str | None) -> str:
    """The language to write in: the participant's, else the practice's, else English."""
    return normalize(code) or normalize(default) or SOURCE


def name_of(code: str, *, in_language: str = SOURCE) -> str:
    """'Spanish' (or 'español' with in_language='es')."""
    try:
        name = Locale.parse(code).get_display_name(in_language)
    except (ValueError, UnknownLocaleError):
        return code
    return name.capitalize() if name else code


def by_name(word: str) -> str | None:
    """The code of a language as a person names it, in English or in itself:
    'Spanish', 'español', 'espanol', 'es'."""
    said = _plain(word)
    for code in available():
        names = {code, _plain(name_of(code)), _plain(name_of(code, in_language=code))}
        if said in names:
            return code
    return None


def _plain(word: str) -> str:
    return word.strip().lower().translate(str.maketrans("áéíóúñç", "aeiounc"))
