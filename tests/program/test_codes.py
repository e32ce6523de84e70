"""Every code the app writes is checked: SNOMED Verhoeff, LOINC mod-10, ICD-10-CM leaves."""

import simple_icd_10_cm as icd

from fhir_rehab import codes as c
from fhir_rehab.resources.codecheck import KNOWN_CODES, loinc_valid, verhoeff_valid


def test_snomed_codes_carry_a_valid_verhoeff_check_digit():
    snomed = [code for system, code in KNOWN_CODES if system == c.SNOMED]
    assert len(snomed) >= 15
    bad = [code for code in snomed if not verhoeff_valid(code)]
    assert bad == []


def test_a_mistyped_snomed_code_is_caught():
    assert not verhoeff_valid("23056004")


def test_loinc_codes_carry_a_valid_check_digit():
    loinc = [code for system, code in KNOWN_CODES if system == c.LOINC]
    assert sorted(loinc) == ["72514-3", "73985-4", "97908-8", "97909-6"]
    assert all(loinc_valid(code) for code in loinc)
    assert not loinc_valid("72514-2")


def test_icd10cm_codes_written_are_billable_leaves():
    written = [code for system, code in KNOWN_CODES if system == c.ICD10CM]
    assert written
    for code in written:
        assert icd.is_valid_item(code), code
        assert icd.is_leaf(code), f"{code} is a header, not a billable leaf"


def test_icd10cm_value_set_prefixes_exist():
    for prefix in c.SCIATICA_ICD10CM_PREFIXES:
        assert icd.is_valid_item(prefix), prefix
    assert icd.is_leaf(c.CAUDA_EQUINA_ICD10CM)


def test_design_leaves_fall_under_the_prefixes():
    from fhir_rehab.program.eligibility import CodingFact, match_sciatica

    leaves = [
        "M54.30",
        "M54.31",
        "M54.32",
        "M54.40",
        "M54.41",
        "M54.42",
        "M54.16",
        "M54.17",
        "M51.16",
        "M51.17",
        "M48.061",
        "M48.062",
        "M48.07",
        "G57.00",
        "G57.01",
        "G57.02",
        "G57.03",
    ]
    for leaf in leaves:
        assert icd.is_leaf(leaf), leaf
        assert match_sciatica(CodingFact(c.ICD10CM, leaf)), leaf
