"""A patient in plain words, as people see them: "Alex Morgan", "Alex Morgan, born 12 Mar 1980".

Never an id: the pages name people, they do not show FHIR references.
"""

from __future__ import annotations

from typing import Any

from fhir_rehab.web.dates import day


def patient_name(patient: dict[str, Any]) -> str:
    """The patient's name as the EHR spells it (`text`, else given names and family).

    >>> patient_name({"name": [{"given": ["Alex", "J"], "family": "Morgan"}]}), patient_name({})
    ('Alex J Morgan', 'the patient')
    """
    name = (patient.get("name") or [{}])[0]
    text = name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
    return str(text or "the patient")


def patient_label(patient: dict[str, Any]) -> str:
    """Name and birth date, enough for a person to tell two patients apart.

    >>> patient_label({"name": [{"text": "Alex Morgan"}], "birthDate": "1980-03-12"})
    'Alex Morgan, born 12 Mar 1980'
    """
    born = day(patient.get("birthDate"))
    return patient_name(patient) + (f", born {born}" if born else "")
