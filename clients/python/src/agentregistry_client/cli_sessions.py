"""The CLI's session kept between commands, so each command does not log in again.

One file per (target, public key) under `$XDG_CACHE_HOME/agentregistry/sessions/` (else
`~/.cache/…`): a directory only the user can enter, files only the user can read, written
atomically. A file anyone else could read or write is ignored and removed. A session is
reused while more than a minute of it is left; `agentregistry logout` ends it on the
server and deletes the file; `--no-session-cache` (or AGENTREGISTRY_SESSION_CACHE=0) keeps
none. A rotated key or a different target never finds another's session.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from agentregistry_client.keys import AgentKey
from agentregistry_client.session import Session

CACHE_ENV = "AGENTREGISTRY_SESSION_CACHE"
_LEFT_AT_LEAST = timedelta(minutes=1)


def enabled(no_cache_flag: bool) -> bool:
    return not no_cache_flag and os.environ.get(CACHE_ENV, "1") not in ("0", "false", "no")


def directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "agentregistry" / "sessions"


def _file(target: str, key: AgentKey) -> Path:
    identity = hashlib.sha256(target.encode() + b"\n" + key.public_key).hexdigest()[:32]
    return directory() / f"{identity}.json"


def _private(info: os.stat_result) -> bool:
    if os.name == "nt":  # no POSIX modes; the user's profile directory is theirs by ACL
        return True
    return not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) and info.st_uid == os.getuid()


def load(target: str, key: AgentKey) -> tuple[str, str, datetime] | None:
    """(token, agent, expire_time) of a cached session with time left, else None."""
    file = _file(target, key)
    try:
        if not _private(file.stat()):
            file.unlink()
            return None
        document = json.loads(file.read_text())
        expire_time = datetime.fromisoformat(document["expireTime"])
        token, agent = str(document["token"]), str(document["agent"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if agent != key.agent or expire_time - datetime.now(timezone.utc) < _LEFT_AT_LEAST:
        return None
    return token, agent, expire_time


def store(target: str, key: AgentKey, session: Session) -> None:
    folder = directory()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    document = {
        "token": session.token,
        "agent": session.agent,
        "expireTime": session.expire_time.isoformat(),
        "target": target,
    }
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".session-")  # mode 0600
    with os.fdopen(fd, "w") as out:
        json.dump(document, out)
    os.replace(temporary, _file(target, key))


def drop(target: str, key: AgentKey) -> None:
    _file(target, key).unlink(missing_ok=True)
