"""What the actions work with: the store, the practice and the settings.

rasa-sdk builds actions without arguments, so the edge (CLI, app factory, test)
configures these once; an action server started by rasa-sdk alone builds them from the
environment on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from ground.practice import Practice
from ground.settings import Settings
from scheduling.service import Actor, Scheduler
from store.db import Store

# Whether a sender ("TEAM", "USER") may use the actions at all (see `Services.admits`).
SenderCheck = Callable[[str, str], bool]


@dataclass
class Services:
    store: Store
    practice: Practice
    settings: Settings
    # None: every sender is one a face has already authenticated (the embedded runner is
    # handed Slack's verified identity or the terminal's). The action server, whose
    # trackers come from outside, sets a check: a sender it refuses reaches no action.
    admits: SenderCheck | None = None

    @cached_property
    def scheduler(self) -> Scheduler:
        """The scheduling rules' front door (one transaction a call)."""
        return Scheduler(self.store, self.practice, self.settings.public_url)

    @cached_property
    def payments_enabled(self) -> bool:
        return self.settings.payments_configured and bool(self.practice.services)


_services: Services | None = None


def configure(services: Services) -> None:
    global _services
    _services = services


def services() -> Services:
    """The services the edge configured (`sessionbot.wiring.build`, which every command,
    the web process and the action server call); actions never read the environment."""
    if _services is None:
        raise RuntimeError("actions used before sessionbot.wiring.build() configured them")
    return _services


def sender_of(sender_id: str | None) -> tuple[str, str] | None:
    """The clinician a conversation belongs to: its sender id is "TEAM:USER".

    Everything an action looks up is keyed by this pair; a sender id of any other shape
    names no clinician, so such a tracker reaches nobody's sessions.

    A staff member's conversation for a clinician is "TEAM:STAFF>CLINICIAN": it names the
    clinician, and only while the staff member may book for them (an admin, or their
    scheduler); everything it changes goes through `actor_of_sender`, checked again.
    """
    found = _parse(sender_id)
    if found is None:
        return None
    team, user, for_user = found
    if for_user is None:
        return team, user
    allowed = services().scheduler.conversation_for(Actor(team, user, for_user=for_user))
    return (team, allowed) if allowed is not None else None


def actor_of_sender(sender_id: str | None) -> Actor | None:
    """The sender as the scheduling service takes it (a staff member with the clinician
    they act for); None when the sender names nobody."""
    found = _parse(sender_id)
    return None if found is None else Actor(found[0], found[1], for_user=found[2])


def _parse(sender_id: str | None) -> tuple[str, str, str | None] | None:
    team, sep, user = (sender_id or "").partition(":")
    if not sep or not team.strip() or not user.strip() or ":" in user:
        return None
    staff, arrow, for_user = user.partition(">")
    if not arrow:
        return team, user, None
    if not staff.strip() or not for_user.strip() or ">" in for_user:
        return None
    return team, staff, for_user


def open_store(settings: Settings, *, for_upgrade: bool = False) -> Store:
    """The configured store. Only the embedded default makes its own key file; any other
    database without SESSIONBOT_ENCRYPTION_KEY is refused (`store.db.MissingKey`), and so is
    one whose schema is behind this version (`store.db.NotMigrated`) unless it is opened
    to be upgraded."""
    return Store.open(
        settings.database_url,
        settings.encryption_keys,
        settings.data_dir / "encryption.key" if settings.is_embedded_default else None,
        require_schema=not for_upgrade,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
