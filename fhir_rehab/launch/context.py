"""The launch context views use: who, which patient, and a FHIR client with the launch's token."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ParamSpec, TypeVar

from flask import current_app, session

from fhir_rehab.fhir.client import FhirClient, FhirResponse
from fhir_rehab.fhir.compartment import PatientCompartmentClient
from fhir_rehab.fhir.errors import FhirAuthError
from fhir_rehab.launch.backend import backend_client, backend_credentials
from fhir_rehab.launch.errors import AccessRejected, LaunchRequired, RelaunchRequired
from fhir_rehab.launch.oauth import TOKEN_ERRORS, describe_token_error, refresh_access_token
from fhir_rehab.launch.runtime import get_runtime, get_session_store
from fhir_rehab.launch.settings import LaunchSettings, normalize_iss
from fhir_rehab.launch.store import LAUNCH_KEY
from fhir_rehab.launch.tokens import Refresher, RefreshError, SessionTokenProvider

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class LaunchContext:
    """One completed SMART launch, as kept in the server-side session (no tokens here)."""

    iss: str
    patient_id: str | None
    encounter_id: str | None
    fhir_user: str | None
    scopes: tuple[str, ...]
    need_patient_banner: bool
    smart_style_url: str | None
    fhir_context: tuple[dict[str, Any], ...]
    intent: str | None
    client_id: str
    expires_at: int | None
    user_name: str | None = None  # the OpenID `name` claim, when the server sent one
    role: str = "clinician"  # clinician | coordinator | patient (who the launch is for)

    @property
    def has_patient(self) -> bool:
        return bool(self.patient_id)

    @property
    def is_patient_user(self) -> bool:
        """The patient's own launch: fhirUser is the Patient in context."""
        return self.role == "patient"

    def to_session(self) -> dict[str, Any]:
        data = asdict(self)
        data["scopes"] = list(self.scopes)
        data["fhir_context"] = [dict(item) for item in self.fhir_context]
        return data

    @classmethod
    def from_session(cls, data: Mapping[str, Any]) -> LaunchContext:
        return cls(
            iss=str(data["iss"]),
            patient_id=data.get("patient_id"),
            encounter_id=data.get("encounter_id"),
            fhir_user=data.get("fhir_user"),
            scopes=tuple(data.get("scopes") or ()),
            need_patient_banner=bool(data.get("need_patient_banner", True)),
            smart_style_url=data.get("smart_style_url"),
            fhir_context=tuple(dict(i) for i in data.get("fhir_context") or ()),
            intent=data.get("intent"),
            client_id=str(data.get("client_id") or ""),
            expires_at=data.get("expires_at"),
            user_name=data.get("user_name") if isinstance(data.get("user_name"), str) else None,
            role=str(data.get("role") or "clinician"),
        )


def current_launch() -> LaunchContext | None:
    """The launch of this browser session, or None (call within a request)."""
    data = session.get(LAUNCH_KEY)
    if not isinstance(data, Mapping):
        return None
    try:
        return LaunchContext.from_session(data)
    except (KeyError, TypeError, ValueError):
        return None


def require_launch(view: Callable[P, R]) -> Callable[P, R]:
    """View decorator: without a launch the user gets a page (HTTP 401) saying to launch."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if current_launch() is None:
            raise LaunchRequired()
        return view(*args, **kwargs)

    return wrapped


class LaunchFhirClient(FhirClient):
    """A FhirClient whose token comes from the launch; a 401 gets one refresh and one retry.

    A second 401 (the refreshed token is rejected too) ends the launch with RelaunchRequired:
    no refresh loop. A 401 is safe to retry even for a POST: the server did not act on it.
    """

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> FhirResponse:
        try:
            return self._request(method, path_or_url, **kwargs)
        except RelaunchRequired as exc:
            exc.iss = self.base_url  # where the user can sign in again
            raise

    def _request(self, method: str, path_or_url: str, **kwargs: Any) -> FhirResponse:
        provider = self.token_provider
        try:
            return super().request(method, path_or_url, **kwargs)
        except RelaunchRequired:
            raise
        except FhirAuthError:
            if not isinstance(provider, SessionTokenProvider):
                raise
            provider.recover_from_rejection()
        try:
            return super().request(method, path_or_url, **kwargs)
        except RelaunchRequired:
            raise
        except FhirAuthError:
            provider.end_launch()
            raise AccessRejected() from None


class LaunchPatientClient(LaunchFhirClient, PatientCompartmentClient):
    """The launch client when the launch has a patient: also guards the patient compartment."""


def build_refresher(settings: LaunchSettings, clock: Callable[[], float]) -> Refresher:
    """Refresh through authlib at the token endpoint stored with the token."""

    def refresh(token: dict[str, Any]) -> dict[str, Any]:
        try:
            return refresh_access_token(
                settings, token["token_endpoint"], token["refresh_token"], clock=clock
            )
        except TOKEN_ERRORS as exc:
            raise RefreshError(describe_token_error(exc)) from None

    return refresh


def fhir_client_for_launch(launch: LaunchContext | None = None) -> FhirClient:
    """A FHIR client on the launch's `iss`, authorized by its token (call within a request).

    With a patient in context it is a PatientCompartmentClient bound to that patient.
    """
    launch = launch or current_launch()
    if launch is None:
        raise LaunchRequired()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = LaunchSettings.from_config(app.config)
    runtime = get_runtime(app)
    sid = getattr(session, "sid", None)
    if not sid:
        raise LaunchRequired()
    provider = SessionTokenProvider(
        sid=sid,
        session=session,
        store=get_session_store(app),
        locks=runtime.locks,
        refresher=build_refresher(settings, runtime.clock),
        clock=runtime.clock,
        leeway=settings.refresh_leeway,
    )
    http = runtime.fhir_http.for_base(launch.iss)
    if launch.patient_id:
        return LaunchPatientClient(
            launch.iss,
            launch.patient_id,
            token_provider=provider,
            timeout=settings.fhir_timeout,
            session=http,
        )
    return LaunchFhirClient(launch.iss, token_provider=provider, timeout=settings.fhir_timeout, session=http)


def backend_client_for_launch(launch: LaunchContext) -> FhirClient | None:
    """The app's own SMART Backend Services client on the launch's FHIR base, or None when no
    backend credential is configured for it (launch.backend: for the self-check hold only).
    Raises BackendServiceFailed when the EHR refuses it, DiscoveryFailed when its token endpoint
    cannot be found."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    credential = backend_credentials(app.config).get(normalize_iss(launch.iss))
    if credential is None:
        return None
    settings = LaunchSettings.from_config(app.config)
    runtime = get_runtime(app)
    endpoint = credential.token_endpoint or (
        runtime.discovery.get(
            launch.iss,
            now=runtime.clock(),
            ttl=settings.discovery_ttl,
            http=runtime.http,
            timeout=settings.http_timeout,
        ).token_endpoint
    )
    return backend_client(
        credential,
        runtime.backend_tokens,
        endpoint,
        clock=runtime.clock,
        timeout=settings.http_timeout,
        fhir_timeout=settings.fhir_timeout,
        session=runtime.fhir_http.for_base(launch.iss),
    )


def backend_client_id(launch: LaunchContext) -> str | None:
    """The client_id of the app's backend credential for the launch's FHIR base, if any."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    credential = backend_credentials(app.config).get(normalize_iss(launch.iss))
    return credential.client_id if credential else None
