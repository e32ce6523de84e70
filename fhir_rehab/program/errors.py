"""Domain errors: the program's own rules refused something; each message is one a user can read."""

from __future__ import annotations

from fhir_rehab.errors import FhirRehabError


class DomainError(FhirRehabError, ValueError):
    """Root of the domain's errors (a ValueError too: the input broke a rule of the program)."""

    user_message = "The program's rules do not allow this."


class IllegalTransition(DomainError):
    """The R4 Task state machine does not allow this change."""

    user_message = "This Task cannot change to that status."


class IncompleteScreen(DomainError):
    """Not every question was answered (or an unknown key was given)."""

    user_message = "Every red-flag question needs an answer."


class AssessmentError(DomainError):
    """An assessment field is out of range; `field` names it for the form."""

    user_message = "An assessment answer is out of range."

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


class IncompleteOswestry(DomainError):
    """Too few sections answered, or an answer out of range."""

    user_message = "The Oswestry questionnaire needs more answers to give a score."
