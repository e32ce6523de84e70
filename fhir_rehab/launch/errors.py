"""SMART launch errors; each says what the user should do, none carries a token or PHI."""

from __future__ import annotations

from fhir_rehab.errors import FhirRehabError
from fhir_rehab.fhir.errors import FhirAuthError


class LaunchError(FhirRehabError):
    """The launch could not go on. `http_status` is the status of the page the user sees."""

    http_status = 400
    user_message = "The app could not be launched. Open it again from the EHR."


class UnknownIssuer(LaunchError):
    """`iss` is missing or not on the allowlist: never redirect anywhere."""

    user_message = (
        "The app was opened without a recognised EHR. Open it from the EHR's "
        "app menu, or ask your administrator to register this EHR."
    )


class BadLaunchRequest(LaunchError):
    """The launch or callback URL is malformed (for example no code in the callback)."""

    user_message = "The launch request was incomplete. Open the app again from the EHR."


class DiscoveryFailed(LaunchError):
    """The EHR's `.well-known/smart-configuration` could not be read or is unusable."""

    http_status = 502
    user_message = (
        "The EHR's sign-in service could not be reached or is misconfigured. "
        "Try again in a moment; if it keeps happening, contact support."
    )


class InsecureServer(LaunchError):
    """The authorization server lacks what the app requires (PKCE S256, HTTPS endpoints)."""

    http_status = 502
    user_message = (
        "The EHR's sign-in service does not meet the app's security requirements "
        "(PKCE S256). Contact your administrator."
    )


class StateMismatch(LaunchError):
    """The callback's `state` is missing, unknown, expired or already used."""

    user_message = (
        "This sign-in link is no longer valid (it was already used, expired, or "
        "started in another browser). Open the app again from the EHR."
    )


class AuthorizationDenied(LaunchError):
    """The authorization server answered with `error=` (for example access_denied)."""

    http_status = 403
    user_message = (
        "Access was not granted, so the app cannot open. To use it, launch it "
        "again from the EHR and allow the requested access."
    )


class AuthorizationFailed(LaunchError):
    """The authorization server answered with another `error=` (invalid_scope, server_error)."""

    http_status = 502
    user_message = (
        "The EHR's sign-in service could not authorize the app. Try again from "
        "the EHR; if it keeps happening, contact your administrator."
    )


class TokenExchangeFailed(LaunchError):
    """The token endpoint refused the code or could not be reached."""

    http_status = 502
    user_message = "The EHR did not complete the sign-in. Open the app again from the EHR."


class IdTokenInvalid(LaunchError):
    """The id_token failed signature or claim validation."""

    http_status = 401
    user_message = (
        "The EHR's sign-in response could not be verified, so the app did not "
        "open. Open it again from the EHR; if it keeps happening, contact support."
    )


class NotThePatient(LaunchError):
    """A patient launch whose signed-in user is not the patient in context."""

    http_status = 403
    user_message = (
        "These pages open only for the signed-in patient's own record. Sign in to your "
        "patient portal as yourself and open the app from there."
    )


class LaunchRequired(LaunchError):
    """A page needs a launch and the session has none."""

    http_status = 401
    user_message = (
        "This page needs a launch from the EHR. Open the app from the patient's "
        "chart (or the EHR's app menu) to continue."
    )


class RelaunchRequired(FhirAuthError):
    """Re-authorize. This class: the session holds no sign-in any more (signed out or ended in
    another tab); the subclasses below name the other causes, each in its own true words.
    `iss` is set by the launch client: the EHR where a new sign-in can start."""

    title = "Your session has ended"
    user_message = (
        "This browser's session with the EHR has ended (for example, signed out in another "
        "tab). Close this window and open the app again from the EHR to continue."
    )
    iss: str | None = None


class AccessExpired(RelaunchRequired):
    """The access token expired and the EHR gave no refresh token to renew it."""

    title = "Your access to the EHR has expired"
    user_message = (
        "The app's access to the EHR's records has expired, and the EHR gave it no way to "
        "renew it. Open the app again from the EHR to continue; work already saved is kept."
    )


class RenewalRefused(RelaunchRequired):
    """The access token expired and the EHR refused (or failed) to renew it."""

    title = "Your access to the EHR has expired"
    user_message = (
        "The app's access to the EHR's records has expired, and the EHR did not renew it. "
        "Open the app again from the EHR to continue; work already saved is kept."
    )


class AccessRejected(RelaunchRequired):
    """The FHIR server rejected the access token even right after it was renewed (or it could
    not be renewed): revoked, or not accepted by that server. Not an expiry."""

    title = "The EHR refused the app's access"
    user_message = (
        "The EHR's record server did not accept the app's access, even right after renewing "
        "it: the EHR may have withdrawn it. Open the app again from the EHR; if this happens "
        "again right after opening it, ask your EHR administrator to check the app's access."
    )


class NoPatientContext(LaunchError):
    """An EHR launch whose token response names no patient: refused, never a worklist."""

    http_status = 502
    user_message = (
        "The EHR did not say which patient to open, so the app did not open. Open the app "
        "again from the patient's chart; if it keeps happening, contact your administrator."
    )


class SessionEnded(RelaunchRequired):
    """The session timed out (idle, or past its absolute lifetime) or was signed out."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)
        if message:
            self.user_message = message


class NoUserIdentity(LaunchError):
    """A write needs an author and the EHR named no user (no fhirUser in id_token or UserInfo)."""

    http_status = 403
    user_message = (
        "Nothing was saved: the EHR did not say who you are, so the app cannot record who "
        "made this change. Ask your administrator to let the app receive your identity "
        "(the openid and fhirUser scopes), then open the app again from the EHR."
    )


class RefreshError(LaunchError):
    """The refresh request failed; carries no detail (the answer may echo a token). The token
    provider turns it into RelaunchRequired, which is what the user sees."""

    http_status = 401
    user_message = "Your session with the EHR could not be renewed. Relaunch the app from the EHR."


class ServerLacksFeatures(LaunchError):
    """The EHR's FHIR server says it cannot do something the app needs to read or save safely."""

    http_status = 502
    user_message = "The EHR's record server lacks features fhir-rehab needs, so the app did not open."

    def __init__(self, missing: list[str]) -> None:
        super().__init__("FHIR server lacks: " + "; ".join(missing))
        self.user_message = (
            "The EHR's record server cannot do what fhir-rehab needs to keep the record safe ("
            + "; ".join(missing)
            + "), so the app did not open and nothing was read or saved. Please tell your EHR "
            "administrator."
        )
