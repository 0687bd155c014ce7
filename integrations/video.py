"""Video rooms: a small Protocol and the Jitsi Meet provider.

A room is named by the session's secret `room_name` (144 random bits), so its address
cannot be guessed. With an app id and secret (a Jitsi deployment with token auth), the
link also carries a signed JWT limited to that room and to the join window. Another
provider (Daily, Zoom) is a second class with the same method, chosen in `integrations/providers.py`
by `SESSIONBOT_VIDEO_PROVIDER`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from urllib.parse import quote, urlsplit

import jwt


class VideoRooms(Protocol):
    def join_url(
        self,
        room_name: str,
        *,
        display_name: str,
        host: bool,
        not_before: datetime,
        expires: datetime,
    ) -> str:
        """The address that lets one person into the room."""
        ...


class JitsiRooms:
    """Jitsi Meet on `base_url` (meet.jit.si or a self-hosted deployment)."""

    def __init__(self, base_url: str, app_id: str | None = None, secret: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.secret = secret

    def join_url(
        self,
        room_name: str,
        *,
        display_name: str,
        host: bool,
        not_before: datetime,
        expires: datetime,
    ) -> str:
        url = f"{self.base_url}/{quote(room_name, safe='')}"
        if not (self.app_id and self.secret):
            return url
        claims = {
            "aud": "jitsi",
            "iss": self.app_id,
            "sub": urlsplit(self.base_url).hostname or "*",
            "room": room_name,
            "nbf": int(not_before.timestamp()),
            "exp": int(expires.timestamp()),
            "moderator": host,
            "context": {"user": {"name": display_name, "moderator": host}},
        }
        token = jwt.encode(claims, self.secret, algorithm="HS256")
        return f"{url}?jwt={token}"
