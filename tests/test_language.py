"""A participant's language (issue 21, "Their language"): texts, e-mails, the .ics and the
page in Spanish from the catalogs in ground/locale, with Spanish dates (Babel), when the
session says so or the practice's default does; English exactly as before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import icalendar
import pytest
from conftest import Chat, at
from outbox_kit import CLINICIAN, run_worker, session, wired_parts
from page_support import book, page_parts
from starlette.testclient import TestClient

from dialogue.turn_io import Who
from ground.language import available, by_name, translations
from ground.practice import PracticeFileError, parse_practice
from ground.session import SessionSpec
from integrations import messages
from scheduling import booking
from scheduling.refunds import REFUNDED, participant_words
from sessionbot.asgi import create_app
from sessionbot.wiring import Parts
from store import clinician_rows
from store.db import Store
from store.models import Contact, ScheduledSession

START = at("2026-12-01 15:00")  # Tue Dec 1, 3 PM Eastern: 12 PM in Los Angeles

VIEW = messages.SessionView(
    start=START,
    duration_min=50,
    participant_tz="America/Los_Angeles",
    host="Example Practice",
    page_url="https://sessions.example.test/j/TOKEN",
    rsvp_yes_url="https://sessions.example.test/j/TOKEN/rsvp?answer=yes",
    rsvp_no_url="https://sessions.example.test/j/TOKEN/rsvp?answer=no",
    clinician="Dr. Peña",
)


def spanish(view: messages.SessionView) -> messages.SessionView:
    return messages.SessionView(**{**view.__dict__, "language": "es"})


def book_direct(
    parts: Parts,
    *,
    name: str = "Jane Doe",
    channel: str = "email",
    email: str | None = "jane.doe@example.com",
    phone: str | None = None,
    language: str | None = None,
) -> str:
    spec = SessionSpec.for_one(
        draft_id=uuid.uuid4().hex,
        start=START,
        duration_min=50,
        participant=name,
        invite_channel=channel,
        email=email,
        phone=phone,
        participant_tz="America/Los_Angeles",
        language=language,
    )
    with parts.store.unit() as s:
        clinician = clinician_rows.get_clinician(s, CLINICIAN.team_id, CLINICIAN.user_id)
        clinician.display_name = "Dr. Peña"
        session, _ = booking.book(s, clinician, spec, parts.practice, datetime.now(UTC))
        return session.public_id


# The words themselves --------------------------------------------------------------------


def test_english_reads_exactly_as_before() -> None:
    assert messages.sms("invitation", VIEW) == (
        "Example Practice: video session Tue Dec 1, 12:00 PM PST. Details: "
        "https://sessions.example.test/j/TOKEN Reply Y to confirm, N if you can't make it. "
        "STOP to opt out."
    )
    words = messages.email("invitation", VIEW)
    assert words.subject == "Invitation: video session on Tue Dec 1, 12:00 PM PST"
    assert words.text.startswith(
        "You are invited to a secure video session with Dr. Peña (Example Practice).\n\n"
        "When: Tuesday, December 1, 2026 at 12:00 PM PST (Pacific time, America/Los_Angeles)\n"
        "Length: 50 minutes\n"
    )
    assert words.html.startswith("<!doctype html><html><body><p>You are invited")
    assert "<strong>When:</strong>" in words.html


def test_spanish_words_and_dates_for_every_kind() -> None:
    view = spanish(VIEW)
    assert messages.sms("reminder", view) == (
        "Example Practice: recordatorio, sesión por video mar, 1 dic, 12:00 PST. "
        "Entrar: https://sessions.example.test/j/TOKEN"
    )
    words = messages.email("update", view)
    assert words.subject == "Cambio: su sesión por video es ahora el mar, 1 dic, 12:00 PST"
    assert "Cuándo: martes, 1 de diciembre de 2026, 12:00 PST (hora del Pacífico" in words.text
    assert "Duración: 50 minutos" in words.text
    assert '<html lang="es">' in words.html and "¿Asistirá?" in words.html
    for kind in messages.SUBJECTS:  # nothing left in English
        assert messages.email(kind, view).subject != messages.email(kind, VIEW).subject
        assert messages.sms(kind, view) != messages.sms(kind, VIEW)


def test_every_message_of_the_template_has_a_spanish_translation() -> None:
    """A catalog that lags the code shows English to a Spanish reader: the .po is
    complete for every message the template (ground/locale/messages.pot) holds."""
    from babel.messages.pofile import read_po

    locale = Path(__file__).parents[1] / "ground" / "locale"
    with (locale / "messages.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    with (locale / "es" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {m.id: m.string for m in catalog if m.id}
    missing = [m for m in template if not translated.get(m)]
    assert template and missing == []
    assert available() == ("en", "es")
    assert translations("es").gettext("Enter Meeting") == "Entrar a la sesión"
    assert by_name("Spanish") == by_name("español") == by_name("espanol") == "es"


def test_the_template_holds_every_message_the_code_marks() -> None:
    """Words added to the code and not extracted would never reach a translator: the
    template is what `pybabel extract -F babel.cfg -k N_` finds in the code now."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    root = Path(__file__).parents[1]
    with (root / "babel.cfg").open() as f:
        methods, options = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    marked = {m[2] for m in extract_from_dir(str(root), methods, options, keywords)}
    with (root / "ground" / "locale" / "messages.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert "Video session with {whom}" in marked
    assert marked == template


def test_a_paid_cancellations_refund_is_said_in_the_participants_language() -> None:
    row = ScheduledSession(
        refund_state=REFUNDED, amount_cents=18000, refund_cents=18000, currency="usd"
    )
    assert participant_words(row) == (
        "Your payment of $180.00 has been refunded in full to the card you paid with."
    )
    assert participant_words(row, "es") == (
        "Su pago de $180.00 se le reembolsó por completo a la tarjeta con la que pagó."
    )


def test_the_practice_default_is_read_and_an_unknown_language_refused() -> None:
    assert parse_practice({}).language == "en"
    assert parse_practice({"language": "es"}).language == "es"
    with pytest.raises(PracticeFileError, match="language 'xx' has no message catalog"):
        parse_practice({"language": "xx"})


# Through the outbox, to the real mail server and the fake Twilio --------------------------


def test_a_spanish_participants_email_and_ics_are_in_spanish_and_an_english_ones_are_not(
    tmp_path, store: Store, smtp_server, clock
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    book_direct(parts, email="ana@example.com", language="es")
    book_direct(parts, name="Robin Roe", email="robin@example.com")
    assert run_worker(parts).counts["sent"] == 2
    by_address = {m.rcpt_tos[0]: m.message for m in smtp_server.received}

    es = by_address["ana@example.com"]
    assert es["Subject"] == "Invitación: sesión por video el mar, 1 dic, 12:00 PST"
    text = es.get_body(("plain",)).get_content()
    assert text.startswith("Le invitamos a una sesión por video segura con Dr. Peña")
    assert "Cuándo: martes, 1 de diciembre de 2026, 12:00 PST" in text
    assert "La invitación de calendario va adjunta." in text
    (ics,) = [p for p in es.iter_attachments() if p.get_filename() == "invite.ics"]
    event = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Sesión por video con Dr. Peña (Example Practice)"
    assert str(event["DESCRIPTION"]).startswith("Entrar a la sesión: https://")

    en = by_address["robin@example.com"]
    assert en["Subject"] == "Invitation: video session on Tue Dec 1, 12:00 PM PST"
    (ics,) = [p for p in en.iter_attachments() if p.get_filename() == "invite.ics"]
    event = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Video session with Dr. Peña (Example Practice)"


def test_the_practices_default_language_reaches_a_participant_with_none_of_their_own(
    tmp_path, store: Store, fake_twilio, clock
) -> None:
    practice = tmp_path / "practice.toml"
    practice.write_text('name = "Clínica Sol"\nlanguage = "es"\n')
    parts = wired_parts(tmp_path, store, twilio=fake_twilio, SESSIONBOT_PRACTICE_FILE=str(practice))
    book_direct(parts, channel="sms", email=None, phone="+16175550123")
    book_direct(parts, name="Robin Roe", channel="sms", email=None, phone="+16175550124",
                language="en")  # fmt: skip
    assert run_worker(parts).counts["sent"] == 2
    by_number = {m["To"]: m["Body"] for m in fake_twilio.messages}
    assert by_number["+16175550123"].startswith(
        "Clínica Sol: sesión por video mar, 1 dic, 12:00 PST. Detalles: https://"
    )
    assert by_number["+16175550124"].startswith(
        "Clínica Sol: video session Tue Dec 1, 12:00 PM PST. Details: https://"
    )


def test_the_contact_remembers_the_participants_language(tmp_path, store: Store, clock) -> None:
    parts = wired_parts(tmp_path, store)
    book_direct(parts, language="es")
    book_direct(parts)  # booked again, nothing said of the language: still Spanish
    with parts.store.unit() as s:
        (contact,) = s.query(Contact).all()
        assert contact.language == "es"


# The page ----------------------------------------------------------------------------------


def test_a_spanish_participants_page_is_in_spanish(tmp_path, store: Store, clock) -> None:
    parts = page_parts(tmp_path, store, None, "https://sessions.example.test")
    spanish_booked = book(parts, START, language="es", amount=None, service=None)
    english_booked = book(parts, START, amount=None, service=None)
    with TestClient(create_app(parts), base_url=parts.settings.public_url) as client:
        page = client.get(spanish_booked.path)
        assert page.status_code == 200
        assert '<html lang="es">' in page.text
        assert "<h1>Su sesión con Dr. Rivera</h1>" in page.text
        assert "<strong>mar, 1 dic 2026, 12:00 PST</strong>" in page.text
        assert "En su zona horaria: hora del Pacífico (America/Los_Angeles) · 50 minutos" in (
            page.text
        )
        assert "Sí, asistiré" in page.text and "Entrar a la sesión" in page.text
        assert "Your session" not in page.text and "Enter Meeting" not in page.text
        cancel = client.get(f"{spanish_booked.path}/cancel")
        assert "¿Cancelar su sesión?" in cancel.text

        english = client.get(english_booked.path)
        assert '<html lang="en">' in english.text
        assert "<h1>Your session with Dr. Rivera</h1>" in english.text
        assert "<strong>Tue, Dec 1, 2026, 12:00 PM PST</strong>" in english.text
        assert "Yes, I will attend" in english.text


def test_a_price_is_written_for_the_page_in_spanish(tmp_path, store: Store, clock) -> None:
    parts = page_parts(tmp_path, store, None, "https://sessions.example.test")
    booked = book(parts, START, language="es", amount=str(Decimal("180.00")))
    with TestClient(create_app(parts), base_url=parts.settings.public_url) as client:
        page = client.get(booked.path)
    assert "La consulta se pondrá en contacto con usted para el pago." in page.text
    assert "Se abre después del pago." in page.text


# The conversation --------------------------------------------------------------------------


def test_the_clinician_says_spanish_and_the_contact_remembers_it(
    tmp_path, store: Store, smtp_server, clock
) -> None:
    parts = wired_parts(tmp_path, store, smtp=smtp_server)
    chat = Chat(parts, CLINICIAN)
    reply = chat.say(
        "Ana Ruiz tomorrow 3pm by email ana@example.com, no documents, she speaks spanish"
    )
    if reply.requested_slot == "participant_tz":
        reply = chat.say("Pacific")
    said = "\n".join(text for _, text in chat.transcript)
    assert "The participant's messages and page will be in Spanish." in said
    assert reply.phase == "confirm" and "• Language: Spanish" in reply.text
    saved = chat.say("save")
    assert saved.saved_session_id
    assert session(parts, saved.saved_session_id).language == "es"
    assert run_worker(parts).counts["sent"] == 1
    (mail,) = smtp_server.received
    assert mail.message["Subject"] == "Invitación: sesión por video el mié, 25 nov, 12:00 PST"

    # Booked again by name: the contact brings the e-mail, the zone and the language.
    again = chat.say("Ana Ruiz friday 10am, no documents")
    assert again.phase == "confirm", again.text
    assert "• Language: Spanish" in again.text
    saved = chat.say("save")
    assert saved.saved_session_id
    assert session(parts, saved.saved_session_id).language == "es"


def test_en_espanol_is_read_and_english_is_not_named_in_the_summary(
    tmp_path, store: Store, clock
) -> None:
    parts = wired_parts(tmp_path, store)
    chat = Chat(parts, CLINICIAN)
    reply = chat.say("Luis Gómez tomorrow 4pm, no invite, no documents, en español, Pacific")
    assert reply.phase == "confirm", reply.text
    assert "• Language: Spanish" in reply.text
    plain = Chat(parts, Who("T_TEST", "U_CLIN2", tz="America/New_York")).say(
        "Robin Roe tomorrow 5pm, no invite, no documents, Pacific"
    )
    assert plain.phase == "confirm", plain.text
    assert "Language" not in plain.text
