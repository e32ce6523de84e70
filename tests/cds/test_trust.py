"""CDS Hooks 2.0 "Trusting CDS Clients": every untrusted call gets 401, says nothing, reads nothing."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from tests.cds.conftest import DISCOVERY_URL, ISS, SERVICE_URL, bearer, hook_body
from tests.support.cds import unsigned


@pytest.fixture
def call(cds, recorder):
    """POST the hook for patient p1 with no prefetch, pointing at the recorder as FHIR server."""

    def post(headers):
        recorder.requests.clear()
        body = hook_body("p1", fhir_server=f"{recorder.url}/fhir")
        return cds.post("/cds-services/sciatica-rehab", json=body, headers=headers)

    return post


def assert_refused(response, recorder):
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="cds-services"'
    assert recorder.fhir_reads() == [], "no FHIR read before the client is trusted"
    assert "Set-Cookie" not in response.headers


def other_ec_key():
    return ECKey.generate_key("P-384", private=True)


CASES = {
    "no JWT": lambda k: {},
    "not bearer": lambda k: {"Authorization": "Basic dXNlcjpwYXNz"},
    "garbage": lambda k: bearer("not.a.jwt"),
    "expired": lambda k: bearer(
        k.sign(ISS, SERVICE_URL, exp=int(time.time()) - 3600, iat=int(time.time()) - 3900)
    ),
    "wrong aud": lambda k: bearer(k.sign(ISS, "https://other.example/cds-services/sciatica-rehab")),
    "discovery aud on the service": lambda k: bearer(k.sign(ISS, DISCOVERY_URL)),
    "unknown iss": lambda k: bearer(k.sign("https://evil.example/ehr", SERVICE_URL)),
    "jku off the allowlist": lambda k: bearer(
        k.sign(ISS, SERVICE_URL, header_jku="https://evil.example/jwks")
    ),
    "alg none": lambda k: bearer(unsigned(ISS, SERVICE_URL)),
    "alg HS384": lambda k: bearer(
        jwt.encode(
            {"alg": "HS384", "typ": "JWT", "kid": "ec-1"},
            {
                "iss": ISS,
                "aud": SERVICE_URL,
                "exp": int(time.time()) + 60,
                "iat": int(time.time()),
                "jti": "h",
            },
            OctKey.generate_key(384),
            algorithms=["HS384"],
        )
    ),
    "alg RS256": lambda k: bearer(
        jwt.encode(
            {"alg": "RS256", "typ": "JWT", "kid": "rsa-1"},
            {
                "iss": ISS,
                "aud": SERVICE_URL,
                "exp": int(time.time()) + 60,
                "iat": int(time.time()),
                "jti": "r",
            },
            k.rsa,
            algorithms=["RS256"],
        )
    ),
    "signed by another key": lambda k: bearer(
        jwt.encode(
            {"alg": "ES384", "typ": "JWT", "kid": "ec-1"},
            {
                "iss": ISS,
                "aud": SERVICE_URL,
                "exp": int(time.time()) + 60,
                "iat": int(time.time()),
                "jti": "o",
            },
            other_ec_key(),
            algorithms=["ES384"],
        )
    ),
    "unknown kid": lambda k: bearer(k.sign(ISS, SERVICE_URL, header_kid="nope")),
    "no kid": lambda k: bearer(k.sign(ISS, SERVICE_URL, header_kid=None)),
    "typ not JWT": lambda k: bearer(k.sign(ISS, SERVICE_URL, header_typ="at+jwt")),
    "no jti": lambda k: bearer(k.sign(ISS, SERVICE_URL, jti=None)),
    "no exp": lambda k: bearer(k.sign(ISS, SERVICE_URL, exp=None)),
    "no iat": lambda k: bearer(k.sign(ISS, SERVICE_URL, iat=None)),
    "exp a day ahead": lambda k: bearer(k.sign(ISS, SERVICE_URL, exp=int(time.time()) + 86400)),
}


@pytest.mark.parametrize("case", CASES)
def test_untrusted_calls_get_401_and_read_nothing(case, call, keys, recorder):
    assert_refused(call(CASES[case](keys)), recorder)


def test_a_jku_off_the_allowlist_is_never_fetched(call, keys, recorder):
    token = keys.sign(ISS, SERVICE_URL, header_jku=f"{recorder.url}/not-listed-jwks")
    assert_refused(call(bearer(token)), recorder)
    assert ("GET", "/not-listed-jwks") not in recorder.requests


def test_a_replayed_jti_gets_401_and_reads_nothing(call, keys, recorder):
    token = keys.sign(ISS, SERVICE_URL)
    first = call(bearer(token))
    assert first.status_code == 412  # trusted; the recorder is no FHIR server (500), so no data
    assert recorder.fhir_reads() == [("POST", "/fhir")], "one batch for the missing prefetch"
    assert_refused(call(bearer(token)), recorder)


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_each_allowed_algorithm_is_trusted(alg, call, keys):
    assert call(bearer(keys.sign(ISS, SERVICE_URL, alg=alg))).status_code == 412


def test_aud_may_be_an_array(call, keys):
    assert call(bearer(keys.sign(ISS, [SERVICE_URL]))).status_code == 412


def test_keys_from_an_allowlisted_jku(call, keys, recorder):
    response = call(bearer(keys.sign(ISS, SERVICE_URL, header_jku=f"{recorder.url}/jwks")))
    assert response.status_code == 412
    assert ("GET", "/jwks") in recorder.requests


def test_discovery_needs_a_jwt_for_its_own_url(cds, keys):
    assert cds.get("/cds-services").status_code == 401
    assert cds.get("/cds-services", headers=bearer(keys.sign(ISS, SERVICE_URL))).status_code == 401
    ok = cds.get("/cds-services", headers=bearer(keys.sign(ISS, DISCOVERY_URL)))
    assert ok.status_code == 200


def test_without_public_url_nothing_is_trusted(tmp_path, keys, recorder, fhir_server):
    from tests.cds.conftest import make_cds_app

    app = make_cds_app(tmp_path, keys, recorder, fhir_server.base_url, PUBLIC_URL=None)
    response = app.test_client().get("/cds-services", headers=bearer(keys.sign(ISS, DISCOVERY_URL)))
    assert response.status_code == 401
