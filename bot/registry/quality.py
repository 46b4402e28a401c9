"""Data-quality checks of the registry: what is wrong, where it came from, and how bad it is.

`check_registry` is pure: it reads a `RegistryData` and reports `Finding`s; it never changes
the data. Defects printed in the newsletter stay in the registry as printed (so the registry
can be compared with its source) and are flagged here instead of being "fixed" silently.

Severities:
- error: the value as stored cannot work (an address no mail server will accept or deliver);
- warning: the data is incomplete or looks wrong and needs a person to confirm it;
- info: worth knowing, nothing to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from email.errors import HeaderParseError, MessageError
from email.headerregistry import Address
from typing import Any, Literal

from rapidfuzz.distance import Levenshtein

from bot.mail import UNICODE_CONTROLS
from bot.registry.data import MunicipalityRec, PersonRec, RegistryData
from bot.textnorm import fold

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

# The role every municipality in an evaluation batch needs: KPI data requests go to it.
DATA_CONTACT_ROLE = "data_contact"

# A domain this many edits (or fewer) from a known one is taken as a misspelling of it.
MAX_TYPO_DISTANCE = 2

# Local parts that name a function, not a person (RFC 2142 and their Norwegian equivalents):
# mail there is read by whoever staffs the mailbox.
ROLE_MAILBOX_WORDS = frozenset(
    {
        "admin",
        "contact",
        "firmapost",
        "info",
        "kontakt",
        "mail",
        "office",
        "post",
        "postmaster",
        "postmottak",
        "sales",
        "secretariat",
        "sekretariat",
        "sentralbord",
        "servicetorg",
        "support",
        "webmaster",
    }
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Controls in stored text; line feed and tab are allowed (descriptions have lines).
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WHITESPACE = re.compile(r"\s")
_LDH_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TOKEN_SPLIT = re.compile(r"[\s.\-_+]+")
# An RFC 5322 dot-atom local part and a domain of LDH labels with a letters-only top level.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@(?:{_LABEL}\.)+[A-Za-z]{{1,63}}", re.ASCII)


@dataclass(frozen=True)
class Finding:
    """One data-quality problem: what (subject), where it came from, and why it matters."""

    severity: Severity
    code: str
    subject_kind: str
    subject_key: str
    subject_name: str
    message: str
    where: str
    field: str | None = None
    value: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The object `coordbot registry check --json` prints for this finding."""
        return {
            "severity": self.severity,
            "code": self.code,
            "subject": {
                "kind": self.subject_kind,
                "key": self.subject_key,
                "name": self.subject_name,
            },
            "field": self.field,
            "value": self.value,
            "message": self.message,
            "where": self.where,
        }


def check_registry(data: RegistryData) -> list[Finding]:
    """Every data-quality finding for `data`, errors first, then warnings, then info."""
    return _ranked(
        [
            *_email_findings(data, data.people),
            *_name_email_findings(data.people),
            *_contact_findings(data, data.people),
            *_municipality_findings(data, data.municipalities),
            *_audience_findings(data),
            *_text_findings(data),
        ]
    )


def check_records(
    data: RegistryData, people: Iterable[str] = (), municipalities: Iterable[str] = ()
) -> list[Finding]:
    """The findings about the given people and municipalities only (by key), as
    `check_registry` words them: what an edit of those records reports, without checking
    everyone else."""
    persons = [data.person_by_key[k] for k in dict.fromkeys(people) if k in data.person_by_key]
    places = [
        data.municipality_by_key[k]
        for k in dict.fromkeys(municipalities)
        if k in data.municipality_by_key
    ]
    subjects = {("person", p.key) for p in persons} | {("municipality", m.key) for m in places}
    findings = [
        *_email_findings(data, persons),
        *_name_email_findings(persons),
        *_contact_findings(data, persons),
        *_municipality_findings(data, places),
        *_person_text_findings(persons),
    ]
    return _ranked([f for f in findings if (f.subject_kind, f.subject_key) in subjects])


def _ranked(findings: list[Finding]) -> list[Finding]:
    rank = {severity: i for i, severity in enumerate(SEVERITIES)}
    # A stable sort keeps registry order within one severity and code.
    return sorted(findings, key=lambda f: (rank[f.severity], f.code))


def email_defects(data: RegistryData) -> dict[str, str]:
    """Person key -> why their address will not work, for every error-level address finding:
    mail to them is reported as unreachable ("address defective: ...") instead of sent."""
    defects: dict[str, str] = {}
    # Only the checks that can find an error in an address: this runs before every send.
    findings = _ranked([*_email_findings(data, data.people), *_person_text_findings(data.people)])
    for finding in findings:
        error = finding.severity == "error" and finding.subject_kind == "person"
        if error and finding.field == "email":
            defects.setdefault(finding.subject_key, finding.message)
    return defects


