"""Token revocation (RFC 7009) through authlib: the app's sign-out ends its grant here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc7009 import RevocationEndpoint

from ehr_sandbox.auth.grants import TOKEN_AUTH_METHODS
from ehr_sandbox.auth.models import AccessToken, RefreshGrant

if TYPE_CHECKING:
    from ehr_sandbox.auth.store import SandboxStore


class SandboxRevocation(RevocationEndpoint):
    """Revokes an access token, or a refresh token and every token of the same grant
    (RFC 7009 2.1: revoking a refresh token SHOULD also invalidate its access tokens).

    The client authenticates as at the token endpoint; an unknown token still gets 200.
    """

    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    @property
    def store(self) -> SandboxStore:
        return self.server.store

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        # The hint only orders the look-ups (RFC 7009 2.1: the server may ignore it).
        lookups = [self.store.get_access_token, self.store.get_refresh_grant]
        if token_type_hint == "refresh_token":  # noqa: S105 - a hint name, not a secret
            lookups.reverse()
        for lookup in lookups:
            found = lookup(token_string)
            if found is not None:
                return found
        return None

    def revoke_token(self, token: AccessToken | RefreshGrant, request: Any) -> None:
        token.revoked = True
        if isinstance(token, RefreshGrant):
            self.store.revoke_grant(token.code)
