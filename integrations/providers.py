"""The one place that chooses each outside service from settings.

A real adapter where its credentials are set; otherwise the local outbox (mail, text
messages, Slack notices), no payments at all, and Jitsi for video. The worker, the web
page and the tests take their adapters from here, so adding a provider is a change to
this file and the adapter's own module, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ground.channel import Channel
from ground.settings import Settings
from integrations import local_outbox, mail
from integrations.channels import ChannelAdapter, EmailChannel, SmsChannel
from integrations.mail import MailSender
from integrations.payments import Payments, StripePayments
from integrations.slack_notify import ClinicianNotifier, SlackNotifier
from integrations.sms import SmsSender, TwilioSender
from integrations.video import JitsiRooms, VideoRooms
from store.db import Store


@dataclass(frozen=True)
class Senders:
    mail: MailSender
    sms: SmsSender
    slack: ClinicianNotifier

    @cached_property
    def adapters(self) -> dict[Channel, ChannelAdapter]:
        """The one table: which adapter sends a participant's messages on each channel."""
        return {Channel.EMAIL: EmailChannel(self.mail), Channel.SMS: SmsChannel(self.sms)}

    def adapter(self, channel: Channel | None) -> ChannelAdapter | None:
        """None for a channel without an adapter: the worker fails such a row, it never
        sends it on another channel."""
        return self.adapters.get(channel) if channel is not None else None


def senders(settings: Settings, store: Store) -> Senders:
    """Real senders where credentials are set; the local outbox for the rest."""
    mail_sender: MailSender = (
        mail.SmtpSender(settings.smtp_url, ca_file=settings.smtp_ca_file)
        if settings.smtp_url
        else local_outbox.LocalMail()
    )
    sms_sender: SmsSender = local_outbox.LocalSms()
    if settings.sms_configured:
        assert settings.twilio_account_sid and settings.twilio_auth_token
        sms_sender = TwilioSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback=f"{settings.public_url}/webhooks/twilio/status",
            api_url=settings.twilio_api_url,
        )
    slack: ClinicianNotifier = local_outbox.LocalSlack()
    if settings.slack_bot_token or settings.slack_client_id:
        slack = SlackNotifier(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            client_id=settings.slack_client_id,
            engine=store.engine,
        )
    return Senders(mail=mail_sender, sms=sms_sender, slack=slack)


def local() -> Senders:
    """Every channel to the local outbox."""
    return Senders(
        mail=local_outbox.LocalMail(), sms=local_outbox.LocalSms(), slack=local_outbox.LocalSlack()
    )


def payments(settings: Settings) -> Payments | None:
    """The configured payments provider, or None when payments are not set up."""
    if not settings.stripe_api_key:
        return None
    return StripePayments(
        settings.stripe_api_key, settings.stripe_webhook_secret, settings.stripe_api_url
    )


def video(settings: Settings) -> VideoRooms:
    if settings.video_provider != "jitsi":
        raise ValueError(f"unknown video provider {settings.video_provider!r} (known: jitsi)")
    return JitsiRooms(settings.video_base_url, settings.video_app_id, settings.video_app_secret)
