"""The sciatica program domain: pure Python, no Flask, no requests, no I/O.

Eligibility, red-flag rules, the staged program definition and stage progression live here so
they can be read and tested alone. FHIR models and HTTP belong to `fhir_rehab.resources` and
`fhir_rehab.fhir`.
"""
