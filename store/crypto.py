"""Encryption of participant data at rest (Fernet, key rotation with MultiFernet).

The keyring is set once when the store is opened. `EncryptedText` columns encrypt on
the way in and decrypt on the way out, so no repository can forget to. `blind_index`
gives a keyed hash for equality look-ups (a contact by name) without storing clear text;
writes use the first key's, look-ups try `blind_indexes` (every key's), so a value
stored before a rotation is still found while the old key is listed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

# What the key check row holds, encrypted (store/db.py): proof that the keys read this store.
CANARY = "sessionbot key check"


class UndecryptableError(ValueError):
    """A value encrypted under a key that is not configured (no participant data in it)."""


class Keyring:
    """The first key encrypts; every key decrypts (so old keys can be rotated out)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        try:
            fernets = [Fernet(k.encode()) for k in keys]
        except ValueError:
            raise ValueError(
                "SESSIONBOT_ENCRYPTION_KEY: a key is not a Fernet key "
                "(`sessionbot keys new` makes one)"
            ) from None
        self._first = fernets[0]
        self._fernet = MultiFernet(fernets)
        self._index_keys = [
            hashlib.sha256(b"sessionbot-blind-index:" + k.encode()).digest() for k in keys
        ]

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise UndecryptableError(
                "participant data cannot be decrypted with the configured keys"
            ) from None

    def is_current(self, token: str) -> bool:
        """Whether `token` is under the first key (its signature checked, nothing decrypted)."""
        try:
            self._first.extract_timestamp(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same value under the first key (raises UndecryptableError under no key)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise UndecryptableError(
                "participant data cannot be decrypted with the configured keys"
            ) from None

    def blind_index(self, text: str) -> str:
        """The index to write: under the first key."""
        return self._index(self._index_keys[0], text)

    def blind_indexes(self, text: str) -> list[str]:
        """The indexes to look for: under every key, the first key's first."""
        return [self._index(key, text) for key in self._index_keys]

    @staticmethod
    def _index(key: bytes, text: str) -> str:
        normal = " ".join(text.casefold().split())
        return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()


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
    """A fresh Fernet key (32 random bytes, URL-safe base64)."""
    return Fernet.generate_key().decode()


class EncryptedText(TypeDecorator[str]):
    """A text column stored as Fernet ciphertext."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else keyring().encrypt(value)

    def process_result_value(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else keyring().decrypt(value)


def hash_token(token: str) -> str:
    """A link's token as the store finds it: its SHA-256 (the token itself is never kept)."""
    return hashlib.sha256(token.encode()).hexdigest()