def text_control_problem(value: str) -> str | None:
    """Why a stored text is unsafe (a Unicode line separator, a bidi or other invisible
    format control, a control character), or None."""
    match = UNICODE_CONTROLS.search(value) or _TEXT_CONTROL.search(value)
    if match is None:
        return None
    char = match.group()
    if char in "\x85\u2028\u2029":
        kind = "a Unicode line separator"
    elif char < " " or "\x7f" <= char <= "\x9f":
        kind = "a control character"
    else:
        kind = "an invisible format control"
    return f"contains {kind} (U+{ord(char):04X})"


def _text_check(kind: str, key: str, name: str, field: str, value: str | None) -> Iterator[Finding]:
    problem = text_control_problem(value or "")
    if problem:
        yield Finding(
            "error",
            "text-control",
            kind,
            key,
            name,
            f"{field} {problem}: it breaks mail headers and calendars, or hides what the "
            "text says; retype it",
            f"{kind} {key}",
            field,
            value,
        )


def _person_text_findings(people: Iterable[PersonRec]) -> Iterator[Finding]:
    for person in people:
        yield from _text_check("person", person.key, person.name, "name", person.name)
        yield from _text_check("person", person.key, person.name, "email", person.email)


def _text_findings(data: RegistryData) -> Iterator[Finding]:
    """Stored texts with line or format controls (imported before they were refused)."""
    check = _text_check
    yield from _person_text_findings(data.people)
    for place in data.municipalities:
        yield from check("municipality", place.key, place.name, "name", place.name)
    for org in data.organisations:
        yield from check("organisation", org.key, org.name, "name", org.name)
    for audience in data.audiences:
        for field in ("name_en", "name_nb"):
            yield from check(
                "audience", audience.key, audience.name_en, field, getattr(audience, field)
            )
    for ev in data.events:
        for field in ("title_en", "title_nb", "location", "description_en", "description_nb"):
            yield from check("event", ev.key, ev.title_en, field, getattr(ev, field))


def count_by_severity(findings: list[Finding]) -> dict[Severity, int]:
    """How many findings there are of each severity (every severity present, maybe 0)."""
    counts: dict[Severity, int] = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        counts[finding.severity] += 1
    return counts


# --- e-mail addresses ----------------------------------------------------------------------


def address_syntax_problem(address: str) -> tuple[str, str] | None:
    """(code, reason) when `address` is not a plain, sendable addr-spec, else None.

    A plain ASCII dot-atom at a letter-digit-hyphen domain (nearly every address) is known
    good from one regular expression; only the others go through the standard library's
    parser, which costs a quarter of a millisecond each (25 s for 100,000 contacts).
    """
    if _PLAIN_ADDRESS.fullmatch(address):
        return None
    return _parsed_address_problem(address)


def _parsed_address_problem(address: str) -> tuple[str, str] | None:
    """address_syntax_problem by the standard library's parser, for any address.

    The standard library's parser accepts obsolete RFC 5322 forms (comments, spaces around
    dots) and rewrites them; an address that does not survive parsing unchanged is reported,
    because mail would go to a different string than the one stored.
    """
    if _CONTROL.search(address):
        return "email-syntax", "contains a line break or control character"
    if _WHITESPACE.search(address):
        spaced = _WHITESPACE.sub("␣", address)
        return "email-whitespace", f"contains a space ({spaced}), so no server accepts it as is"
    if address.count("@") != 1:
        return "email-syntax", f"must contain exactly one '@' (has {address.count('@')})"
    try:
        parsed = Address(addr_spec=address)
    except (HeaderParseError, MessageError, ValueError, IndexError) as exc:
        return "email-syntax", f"is not a valid address: {exc}"
    if parsed.addr_spec != address:
        return "email-syntax", f"is not a plain address (it reads as {parsed.addr_spec!r})"
    domain_problem = _domain_problem(parsed.domain)
    if domain_problem:
        return "email-syntax", domain_problem
    return None


def _domain_problem(domain: str) -> str | None:
    labels = domain.lower().split(".")
    if len(labels) < 2:
        return f"domain {domain!r} has no top-level domain"
    for label in labels:
        try:
            ascii_label = label.encode("idna").decode("ascii")
        except UnicodeError:
            return f"domain {domain!r} has an invalid label {label!r}"
        if not _LDH_LABEL.match(ascii_label):
            return f"domain {domain!r} has an invalid label {label!r}"
    if not labels[-1].isalpha():
        return f"domain {domain!r} has an invalid top-level domain {labels[-1]!r}"
    return None


