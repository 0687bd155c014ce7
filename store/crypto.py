"""Encryption of participant data at rest (Fernet, key rotation with MultiFernet).

The keyring is set once when the store is opened. `EncryptedText` columns encrypt on
the way in and decrypt on the way out, so no repository can forget to. `blind_index`
gives a keyed hash for equality look-ups (a contact by name) without storing clear text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator


class Keyring:
    """The first key encrypts; every key decrypts (so old keys can be rotated out)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        self._index_key = hashlib.sha256(b"sessionbot-blind-index:" + keys[0].encode()).digest()

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError(
                "participant data cannot be decrypted with the configured keys"
            ) from exc

    def blind_index(self, text: str) -> str:
        normal = " ".join(text.casefold().split())
        return hmac.new(self._index_key, normal.encode(), hashlib.sha256).hexdigest()


_keyring: Keyring | None = None


def set_keyring(keyring: Keyring) -> None:
    global _keyring
    _keyring = keyring


def keyring() -> Keyring:
    if _keyring is None:
        raise RuntimeError("the store is not open: no encryption keyring")
    return _keyring


def load_or_create_key_file(path: Path) -> str:
    """The embedded default: a key in the data folder, made once with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        key = Fernet.generate_key().decode()
        f.write(key + "\n")
    return key


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


class EncryptedText(TypeDecorator[str]):
    """A text column stored as Fernet ciphertext."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else keyring().encrypt(value)

    def process_result_value(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else keyring().decrypt(value)
