"""Keys of the installation, never stored in the database.

- the fingerprint key: HMAC key of the address and browser hashes (``FINGERPRINT_KEY`` from
  the environment, else a generated one in instance/fingerprint_key), so a copy of the
  database cannot be reversed by enumerating the IPv4 space;
- the signing key: Ed25519 key of sealed archives (instance/signing_key.pem, or the file named
  by ``SIGNING_KEY_FILE``), generated on first use.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def _private_file(path: Path, make: callable) -> bytes:
    """Read ``path``, creating it (mode 0600, atomically: two processes agree) when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(make())
        try:
            os.link(tmp, path)  # fails if another process created it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


def fingerprint_key(instance: Path) -> str:
    return _private_file(instance / "fingerprint_key", lambda: secrets.token_hex(32).encode()).decode().strip()


def signing_key(path: Path) -> Ed25519PrivateKey:
    def make() -> bytes:
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    key = serialization.load_pem_private_key(_private_file(path, make), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_fingerprint(raw: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, as 16 groups of 4 hex digits (read aloud, compared on paper)."""
    digest = hashlib.sha256(raw).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, 64, 4))


def app_signing_key(app=None) -> Ed25519PrivateKey:
    from flask import current_app

    app = app or current_app
    return signing_key(Path(app.config.get("SIGNING_KEY_FILE") or Path(app.instance_path) / "signing_key.pem"))


def app_public_fingerprint(app=None) -> str:
    return public_fingerprint(public_raw(app_signing_key(app).public_key()))
