"""API-key scopes form a ladder (read < write < admin); operator stands apart."""

from __future__ import annotations

import pytest

from server.domain.api_keys import Scope, grants


@pytest.mark.parametrize(
    ("held", "needed", "allowed"),
    [
        ((Scope.ADMIN,), Scope.WRITE, True),
        ((Scope.ADMIN,), Scope.READ, True),
        ((Scope.WRITE,), Scope.READ, True),
        ((Scope.WRITE,), Scope.ADMIN, False),
        ((Scope.READ,), Scope.WRITE, False),
        ((Scope.READ, Scope.WRITE), Scope.ADMIN, False),
        ((Scope.ADMIN,), Scope.OPERATOR, False),
        ((Scope.OPERATOR,), Scope.WRITE, False),
        ((Scope.OPERATOR,), Scope.OPERATOR, True),
        ((), Scope.READ, False),
    ],
)
def test_grants(held: tuple[Scope, ...], needed: Scope, allowed: bool) -> None:
    assert grants(held, needed) is allowed