def _split_address(address: str) -> tuple[str, str] | None:
    if "@" not in address:
        return None
    local, _, domain = address.rpartition("@")
    return local, domain.strip().lower()


def _person_where(person: PersonRec) -> str:
    sources = list(dict.fromkeys(r.source for r in person.roles if r.source))
    return " | ".join(sources) if sources else f"person {person.key}"


def _person_finding(
    person: PersonRec, severity: Severity, code: str, message: str, *, value: str | None = None
) -> Finding:
    return Finding(
        severity,
        code,
        "person",
        person.key,
        person.name,
        message,
        _person_where(person),
        "email",
        value if value is not None else person.email,
    )


def _municipalities_of(data: RegistryData, person: PersonRec) -> list[str]:
    """Municipalities a person works for: directly, or through an organisation's home."""
    keys: list[str] = []
    for role in person.roles:
        if role.municipality:
            keys.append(role.municipality)
        org = data.organisation_by_key.get(role.organisation or "")
        if org and org.municipality:
            keys.append(org.municipality)
    return list(dict.fromkeys(keys))


def _known_suffixes(data: RegistryData) -> set[str]:
    """Shared parents of the municipalities' own domains ("kommune.no")."""
    return {
        m.email_domain.lower().split(".", 1)[1]
        for m in data.municipalities
        if m.email_domain and "." in m.email_domain
    }


def _email_findings(data: RegistryData, people: Iterable[PersonRec]) -> Iterator[Finding]:
    suffixes = _known_suffixes(data)
    domains = {m.email_domain.lower() for m in data.municipalities if m.email_domain}
    for person in people:
        if not person.email:
            continue
        problem = address_syntax_problem(person.email)
        if problem:
            code, reason = problem
            yield _person_finding(person, "error", code, f"address {person.email!r} {reason}")
        parts = _split_address(person.email)
        if parts is None:
            continue
        domain = parts[1]
        head, _, suffix = domain.partition(".")
        if domain in domains or suffix in suffixes:
            yield from _domain_mismatch(data, person, domain)
            continue
        near = [s for s in sorted(suffixes) if _near_miss(suffix, s)]
        if near:
            guess = f"{head}.{near[0]}"
            yield _person_finding(
                person,
                "error",
                "email-domain-typo",
                f"domain {domain!r} looks like a misspelling of {guess!r} "
                f"({suffix!r} is {Levenshtein.distance(suffix, near[0])} edit(s) "
                f"from {near[0]!r}); mail there will bounce",
            )


def _near_miss(text: str, known: str) -> bool:
    """True when `text` differs from `known` by a slip of the keyboard: a few edits, and few
    relative to the length (so short words such as "no" and "se" are not confused)."""
    distance = Levenshtein.distance(text, known)
    return 0 < distance <= MAX_TYPO_DISTANCE and distance * 3 <= len(known)


def _domain_mismatch(data: RegistryData, person: PersonRec, domain: str) -> Iterator[Finding]:
    """A municipal address whose municipality is not one the person works for."""
    places = [data.municipality_by_key[k] for k in _municipalities_of(data, person)]
    expected = {p.email_domain.lower(): p for p in places if p.email_domain}
    if not expected or domain in expected:
        return
    closest = min(expected, key=lambda d: Levenshtein.distance(d, domain))
    place = expected[closest]
    if _near_miss(domain, closest):
        # A slip of the keyboard in the domain (karoy for karmoy): mail there bounces.
        yield _person_finding(
            person,
            "error",
            "email-domain-mismatch",
            f"address domain {domain!r} is not {place.name}'s domain {closest!r}; did you "
            f"mean {closest!r}? A misspelt domain: mail there will bounce",
        )
        return
    yield _person_finding(
        person,
        "warning",
        "email-domain-mismatch",
        f"address domain {domain!r} is not {place.name}'s domain {closest!r}",
    )


def _name_words(name: str) -> list[tuple[str, str]]:
    """(folded, original) for each word of a person's name."""
    return [(fold(word), word) for word in _TOKEN_SPLIT.split(name) if fold(word)]


def _name_email_findings(people: Iterable[PersonRec]) -> Iterator[Finding]:
    """Name-shaped local parts (first.last) in which one word is a near miss of the name's."""
    for person in people:
        parts = _split_address(person.email or "")
        if parts is None:
            continue
        tokens = [t for t in _TOKEN_SPLIT.split(fold(parts[0])) if t]
        words = _name_words(person.name)
        folded_words = {w for w, _ in words}
        matched = [t for t in tokens if t in folded_words]
        # Only a local part that already spells part of the name is read as a name; user ids
        # such as "ban03" are not compared.
        if len(tokens) < 2 or not matched:
            continue
        unmatched_words = [(w, o) for w, o in words if w not in matched]
        for token in tokens:
            if token in folded_words or len(token) == 1 or not unmatched_words:
                continue
            word, original = min(unmatched_words, key=lambda w: Levenshtein.distance(token, w[0]))
            if _near_miss(token, word):
                yield _person_finding(
                    person,
                    "warning",
                    "name-email-mismatch",
                    f"the address spells {token!r} where the name has {original!r} "
                    f"({person.name}); one of the two is probably misspelt",
                )


