"""The CLI's settings: flags, else environment, else the current named context of the
config file, else defaults. Standard library only: it runs before any command loads grpc.

The config file (`$AGENTREGISTRY_CONFIG`, else `$XDG_CONFIG_HOME/agentregistry/config.json`,
else `~/.config/agentregistry/config.json`) is JSON:

    {"current": "local",
     "contexts": {"local": {"target": "127.0.0.1:50051", "key_file": "agent.key"},
                  "prod": {"target": "registry.example.com:443", "tls": true,
                           "key_file": "~/.agentregistry/prod.key",
                           "api_key_env": "PROD_REGISTRY_KEY"}}}

A context names the variable that holds an API key, never the key itself.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CONFIG_ENV = "AGENTREGISTRY_CONFIG"
CONTEXT_ENV = "AGENTREGISTRY_CONTEXT"
TARGET_ENV = "AGENTREGISTRY_TARGET"
KEY_FILE_ENV = "AGENTREGISTRY_KEY_FILE"
API_KEY_ENV = "AGENTREGISTRY_API_KEY"
AGENT_ENV = "AGENTREGISTRY_AGENT"
DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_KEY_FILE = "agent.key"
_FIELDS = ("target", "tls", "key_file", "api_key_env")


class ConfigError(Exception):
    """The config file or a context in it cannot be used."""


def path() -> Path:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "agentregistry" / "config.json"


def load() -> dict[str, Any]:
    file = path()
    if not file.exists():
        return {"current": None, "contexts": {}}
    try:
        document = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"{file}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("contexts", {}), dict):
        raise ConfigError(f'{file}: expected {{"current": …, "contexts": {{…}}}}')
    document.setdefault("contexts", {})
    document.setdefault("current", None)
    return document


def save(document: dict[str, Any]) -> None:
    """Atomically, readable by the user only (it may name key files)."""
    file = path()
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=file.parent, prefix=".config-")
    with os.fdopen(fd, "w") as out:
        json.dump(document, out, indent=2, sort_keys=True)
        out.write("\n")
    os.replace(temporary, file)


def resolve(args: argparse.Namespace) -> None:
    """Fill target, tls, key_file, api_key and agent on `args`, each from the first of
    its flag, its variable, the context, the default."""
    env = os.environ.get
    name = args.context or env(CONTEXT_ENV)
    context: dict[str, Any] = {}
    if args.command != "context" or name:
        document = load()
        name = name or document["current"]
        if name:
            if name not in document["contexts"]:
                raise ConfigError(f"no context {name!r} in {path()}")
            context = document["contexts"][name]
    key_file = args.key_file or env(KEY_FILE_ENV) or context.get("key_file") or DEFAULT_KEY_FILE
    api_key_env = context.get("api_key_env")
    args.target = args.target or env(TARGET_ENV) or context.get("target") or DEFAULT_TARGET
    args.tls = bool(args.tls if args.tls is not None else context.get("tls", False))
    args.key_file = str(Path(key_file).expanduser())
    args.api_key = args.api_key or env(API_KEY_ENV) or (env(api_key_env) if api_key_env else None)
    args.agent = args.agent or env(AGENT_ENV)
    args.output = args.output or "text"


def run(args: argparse.Namespace) -> int:
    """`agentregistry context list|use|set|delete`."""
    document = load()
    contexts: dict[str, dict[str, Any]] = document["contexts"]
    action = args.ctx_command
    if action == "list":
        for name, context in sorted(contexts.items()):
            mark = "*" if name == document["current"] else " "
            print(
                f"{mark} {name}  " + "  ".join(f"{k}={context[k]}" for k in _FIELDS if k in context)
            )
        if not contexts:
            print(
                f"no contexts yet: agentregistry context set NAME --set-target HOST:PORT ({path()})"
            )
        return 0
    if action in ("use", "delete") and args.name not in contexts:
        raise SystemExit(f"error: no context {args.name!r} in {path()}")
    if action == "use":
        document["current"] = args.name
    elif action == "delete":
        del contexts[args.name]
        if document["current"] == args.name:
            document["current"] = None
    else:
        context = contexts.setdefault(args.name, {})
        for field in _FIELDS:
            value = getattr(args, f"ctx_{field}")
            if value is not None:
                context[field] = value == "true" if field == "tls" else value
        if document["current"] is None:
            document["current"] = args.name
    save(document)
    print(f"{action}: {args.name} (current: {document['current']})")
    return 0
