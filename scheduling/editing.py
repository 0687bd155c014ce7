"""Edit in one screen: every field of a session checked (`EditForm`), each change said,
the participant told once of what concerns them."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from ground.channel import Channel
from ground.formatting import initials, money, when
from ground.language import name_of
from ground.practice import Practice
from scheduling import booking
from scheduling.results import NOT_FOUND, Done, clinician_zone, once
from store import audit, clinician_rows, session_rows
from store.models import Clinician, ScheduledSession

EDIT_FIELDS = (
    "date", "time", "participant", "invite_channel", "email", "phone",
    "participant_tz", "documents", "service", "amount", "language", "length",
)  # fmt: skip
# The form's language field: the session's language as it is (a form without the field),
# or the practice's default; else a language's code ("es").
KEEP_LANGUAGE, DEFAULT_LANGUAGE = "keep", "default"


@dataclass(frozen=True)
class EditForm:
    """Every field of a session as the one-screen form gives them, checked."""

    start: datetime
    participant: str
    invite_channel: Channel
    email: str | None
    phone: str | None
    participant_tz: str
    documents: str | None
    service: str | None
    amount: Decimal | None
    note: str | None = None  # what the start's check said (the repeated hour taken)
    language: str = KEEP_LANGUAGE  # KEEP_LANGUAGE, DEFAULT_LANGUAGE or a code ("es")
    # The length in minutes; None (or the session's own): as it is, unless the service
    # changes, which brings its own length (as in the conversation).
    duration_min: int | None = None

    def length_of(self, session: ScheduledSession, practice: Practice) -> int:
        """The length the form leaves: the one typed over, else the new service's."""
        if self.duration_min is not None and self.duration_min != session.duration_min:
            return self.duration_min
        if self.service != session.service:
            return practice.duration_for(self.service)
        return session.duration_min

    def language_of(self, session: ScheduledSession) -> str | None:
        """The participant's language the form leaves (None: the practice's default)."""
        if self.language == KEEP_LANGUAGE:
            return session.language
        return None if self.language == DEFAULT_LANGUAGE else self.language


def amount_problem(amount: Decimal, practice: Practice) -> str | None:
    """The conversation's rules for an amount: more than 0, to the cent, the maximum."""
    if amount <= 0:
        return "The amount must be more than $0."
    if amount != amount.quantize(Decimal("0.01")):
        return "Amounts go to the cent, like $95.50."
    if amount > practice.max_amount:
        return (
            f"{money(amount)} is more than this practice's maximum of {money(practice.max_amount)}."
        )
    return None


def _edit(
    s: Session,
    clinician: Clinician,
    public_id: str,
    form: EditForm,
    practice: Practice,
    now: datetime,
) -> Done:
    """Apply the one-screen form: every change said (old and new; the participant's
    details only named, they are private), the participant told once of what concerns
    them, fresh reminders when the time moved."""
    session = session_rows.session_for_clinician(s, clinician.id, public_id, lock=True)
    if session is None or session.status == "cancelled":
        return NOT_FOUND
    tz = clinician_zone(clinician, practice)
    cents_now = None if form.amount is None else int(form.amount * 100)
    said: list[str] = []
    if form.start != session.start_at:
        said.append(f"time {when(session.start_at, tz)} → {when(form.start, tz)}")
    if form.participant != session.participant:
        said.append("the participant's name")
    if form.invite_channel != session.invite_channel:
        old, new = Channel.said_of(session.invite_channel), form.invite_channel.said
        said.append(f"invitation {old} → {new}")
    if form.email != session.email and form.email:
        said.append("the e-mail address")
    if form.phone != session.phone and form.phone:
        said.append("the phone number")
    if form.participant_tz != session.participant_tz:
        said.append(f"their zone {session.participant_tz} → {form.participant_tz}")
    if form.documents != session.documents:
        said.append(f"documents {session.documents or 'none'} → {form.documents or 'none'}")
    language = form.language_of(session)
    if language != session.language:
        said.append(f"their language {_language(session.language)} → {_language(language)}")
    length = form.length_of(session, practice)
    if length != session.duration_min:
        said.append(f"length {session.duration_min} → {length} min")
    paying = (form.service, cents_now) != (session.service, session.amount_cents)
    if paying:
        if session.payment_status in ("paid", "partially_refunded"):
            return Done(
                "The session is already paid, so its service and amount stay as they are. "
                "Nothing was changed.",
                changed=False,
            )
        old = money(Decimal(session.amount_cents) / 100) if session.amount_cents else "none"
        new = money(form.amount) if form.amount is not None else "none"
        said.append(f"payment {session.service or 'none'} {old} → {form.service or 'none'} {new}")
    if not said:
        return Done("Nothing changed: every field is as it was.", changed=False)
    moved = form.start != session.start_at
    same_channel = form.invite_channel == session.invite_channel
    # What the participant hears of: the time, how and where they are reached, their
    # zone, the documents (a new name or a new price alone is not worth a message).
    for_participant = (
        moved
        or language != session.language
        or length != session.duration_min  # their calendar's event ends elsewhere
        or any(
            getattr(form, name) != getattr(session, name)
            for name in ("invite_channel", "email", "phone", "participant_tz", "documents")
        )
    )
    changed = _changed_fields(session, form, cents_now, length)
    told = booking.invitation_left(s, session)
    told_by = (Channel.invitation(session.invite_channel) if told else None) or Channel.NONE
    told_at = booking.address_on(session, told_by)
    session.participant = form.participant
    session.invite_channel = form.invite_channel
    session.email, session.phone = form.email, form.phone
    session.phone_index = booking.phone_index(form.phone)
    session.participant_tz = form.participant_tz
    session.documents = form.documents
    session.language = language
    session.duration_min = length
    if paying:
        session.service, session.amount_cents = form.service, cents_now
        session.payment_ref = None  # the next Pay Now makes a Checkout for the new amount
        session.payment_status = "pending" if form.amount is not None else "not_required"
    text = f"Updated the session with {initials(form.participant)}: " + "; ".join(said) + "."
    if moved or for_participant:
        booking.withdraw_pending(s, session)
        session.start_at = form.start
        session.sequence += 1
        if moved:
            session.rsvp = None
        if session.invite_channel == Channel.NONE:
            session.invite_status = "not_sent"
            text += _told_before(s, session, told_by, told_at, moved, now)
        else:
            same_way = same_channel and told
            session.invite_status = "queued"
            booking.plan_messages(
                s, session, practice, now, first="update" if same_way else "invitation"
            )
            text += (
                " The participant will get an update."
                if same_way
                else (" The participant will get the invitation.")
            )
            if not same_channel:
                text += _told_before(s, session, told_by, told_at, moved, now)
    contact = clinician_rows.upsert_contact(
        s,
        clinician.id,
        name=form.participant,
        invite_channel=form.invite_channel,
        email=form.email,
        phone=form.phone,
        participant_tz=form.participant_tz,
    )
    contact.language = language or contact.language
    audit.session_event(s, session, "session_changed", fields=changed)
    if form.note:
        text += f" {form.note}"
    return Done(text, changed=True)


