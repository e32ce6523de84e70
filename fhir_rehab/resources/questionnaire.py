"""The red-flag screen as a publishable FHIR Questionnaire (one per screen version)."""

from __future__ import annotations

from fhir_rehab import codes as c
from fhir_rehab.program.redflags import CURRENT_SCREEN, ScreenVersion
from fhir_rehab.resources.wire import Resource


def build_screen_questionnaire(
    version: ScreenVersion = CURRENT_SCREEN, publisher: str = "fhir-rehab"
) -> Resource:
    """Every question in the patient's words, coded with its question code, answered yes/no.

    The linkId is the answer's stable key, so a QuestionnaireResponse and the Observations of
    the same screen name each question the same way.
    """
    return {
        "resourceType": "Questionnaire",
        "url": c.RED_FLAG_QUESTIONNAIRE,
        "version": version.version,
        "name": "SciaticaRedFlagScreen",
        "title": "Sciatica red-flag screen",
        "status": "active",
        "publisher": publisher,
        "subjectType": ["Patient"],
        "description": (
            "Red flags that stop an exercise program for sciatica and call for medical review: "
            "cauda equina signs (emergency), new neurological deficit, worsening pain or trauma "
            "(same day), and serious-pathology indicators (within days). Every question is "
            "answered yes or no; any yes stops the program."
        ),
        "item": [
            {
                "linkId": q.key,
                "code": [q.question_code.as_coding()],
                "prefix": str(n),
                "text": q.question,
                "type": "boolean",
                "required": True,
            }
            for n, q in enumerate(version.questions, start=1)
        ],
    }
