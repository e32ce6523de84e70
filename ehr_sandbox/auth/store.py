"""In-memory, thread-safe storage of the sandbox's clients, launches, codes and tokens."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ehr_sandbox.auth.models import (
    AccessToken,
    AuthorizationCode,
    Client,
    Launch,
    LaunchContext,
    RefreshGrant,
)

if TYPE_CHECKING:
    from ehr_sandbox.settings import ClientRegistration


class SandboxStore:
    """Everything the authorization server remembers; lost when the process stops."""

    def __init__(self, clients: Iterable[ClientRegistration] = ()) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self._launches: dict[str, Launch] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._jtis: dict[tuple[str, str], float] = {}
        for registration in clients:
            self.register_client(registration)

    # -- clients -------------------------------------------------------------------------
    def register_client(self, registration: ClientRegistration) -> Client:
        """Add or replace a client registration."""
        client = Client(registration)
        with self._lock:
            self._clients[registration.client_id] = client
        return client

    def get_client(self, client_id: str | None) -> Client | None:
        with self._lock:
            return self._clients.get(client_id or "")

    # -- launches ------------------------------------------------------------------------
    def create_launch(self, context: LaunchContext) -> Launch:
        """A new opaque launch id bound to `context`."""
        launch = Launch(secrets.token_urlsafe(16), context)
        with self._lock:
            self._launches[launch.launch_id] = launch
        return launch

    def get_launch(self, launch_id: str | None) -> Launch | None:
        with self._lock:
            return self._launches.get(launch_id or "")

    # -- authorization codes -------------------------------------------------------------
    def save_code(self, record: AuthorizationCode) -> None:
        with self._lock:
            self._codes[record.code] = record

    def take_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """Use a code once. A replayed code revokes what it issued (RFC 6749 4.1.2)."""
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.client_id != client_id:
                return None
            if record.used:
                issued: list[AccessToken | RefreshGrant] = [*self._access.values(), *self._refresh.values()]
                for token in issued:
                    if token.code == code:
                        token.revoked = True
                return None
            record.used = True
            return None if record.is_expired() else record

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        with self._lock:
            return any(c.client_id == client_id and c.nonce == nonce for c in self._codes.values())

    # -- tokens --------------------------------------------------------------------------
    def save_access_token(self, record: AccessToken) -> None:
        with self._lock:
            self._access[record.access_token] = record

    def get_access_token(self, token: str) -> AccessToken | None:
        with self._lock:
            return self._access.get(token)

    def issued_secrets(self) -> list[str]:
        """Every access and refresh token issued so far (for tests proving none leaks)."""
        with self._lock:
            return [*self._access, *self._refresh]

    def save_refresh_grant(self, record: RefreshGrant) -> None:
        with self._lock:
            self._refresh[record.refresh_token] = record

    def get_refresh_grant(self, token: str) -> RefreshGrant | None:
        with self._lock:
            record = self._refresh.get(token)
            return None if record is None or record.revoked else record

    def revoke_grant(self, code: str | None) -> None:
        """Revoke every access and refresh token that came from one authorization code."""
        if code is None:
            return
        with self._lock:
            for access in self._access.values():
                if access.code == code:
                    access.revoked = True
            for refresh in self._refresh.values():
                if refresh.code == code:
                    refresh.revoked = True

    # -- private_key_jwt assertions ------------------------------------------------------
    def use_jti(self, client_id: str, jti: str, expires_at: float) -> bool:
        """Record an assertion id; False when it was seen before (RFC 7523 3, replay)."""
        now = time.time()
        with self._lock:
            self._jtis = {k: exp for k, exp in self._jtis.items() if exp > now}
            if (client_id, jti) in self._jtis:
                return False
            self._jtis[(client_id, jti)] = max(expires_at, now + 60)
            return True
