"""`coordbot registry check`: every real defect of the newsletter, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.registry.data import MunicipalityRec, PersonRec, RegistryData, RoleRec, RoleTypeRec
from bot.registry.quality import Finding, address_syntax_problem, check_registry
from bot.services import Services

DATA_SOURCE = "Lokale kontaktpersoner datainnsamling"
NETWORK_SOURCE = "SDG City Transition - Network of Excellence"

# (severity, code, subject key, where) for every defect the January 2020 newsletter has.
SEED_DEFECTS = {
    ("error", "email-whitespace", "randi-myhre", f"{DATA_SOURCE}: Molde kommune"),
    ("error", "email-domain-typo", "jo-inge-wang-hageland", f"{DATA_SOURCE}: Haugesund kommune"),
    # "karoy" for "karmoy": a misspelt domain, so an error (mail there bounces).
    ("error", "email-domain-mismatch", "bjorn-andersen", f"{DATA_SOURCE}: Karmøy kommune"),
    ("warning", "missing-data-contact", "narvik", "municipality narvik (batch 1)"),
    (
        "warning",
        "name-email-mismatch",
        "jo-inge-wang-hageland",
        f"{DATA_SOURCE}: Haugesund kommune",
    ),
    ("warning", "shared-email", "joel-mills", "Augment City Simulation"),
    ("warning", "missing-email", "lars-bjerke", NETWORK_SOURCE),
    ("warning", "missing-email", "bente-rudrud-herdlever", NETWORK_SOURCE),
    ("warning", "missing-email", "per-kristian-vareide", NETWORK_SOURCE),
    ("warning", "missing-email", "morten-wolden", NETWORK_SOURCE),
    ("warning", "missing-email", "bente-glomseth-vikhagen", NETWORK_SOURCE),
    ("warning", "audience-without-members", "batch2", "audience batch2"),
    ("warning", "audience-without-members", "counties", "audience counties"),
    (
        "info",
        "shared-mailbox",
        "kari-aina-eik",
        "Ressurser og kontaktinformasjon; signature | Prosjekt Bærekraftsløftet",
    ),
}


@pytest.fixture
def seed_findings(services: Services) -> list[Finding]:
    return check_registry(services.registry.snapshot())


@pytest.mark.db
def test_every_newsletter_defect_is_found_with_its_place(seed_findings: list[Finding]) -> None:
    found = {(f.severity, f.code, f.subject_key, f.where) for f in seed_findings}
    assert found == SEED_DEFECTS


@pytest.mark.db
def test_findings_say_what_is_wrong(seed_findings: list[Finding]) -> None:
    by = {(f.code, f.subject_key): f for f in seed_findings}
    molde = by["email-whitespace", "randi-myhre"]
    assert molde.value == "randi. myhre@molde.kommune.no" and molde.field == "email"
    assert "contains a space" in molde.message
    haugesund = by["email-domain-typo", "jo-inge-wang-hageland"]
    assert "'haugesund.kommune.no'" in haugesund.message
    assert "'hagland'" in by["name-email-mismatch", "jo-inge-wang-hageland"].message
    assert "'Hageland'" in by["name-email-mismatch", "jo-inge-wang-hageland"].message
    karmoy = by["email-domain-mismatch", "bjorn-andersen"]
    assert "did you mean 'karmoy.kommune.no'" in karmoy.message
    assert "bjorn@osc.no" in by["shared-email", "joel-mills"].message
    assert "steering-group" in by["missing-email", "lars-bjerke"].message
    assert "batch2-info-meeting, batch2-start" in by["audience-without-members", "batch2"].message
    assert by["missing-data-contact", "narvik"].subject_name == "Narvik"


@pytest.mark.db
def test_errors_come_first_then_warnings_then_info(seed_findings: list[Finding]) -> None:
    order = [f.severity for f in seed_findings]
    assert order == sorted(order, key=["error", "warning", "info"].index)


# --- the rules, on small registries --------------------------------------------------------

ROLE_TYPES = (RoleTypeRec("data_contact", "data contact", "datakontakt"),)


def registry(*people: PersonRec, municipalities: tuple[MunicipalityRec, ...] = ()) -> RegistryData:
    places = municipalities or (
        MunicipalityRec("tromso", "Tromsø", email_domain="tromso.kommune.no", batch=2),
        MunicipalityRec("rana", "Rana", email_domain="rana.kommune.no"),
    )
    return RegistryData(municipalities=places, role_types=ROLE_TYPES, people=people)


def contact(key: str, name: str, email: str | None, place: str = "tromso") -> PersonRec:
    return PersonRec(
        key, name, email, roles=(RoleRec("data_contact", place, source=f"list {key}"),)
    )


def codes(data: RegistryData) -> set[tuple[str, str]]:
    return {(f.code, f.subject_key) for f in check_registry(data)}


def test_clean_and_mixed_case_addresses_give_no_findings() -> None:
    data = registry(
        contact("a", "Anne Lise Sagen Major", "Anne.Lise.Sagen.Major@tromso.kommune.no"),
        contact("b", "Christian Holmås Haave", "Christian.haave@tromso.kommune.no"),
        contact("c", "Gro Sæten", "gro.saeten@rana.kommune.no", "rana"),
        contact("d", "Bjørn Andersen", "ban03@tromso.kommune.no"),
    )
    assert check_registry(data) == []


def test_domain_typo_is_found_by_edit_distance_for_any_municipal_domain() -> None:
    data = registry(
        contact("a", "Ada Berg", "ada.berg@tromso.kommmune.no"),
        contact("b", "Bo Dahl", "bo.dahl@tromso.komune.no"),
        contact("c", "Cy Eng", "cy.eng@gmail.com"),
    )
    assert codes(data) == {("email-domain-typo", "a"), ("email-domain-typo", "b")}


def test_domain_mismatch_hints_only_at_a_near_miss() -> None:
    data = registry(
        contact("a", "Ada Berg", "ada.berg@rana.kommune.no"),
        contact("b", "Bo Dahl", "bo.dahl@troms.kommune.no"),
    )
    found = {f.subject_key: f for f in check_registry(data)}
    assert {f.code for f in found.values()} == {"email-domain-mismatch"}
    assert "did you mean" not in found["a"].message
    assert "did you mean 'tromso.kommune.no'" in found["b"].message


def test_two_records_with_one_address_are_flagged_once() -> None:
    data = registry(
        contact("a", "Ada Berg", "post@tromso.kommune.no"),
        contact("b", "Bo Dahl", "Post@tromso.kommune.no"),
    )
    shared = [f for f in check_registry(data) if f.code == "shared-email"]
    assert len(shared) == 1 and "Bo Dahl" in shared[0].message


def test_missing_data_contact_only_for_municipalities_in_a_batch() -> None:
    data = registry(contact("a", "Ada Berg", "ada.berg@rana.kommune.no", "rana"))
    assert codes(data) == {("missing-data-contact", "tromso")}


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("randi. myhre@molde.kommune.no", "email-whitespace"),
        ("geir.graff@asker.kommune.no ", "email-whitespace"),
        ("geir.graff\r\nBcc: x@y.no", "email-syntax"),
        ("geir.graff.asker.kommune.no", "email-syntax"),
        ("geir@@asker.kommune.no", "email-syntax"),
        ("geir..graff@asker.kommune.no", "email-syntax"),
        ("geir(note)@asker.kommune.no", "email-syntax"),
        ("geir@asker", "email-syntax"),
        ("geir@asker_kommune.no", "email-syntax"),
        ("geir@asker.kommune.n0", "email-syntax"),
    ],
)
def test_address_syntax_problems(address: str, code: str) -> None:
    problem = address_syntax_problem(address)
    assert problem is not None and problem[0] == code


@pytest.mark.parametrize(
    "address",
    ["geir.graff@asker.kommune.no", "Heike.Warmuth@oier.pro", "a+b@bodø.no", "x@sub.do-main.org"],
)
def test_plain_addresses_pass(address: str) -> None:
    assert address_syntax_problem(address) is None


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=30), email=st.one_of(st.none(), st.text(max_size=40)))
@example(name="Randi Myhre", email="randi. myhre@tromso.kommune.no")
@example(name="x", email="a@@tromso.kommune.no")
@example(name="x", email="no-at-sign.tromso.kommune.no")
@example(name="x", email="a@tromso.kommune.no\r\nBcc: b@example.org")
@example(name="x", email="geir@asker.kommune.n0")
@example(name="x", email="")
def test_any_name_and_address_is_reported_never_crashes(name: str, email: str | None) -> None:
    data = registry(contact("p", name or "x", email))
    findings = check_registry(data)
    for finding in findings:
        assert finding.code and finding.where and finding.message
    # A defective address is always reported, as an error on the person, saying what it is.
    problem = address_syntax_problem(email) if email else None
    errors = {(f.code, f.subject_key) for f in findings if f.severity == "error"}
    if problem is not None:
        assert (problem[0], "p") in errors, (email, findings)
    else:
        assert not {code for code, key in errors if code.startswith("email-")} - {
            "email-domain-typo"
        }, findings


@pytest.mark.parametrize(
    ("email", "code"),
    [
        ("randi. myhre@tromso.kommune.no", "email-whitespace"),
        ("a@@tromso.kommune.no", "email-syntax"),
        ("a@tromso.kommune.no\nBcc: b@example.org", "email-syntax"),
    ],
)
def test_a_bad_address_yields_an_error_finding(email: str, code: str) -> None:
    [finding] = [f for f in check_registry(registry(contact("p", "Pia", email))) if f.code == code]
    assert finding.severity == "error" and finding.subject_key == "p"
    assert repr(email) in finding.message


# --- the command ---------------------------------------------------------------------------


@pytest.mark.db
def test_check_prints_a_grouped_report_and_exits_0(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "check"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines.index("Errors (3):") < lines.index("Warnings (10):") < lines.index("Info (1):")
    molde = next(line for line in lines if "[email-whitespace]" in line)
    assert "Randi Myhre (person randi-myhre)" in molde
    assert "Lokale kontaktpersoner datainnsamling: Molde kommune" in molde
    assert "contains a space" in molde
    assert lines[-1] == "Summary: 3 errors, 10 warnings, 1 info (14 findings)"


@pytest.mark.db
def test_check_json_is_a_list_of_finding_objects(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "check", "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)
    assert len(findings) == len(SEED_DEFECTS)
    narvik = next(f for f in findings if f["code"] == "missing-data-contact")
    assert narvik == {
        "severity": "warning",
        "code": "missing-data-contact",
        "subject": {"kind": "municipality", "key": "narvik", "name": "Narvik"},
        "field": "roles",
        "value": None,
        "message": narvik["message"],
        "where": "municipality narvik (batch 1)",
    }
    assert "Narvik is in evaluation batch 1" in narvik["message"]


def test_help_documents_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as leaving:
        main(["registry", "check", "--help"])
    assert leaving.value.code == 0
    assert "0 when the report was produced" in " ".join(capsys.readouterr().out.split())


@pytest.mark.db
def test_check_exits_2_when_the_registry_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "registry.toml"
    broken.write_text('[[municipality]]\nkey = "x"\nname = \n', encoding="utf-8")
    monkeypatch.setenv("COORDBOT_BOT_DATA_FILE", str(broken))
    assert main(["registry", "check"]) == 2
    captured = capsys.readouterr()
    assert "not valid TOML" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


@pytest.mark.db
def test_loading_keeps_the_defects_as_printed(services: Services) -> None:
    data = services.registry.snapshot()
    assert data.person_by_key["bjorn-andersen"].email == "ban03@karoy.kommune.no"
    assert data.person_by_key["joel-mills"].email is None
    assert data.person_by_key["randi-myhre"].email == "randi. myhre@molde.kommune.no"


@settings(max_examples=3000, deadline=None)
@given(
    st.text(alphabet="abcXYZ09.-_+@!#'`{}~ø\"() \\[]", min_size=1, max_size=24)
    | st.from_regex(r"[a-z0-9._+-]{1,10}@[a-z0-9.-]{1,12}\.[a-z0-9]{1,4}", fullmatch=True)
)
def test_the_quick_address_check_agrees_with_the_parser(address: str) -> None:
    """Every address the one-expression check passes is one the standard library's parser
    reads back unchanged at a valid domain: the shortcut never lets a defect through."""
    from bot.registry.quality import _PLAIN_ADDRESS, _parsed_address_problem

    if _PLAIN_ADDRESS.fullmatch(address):
        assert _parsed_address_problem(address) is None, address
