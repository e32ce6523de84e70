"""Root exception of fhir-rehab; each layer's errors.py derives from it."""


class FhirRehabError(Exception):
    """Base of every error the app raises on purpose.

    `user_message` is safe to show a user: no token, no PHI, no stack trace.
    """

    user_message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.user_message)
        if message:
            self.user_message = message
