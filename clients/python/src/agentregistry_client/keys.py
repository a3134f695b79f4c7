"""An agent's Ed25519 identity: the private key and, once registered, the agent's name.

The registry stores the public key only and never sees this. A key file is a small
JSON document written with mode 0600:

    {"agent": "agents/ag_…", "private_key": "<base64 of the 32-byte seed>"}

`AGENTREGISTRY_KEY` may hold the same JSON, a bare base64 seed, or a PEM private key
(what `openssl genpkey -algorithm ed25519` writes); a PEM file works as a key file too.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

KEY_ENV = "AGENTREGISTRY_KEY"
AGENT_ENV = "AGENTREGISTRY_AGENT"


class InvalidKey(ValueError):
    """A key file or variable that holds no usable Ed25519 private key."""


class AgentKey:
    """Signs for one agent. `agent` is None until the key is registered."""

    def __init__(
        self, private_key: Ed25519PrivateKey, agent: str | None = None, path: Path | None = None
    ) -> None:
        self.private_key = private_key
        self.agent = agent
        self.path = path

    @classmethod
    def generate(cls) -> AgentKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str, path: Path | None = None) -> AgentKey:
        """Parse JSON (`{"agent", "private_key"}`), PEM, or a bare base64 32-byte seed."""
        text = text.strip()
        agent: str | None = None
        if text.startswith("{"):
            try:
                document = json.loads(text)
                seed_text = str(document["private_key"])
            except (ValueError, KeyError, TypeError) as error:
                raise InvalidKey('expected {"agent": …, "private_key": …}') from error
            agent = document.get("agent") or None
            key = _from_seed(seed_text)
        elif text.startswith("-----BEGIN"):
            loaded = load_pem_private_key(text.encode(), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise InvalidKey("the PEM key is not an Ed25519 key")
            key = loaded
        else:
            key = _from_seed(text)
        return cls(key, agent or os.environ.get(AGENT_ENV) or None, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AgentKey:
        file = Path(path)
        return cls.from_text(file.read_text(), file)

    @classmethod
    def from_env(cls) -> AgentKey | None:
        """The key in AGENTREGISTRY_KEY, or None when it is unset."""
        text = os.environ.get(KEY_ENV)
        return cls.from_text(text) if text else None

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> AgentKey:
        """AGENTREGISTRY_KEY if set, else the file at `path`, else a new key saved there."""
        from_env = cls.from_env()
        if from_env is not None:
            return from_env
        file = Path(path)
        if file.exists():
            return cls.load(file)
        key = cls.generate()
        key.save(file)
        return key

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key, as CreateAgent takes it."""
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def seed(self) -> bytes:
        return self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)

    def to_json(self) -> str:
        document = {"agent": self.agent, "private_key": base64.b64encode(self.seed).decode()}
        return json.dumps(document, indent=2) + "\n"

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the key file atomically, readable by its owner only."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise InvalidKey("this key has no file; pass a path")
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "w") as file:
                file.write(self.to_json())
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.path = target
        return target

    def remember(self, agent: str) -> None:
        """Record the registered name, and save it if the key came from a file."""
        self.agent = agent
        if self.path is not None:
            self.save()


def _from_seed(text: str) -> Ed25519PrivateKey:
    try:
        seed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidKey("the private key is not base64") from error
    if len(seed) != 32:
        raise InvalidKey(f"an Ed25519 seed is 32 bytes, not {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)
