"""Issue 11: signing out through the real sandbox revokes the grant there (RFC 7009)."""

from __future__ import annotations

import requests

from tests.web.conftest import CSRF


def test_sign_out_revokes_the_tokens_at_the_sandbox_and_ends_the_session(browser, stack) -> None:
    before = set(stack.runtime.store.issued_secrets())
    page = browser.launch("eligible-icd10")
    assert page.status_code == 200 and "Sign out" in page.text
    issued = [s for s in stack.runtime.store.issued_secrets() if s not in before]
    assert issued  # this launch's access and refresh tokens
    token = CSRF.search(page.text).group(1)
    signed_out = browser.http.post(f"{stack.app_url}/logout", data={"csrf_token": token}, timeout=30)
    assert signed_out.status_code == 200
    assert "told to cancel the app's access" in " ".join(signed_out.text.split())
    assert browser.get("/patient").status_code == 401
    for secret in issued:
        access = stack.runtime.store.get_access_token(secret)
        if access is not None:
            assert access.revoked
            answer = requests.get(
                f"{stack.fhir_base}/Patient",
                headers={"Authorization": f"Bearer {secret}"},
                timeout=10,
            )
            assert answer.status_code == 401
        else:
            assert stack.runtime.store.get_refresh_grant(secret) is None  # revoked
