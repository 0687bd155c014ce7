"""Outward integrations: e-mail (SMTP), text messages (Twilio), payments (Stripe), video rooms."""
