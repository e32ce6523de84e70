"""Issue 11: the token endpoint's redirects are not followed (the code, the PKCE verifier and
the client's credentials would be re-sent to the other address)."""

from __future__ import annotations

import pytest
import responses as rsps_lib

from tests.launch.conftest import TOKEN_URL

ELSEWHERE = "https://collector.example.net/token"


@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_redirecting_token_endpoint_fails_the_launch_and_nothing_is_resent(
    status, launcher, auth_server
) -> None:
    auth_server.token_error = (status, {})
    auth_server.rsps.add(rsps_lib.POST, ELSEWHERE, json={"access_token": "x", "token_type": "Bearer"})
    original = auth_server._token

    def redirecting(request):
        code, _, body = original(request)
        return code, ({"Location": ELSEWHERE} if code == status else {}), body

    auth_server.rsps.remove(rsps_lib.POST, TOKEN_URL)
    auth_server.rsps.add_callback(rsps_lib.POST, TOKEN_URL, callback=redirecting)
    response = launcher.ehr_launch()
    assert response.status_code == 502
    assert not any(call.request.url == ELSEWHERE for call in auth_server.rsps.calls)
