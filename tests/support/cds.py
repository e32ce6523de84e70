"""CDS Hooks 2.0 helpers for tests: a signing CDS client, and the response rules as checks."""

from __future__ import annotations

import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

INDICATORS = {"info", "warning", "critical"}
LINK_TYPES = {"absolute", "smart"}
SELECTION = {"at-most-one", "any"}


class CdsClientKeys:
    """A CDS client's signing keys (ES384 and RS384) and its public JWK Set."""

    def __init__(self) -> None:
        self.ec = ECKey.generate_key("P-384", private=True)
        self.rsa = RSAKey.generate_key(2048, private=True)
        self.kids = {"ES384": "ec-1", "RS384": "rsa-1"}

    def key(self, alg: str) -> Any:
        return self.ec if alg == "ES384" else self.rsa

    @property
    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                self.ec.as_dict(private=False, kid="ec-1", alg="ES384", use="sig"),
                self.rsa.as_dict(private=False, kid="rsa-1", alg="RS384", use="sig"),
            ]
        }

    def sign(self, iss: str, aud: str | list[str], *, alg: str = "ES384", **overrides: Any) -> str:
        """A CDS Hooks client JWT; `overrides` replace claims (None removes one); `header_*`
        keys change the header."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": iss,
            "aud": aud,
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
        header: dict[str, Any] = {"alg": alg, "typ": "JWT", "kid": self.kids[alg]}
        for name, value in overrides.items():
            target, name = (header, name[7:]) if name.startswith("header_") else (claims, name)
            if value is None:
                target.pop(name, None)
            else:
                target[name] = value
        return jwt.encode(header, claims, self.key(alg), algorithms=["ES384", "RS384"])


def unsigned(iss: str, aud: str) -> str:
    """An `alg: none` JWT (header and claims only, empty signature)."""
    import base64
    import json

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'ec-1'})}.{part(claims)}."


def check_no_empty(value: Any, path: str = "$") -> None:
    """CDS Hooks 2.0 "Null and empty JSON elements": never null, "", [] or {} (except `cards`)."""
    assert value is not None, f"{path} is null"
    if isinstance(value, str):
        assert value != "", f"{path} is empty"
    elif isinstance(value, dict):
        assert value, f"{path} is {{}}"
        for key, item in value.items():
            check_no_empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        assert value, f"{path} is []"
        for n, item in enumerate(value):
            check_no_empty(item, f"{path}[{n}]")


def check_card(card: dict[str, Any]) -> None:
    """One card against CDS Hooks 2.0 "Card Attributes", "Source", "Link", "Suggestion"."""
    check_no_empty(card, "card")
    uuid.UUID(card["uuid"])
    assert isinstance(card["summary"], str) and len(card["summary"]) < 140
    assert card["indicator"] in INDICATORS
    assert isinstance(card["source"]["label"], str)
    if "topic" in card["source"]:
        assert {"system", "code", "display"} <= set(card["source"]["topic"])
    for link in card.get("links", []):
        assert {"label", "url", "type"} <= set(link)
        assert link["type"] in LINK_TYPES
        assert link["url"].startswith(("http://", "https://"))
        if "appContext" in link:
            assert link["type"] == "smart"
    if "suggestions" in card:
        assert card["selectionBehavior"] in SELECTION
        for suggestion in card["suggestions"]:
            assert isinstance(suggestion["label"], str)
            uuid.UUID(suggestion["uuid"])
            for action in suggestion.get("actions", []):
                assert action["type"] in {"create", "update", "delete"} and action["description"]
    for reason in card.get("overrideReasons", []):
        assert reason["display"] and reason["code"]
    allowed = {
        "uuid",
        "summary",
        "detail",
        "indicator",
        "source",
        "suggestions",
        "selectionBehavior",
        "overrideReasons",
        "links",
    }
    assert set(card) <= allowed, set(card) - allowed


def check_response(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A service response: an object with a `cards` array (may be empty), every card valid."""
    assert set(body) <= {"cards", "systemActions"}
    assert isinstance(body["cards"], list)
    for card in body["cards"]:
        check_card(card)
    return body["cards"]
