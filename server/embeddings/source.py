"""What text stands for an agent or a catalog entry when it is embedded, and its hash.

Name, description, tags and the names of the capabilities offered: what a person
would read to decide whether the agent does what they want. The hash covers the
model id too, so a new model re-embeds every row and an unchanged text never is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def agent_text(
    display_name: str, description: str, tags: Sequence[str], capabilities: Sequence[str]
) -> str:
    parts = [display_name.strip(), description.strip()]
    if tags:
        parts.append("Tags: " + ", ".join(tags))
    if capabilities:
        parts.append("Capabilities: " + ", ".join(capabilities))
    return ". ".join(part for part in parts if part)


def capability_text(display_name: str, description: str, synonyms: Sequence[str]) -> str:
    return f"{display_name}. {description} {'; '.join(synonyms)}".strip()


def source_hash(model_id: str, text: str) -> str:
    return hashlib.blake2b(f"{model_id}\n{text}".encode(), digest_size=16).hexdigest()
