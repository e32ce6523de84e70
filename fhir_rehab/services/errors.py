"""Service errors: the operation was refused for a reason the user must hear."""

from __future__ import annotations

from fhir_rehab.errors import FhirRehabError


class ServiceError(FhirRehabError):
    """Root of the service layer's errors."""


class ProgramRefused(ServiceError):
    """Tell the user: the program cannot be started or changed, and why."""

    user_message = "The program cannot be started for this patient."


class PatientNotFound(ServiceError):
    """Tell the user: no such patient on this FHIR server (a 404 page)."""

    http_status = 404
    user_message = "The patient was not found on the FHIR server."


class StageRefused(ServiceError):
    """Tell the user: this stage change is not allowed now, and why."""

    user_message = "This stage cannot be changed now."


class StaleVersion(ServiceError):
    """Reload: the record changed since the user saw it."""

    user_message = "Someone else changed this record since you opened it. Reload and retry."


class ReviewRefused(ServiceError):
    """Tell the user: the medical review cannot be recorded as asked, and why (nothing written)."""

    user_message = "The medical review cannot be recorded."
    http_status = 409


class WorklistRefused(ServiceError):
    """Tell the user: this change is not allowed, and why (nothing was written)."""

    user_message = "This change is not allowed."
    http_status = 409


class NotAppTask(ServiceError):
    """Refused: the Task is not one fhir-rehab wrote, so the worklist does not touch it."""

    user_message = "That Task does not belong to fhir-rehab; the worklist will not change it."
    http_status = 403


class WorklistExpired(ServiceError):
    """Start again from the first page: the server no longer knows the paging link."""

    user_message = "That page of the worklist has expired; here is the first page again."


class WorklistPreparing(ServiceError):
    """The app is still reading this server's Tasks for the first time: come back shortly."""

    user_message = "The worklist is being prepared."

    def __init__(self, tasks_read: int) -> None:
        super().__init__(f"The worklist is being prepared: {tasks_read:,} tasks read so far.")
        self.tasks_read = tasks_read


class PatientDataUnavailable(ServiceError):
    """Tell the caller: the patient's data could neither be taken from what was sent nor read."""

    user_message = "The patient's data could not be obtained from the prefetch or the FHIR server."
