"""The channels: one enum, one adapter each, the stored values unchanged."""

from __future__ import annotations

from ground.channel import INVITATIONS, Channel
from integrations import providers


def test_every_invitation_channel_but_none_has_an_adapter_and_the_others_none() -> None:
    table = providers.local().adapters
    assert {c for c in INVITATIONS if c is not Channel.NONE} == set(table)
    assert providers.local().adapter(Channel.of("whatsapp")) is None
    assert providers.local().adapter(Channel.SLACK) is None  # notices are their own kind


def test_the_stored_values_are_the_strings_the_database_already_holds() -> None:
    assert [str(c) for c in Channel] == ["email", "sms", "none", "slack"]
    assert Channel.of("sms") is Channel.SMS and Channel.SMS == "sms"
    assert Channel.invitation("slack") is None and Channel.of(None) is None