def _changed_fields(
    session: ScheduledSession, form: EditForm, cents: int | None, length: int
) -> list[str]:
    """The names of the session's fields the form changes (the audit's; never values)."""
    wanted = {
        "duration_min": length,
        "start_at": form.start, "participant": form.participant,
        "invite_channel": form.invite_channel, "email": form.email, "phone": form.phone,
        "participant_tz": form.participant_tz, "documents": form.documents,
        "service": form.service, "amount_cents": cents, "language": form.language_of(session),
    }  # fmt: skip
    return [name for name, value in wanted.items() if getattr(session, name) != value]


EDIT_STATE = (
    "start_at", "participant", "invite_channel", "email", "phone", "participant_tz",
    "documents", "service", "amount_cents",
)  # fmt: skip


def edit(
    s: Session,
    clinician: Clinician,
    public_id: str,
    form: EditForm,
    practice: Practice,
    now: datetime,
) -> Done:
    """Apply the one-screen form (see `_edit`); the same form twice is done once."""
    # Hashed with a key before it is stored: the fields name people.
    wanted = _edit_state(form)
    args = repr(astuple(form))

    def holds() -> bool:
        found = session_rows.session_for_clinician(s, clinician.id, public_id)
        return (
            found is not None
            and tuple(getattr(found, n) for n in EDIT_STATE) == wanted
            and found.language == form.language_of(found)
            and (form.duration_min is None or found.duration_min == form.duration_min)
        )

    return once(
        s, clinician.id, "edit", public_id, args, now,
        lambda: _edit(s, clinician, public_id, form, practice, now), holds,
    )  # fmt: skip


def _edit_state(form: EditForm) -> tuple[object, ...]:
    """The session's fields as the form would leave them (in `EDIT_STATE`'s order)."""
    cents = None if form.amount is None else int(form.amount * 100)
    return (
        form.start, form.participant, form.invite_channel, form.email, form.phone,
        form.participant_tz, form.documents, form.service, cents,
    )  # fmt: skip


def _language(code: str | None) -> str:
    return name_of(code) if code else "the practice's default"


def _told_before(
    s: Session,
    session: ScheduledSession,
    told_by: Channel,
    address: str | None,
    moved: bool,
    now: datetime,
) -> str:
    """A participant already invited one way, now invited another way or not at all: a
    new time still reaches them once the way they were told (their calendar entry must
    not keep the old one), so the address they were told at is kept for it; after that,
    and for any other change, nothing more goes that way."""
    if told_by is Channel.NONE:
        return ""
    by = told_by.said
    invited_now = session.invite_channel != Channel.NONE
    if not moved:
        return (
            ""
            if invited_now
            else f" They were invited by {by}; that invitation stands, with no reminders."
        )
    if not address:
        return (
            ""
            if invited_now
            else (
                f" They were invited by {by} for the old time and sessionbot will not tell them "
                "of the new one: please let them know."
            )
        )
    if told_by.address == "email":
        session.email = address
    else:
        session.phone, session.phone_index = address, booking.phone_index(address)
    session.invite_status = "queued"
    booking.queue(
        s, session, "update", due_at=now, key=f"update:{told_by}:{session.sequence}",
        channel=told_by,
    )  # fmt: skip
    if invited_now:
        return f" They were invited by {by} before, so the new time goes there once too."
    return f" They were invited by {by}, so the new time goes to them there once, then nothing."