# --- reachability --------------------------------------------------------------------------


def _role_signature(person: PersonRec) -> set[tuple[str | None, ...]]:
    return {(r.role, r.municipality, r.organisation, r.source) for r in person.roles}


def _partners(data: RegistryData, person: PersonRec) -> list[PersonRec]:
    """People with an address who share a role, place, organisation and source line with
    `person`, in registry order."""
    signature = _role_signature(person)
    found: dict[str, PersonRec] = {}
    for role in person.roles:
        candidates = (
            data.people_at(role.municipality) if role.municipality else data.holders(role.role)
        )
        for p in candidates:
            if p.key != person.key and p.email and _role_signature(p) & signature:
                found[p.key] = p
    return sorted(found.values(), key=lambda p: data.position(p.key))


def _contact_findings(data: RegistryData, people: Sequence[PersonRec]) -> Iterator[Finding]:
    """Missing addresses, addresses several people share, and function mailboxes."""
    for person in people:
        if person.email:
            local = _split_address(person.email)
            tokens = set(_TOKEN_SPLIT.split(fold(local[0]))) if local else set()
            if tokens & ROLE_MAILBOX_WORDS:
                yield _person_finding(
                    person,
                    "info",
                    "shared-mailbox",
                    f"{person.email!r} is a function mailbox, not a personal address; "
                    "others may read what is sent there",
                )
            continue
        # Someone without an address listed beside someone with one, for the same role and
        # from the same line of the source, is most likely covered by that address.
        partners = _partners(data, person)
        audiences = [a.key for a in data.audiences if data.in_audience(person, a.key)]
        reach = f"; member of {', '.join(audiences)}" if audiences else ""
        if partners:
            names = ", ".join(f"{p.name} <{p.email}>" for p in partners)
            yield _person_finding(
                person,
                "warning",
                "shared-email",
                f"has no address of their own; the source lists them with {names} for the same "
                f"role, so mail may reach them only through that address{reach}",
                value=None,
            )
        else:
            yield _person_finding(
                person,
                "warning",
                "missing-email",
                f"has no e-mail address and cannot be reached by e-mail{reach}",
                value=None,
            )
    groups = [data.people_with_address(p.email) for p in people if p.email]
    firsts = {group[0].key: group for group in groups if len(group) > 1}
    for group in sorted(firsts.values(), key=lambda g: data.position(g[0].key)):
        if len(group) > 1:
            first, others = group[0], group[1:]
            yield _person_finding(
                first,
                "warning",
                "shared-email",
                f"{first.email!r} is also the address of "
                f"{', '.join(p.name for p in others)}; replies cannot tell them apart",
            )


def _municipality_findings(
    data: RegistryData, places: Iterable[MunicipalityRec]
) -> Iterator[Finding]:
    """Municipalities in an evaluation batch without a data-collection contact."""
    if DATA_CONTACT_ROLE not in data.role_type_by_key:
        return
    role_name = data.role_type_by_key[DATA_CONTACT_ROLE].name_en
    for place in places:
        if place.batch is None or data.holders(DATA_CONTACT_ROLE, municipality=place.key):
            continue
        anyone = bool(data.people_at(place.key))
        consequence = (
            "KPI data requests have no one to go to there"
            if anyone
            else "no one at all is registered there, so messages to its audiences reach no one"
        )
        yield Finding(
            "warning",
            "missing-data-contact",
            "municipality",
            place.key,
            place.name,
            f"{place.name} is in evaluation batch {place.batch} but has no {role_name}; "
            f"{consequence}",
            f"municipality {place.key} (batch {place.batch})",
            "roles",
            None,
        )


def _audience_findings(data: RegistryData) -> Iterator[Finding]:
    """Audiences nobody belongs to (events for them reach no one)."""
    for audience in data.audiences:
        if audience.municipalities or audience.people:
            continue
        events = [e.key for e in data.events if audience.key in e.audiences and not e.cancelled]
        consequence = (
            f"events for it reach no one: {', '.join(events)}" if events else "no event uses it"
        )
        yield Finding(
            "warning" if events else "info",
            "audience-without-members",
            "audience",
            audience.key,
            audience.name_en,
            f"audience {audience.name_en!r} has no members; {consequence}",
            f"audience {audience.key}",
            "members",
            None,
        )
