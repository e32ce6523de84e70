import pytest

from fhir_rehab import codes as c
from fhir_rehab.program.eligibility import CodingFact, ConditionFact, assess_eligibility


def condition(
    code, system=c.ICD10CM, clinical="active", verification="confirmed", cid="c1", recorded="2026-01-01"
):
    return ConditionFact(cid, (CodingFact(system, code, "x"),), clinical, verification, recorded=recorded)


@pytest.mark.parametrize(
    "code,system",
    [
        ("M54.41", c.ICD10CM),
        ("M54.30", c.ICD10CM),
        ("M54.32", c.ICD10CM),
        ("M5442", c.ICD10CM),
        ("M54.16", c.ICD10CM),
        ("M54.17", c.ICD10CM),
        ("M51.16", c.ICD10CM),
        ("M51.17", c.ICD10CM),
        ("M48.061", c.ICD10CM),
        ("M48.062", c.ICD10CM),
        ("M48.07", c.ICD10CM),
        ("G57.01", c.ICD10CM),
        ("23056005", c.SNOMED),
        ("128196005", c.SNOMED),
        ("2415007", c.SNOMED),
        ("202735001", c.SNOMED),
        ("18347007", c.SNOMED),
        ("129179000", c.SNOMED),
        ("52585001", c.SNOMED),
    ],
)
def test_value_set_members_are_eligible(code, system):
    verdict = assess_eligibility([condition(code, system)])
    assert verdict.eligible, verdict.reason
    assert verdict.match.condition_id == "c1"
    assert verdict.match.coding.code == code


@pytest.mark.parametrize(
    "code,system",
    [
        ("M54.50", c.ICD10CM),
        ("M54.5", c.ICD10CM),
        ("M48.08", c.ICD10CM),
        ("G57.1", c.ICD10CM),
        ("M54.41", c.SNOMED),
        ("23056005", c.ICD10CM),
        ("279039007", c.SNOMED),
    ],
)
def test_other_codes_are_not(code, system):
    verdict = assess_eligibility([condition(code, system)])
    assert not verdict.eligible
    assert "its code is not one of the sciatica codes the program accepts" in verdict.reason


@pytest.mark.parametrize(
    "clinical,verification,why",
    [
        ("active", "refuted", ": ruled out"),
        ("active", "entered-in-error", ": entered in error"),
        ("resolved", "confirmed", "not active (its status is resolved)"),
        ("remission", "confirmed", "not active (its status is in remission)"),
        (None, "confirmed", "not active (its status is not recorded)"),
    ],
)
def test_inactive_or_refuted_conditions_do_not_count(clinical, verification, why):
    verdict = assess_eligibility([condition("M54.41", clinical=clinical, verification=verification)])
    assert not verdict.eligible
    assert why in verdict.reason


@pytest.mark.parametrize("clinical", ["recurrence", "relapse"])
def test_recurrence_and_relapse_count(clinical):
    assert assess_eligibility([condition("M54.41", clinical=clinical)]).eligible


def test_no_conditions():
    verdict = assess_eligibility([])
    assert not verdict.eligible
    assert verdict.reason == "The patient has no recorded Conditions."


def test_cauda_equina_contraindicates_even_with_sciatica():
    verdict = assess_eligibility([condition("M54.41"), condition("G83.4", cid="c2")])
    assert not verdict.eligible and verdict.contraindicated
    assert "Cauda equina" in verdict.reason


def test_most_recent_matching_condition_is_named():
    verdict = assess_eligibility(
        [
            condition("M54.41", cid="old", recorded="2020-01-01"),
            condition("M54.31", cid="new", recorded="2026-05-01"),
        ]
    )
    assert verdict.match.condition_id == "new"


@pytest.mark.parametrize(
    "code,system,family",
    [
        ("G83.4", c.ICD10CM, "cauda-equina"),
        ("192970008", c.SNOMED, "cauda-equina"),
        ("12454008", c.SNOMED, "cauda-equina"),  # with neurogenic bladder: a descendant
        ("C41.2", c.ICD10CM, "spinal-malignancy"),
        ("C79.51", c.ICD10CM, "spinal-malignancy"),
        ("C90.00", c.ICD10CM, "spinal-malignancy"),
        ("Z85.3", c.ICD10CM, "cancer-history"),
        ("M46.26", c.ICD10CM, "spinal-infection"),
        ("M46.36", c.ICD10CM, "spinal-infection"),
        ("M46.46", c.ICD10CM, "spinal-infection"),
        ("M46.56", c.ICD10CM, "spinal-infection"),
        ("S32.009A", c.ICD10CM, "vertebral-fracture"),
        ("M48.56XA", c.ICD10CM, "vertebral-fracture"),
        ("M80.08XA", c.ICD10CM, "vertebral-fracture"),
        ("M45.6", c.ICD10CM, "spondyloarthritis"),
        ("M459", c.ICD10CM, "spondyloarthritis"),
    ],
)
def test_excluding_families_rule_the_program_out_and_say_what_to_do(code, system, family):
    verdict = assess_eligibility([condition("M54.41"), condition(code, system, cid="c2")])
    assert not verdict.eligible and verdict.contraindicated
    assert [e.family for e in verdict.exclusions] == [family]
    assert code.replace(".", "")[:3] in verdict.reason.replace(".", "") and ": " in verdict.reason


def test_excluding_codes_are_real_icd10cm_codes():
    import simple_icd_10_cm as icd

    for prefix, (_, label) in c.EXCLUSION_ICD10CM_PREFIXES.items():
        assert icd.is_valid_item(prefix), prefix
        assert icd.get_description(prefix) == label, prefix


def test_neighbouring_codes_do_not_exclude():
    for code in ("M46.1", "M46.0", "M48.06", "S32.1", "M54.5", "Z86.0"):
        verdict = assess_eligibility([condition("M54.41"), condition(code, cid="c2")])
        assert verdict.eligible, code


def test_a_cancer_in_remission_still_counts_as_history_of_cancer():
    verdict = assess_eligibility([condition("M54.41"), condition("C41.2", clinical="remission", cid="c2")])
    assert [e.family for e in verdict.exclusions] == ["cancer-history"]
    assert "rule out spinal metastasis" in verdict.reason


def test_a_refuted_or_resolved_exclusion_does_not_count():
    assert assess_eligibility(
        [condition("M54.41"), condition("M45.6", verification="refuted", cid="c2")]
    ).eligible
    assert assess_eligibility(
        [condition("M54.41"), condition("S32.009A", clinical="resolved", cid="c2")]
    ).eligible
