"""/contact and /person: who holds a role at a municipality, and new people.

/contact MUNICIPALITY ROLE PERSON gives PERSON the role there; /contact MUNICIPALITY ROLE remove
PERSON takes it away; /contact MUNICIPALITY ROLE shows who holds it. /person add NAME [ADDRESS]
adds a person; /person PERSON shows one. The caller (ChatService) has already checked that the
sender is a coordinator; every change is `apply_edit`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.chat.admin import find_person
from bot.chat.choices import ChoiceStore
from bot.chat.edits import MAX_ECHO_CHARS, actor_of, code_line, refusal
from bot.chat.reply import Choice, Line, Reply, bold, paragraph, plain, text_reply
from bot.i18n import Lang, gettext
from bot.registry.data import MunicipalityRec, PersonRec, RegistryData, RoleTypeRec
from bot.registry.edits import (
    CLEAR_WORDS,
    EditError,
    PersonAdd,
    PersonAdded,
    RoleEdit,
    RoleEdited,
    apply_edit,
    leading_municipality,
    leading_roles,
)
from bot.services import Services
from bot.textnorm import fold

if TYPE_CHECKING:
    from bot.chat.service import Context

REMOVE_WORDS = frozenset({"remove", "fjern"})
ADD_WORDS = frozenset({"add", "new", "ny"})
_QUOTES = "\"'“”«»‘’"


def _names(people: tuple[PersonRec, ...] | list[PersonRec], lang: Lang) -> str:
    return ", ".join(p.name for p in people) or gettext(lang, "nobody")


def _usage(data: RegistryData, lang: Lang) -> Reply:
    lines = [
        *paragraph(
            gettext(
                lang,
                "Role holders at a municipality:\n/contact Bodø data_contact - who holds it\n/contact Bodø data_contact Vesa Heikki Jäntti - give a person the role (key or full name)\n/contact Bodø data_contact remove Vesa Heikki Jäntti - take it away",
            )
        ),
        plain(""),
    ]
    lines.append(
        plain(
            gettext(
                lang,
                "Municipalities: {places}",
                places=", ".join(m.name for m in data.municipalities),
            )
        )
    )
    lines.append(
        plain(gettext(lang, "Roles: {roles}", roles=", ".join(r.key for r in data.role_types)))
    )
    return text_reply(lang, *lines, kind="usage")


def contact_command(services: Services, ctx: Context, args: str, choices: ChoiceStore) -> Reply:
    """/contact MUNICIPALITY ROLE [remove] [PERSON]."""
    lang, data = ctx.lang, services.registry.snapshot()
    words = args.split()
    if not words:
        return _usage(data, lang)
    place_found = leading_municipality(data, words)
    if place_found is None:
        said = " ".join(words[:1])
        lines = [
            plain(
                gettext(
                    lang,
                    "No municipality “{municipality}” in the programme.",
                    municipality=said[:MAX_ECHO_CHARS],
                )
            )
        ]
        lines.append(
            plain(
                gettext(
                    lang,
                    "Municipalities: {places}",
                    places=", ".join(m.name for m in data.municipalities),
                )
            )
        )
        return text_reply(lang, *lines, kind="not_found")
    place, used = place_found
    roles, role_words = leading_roles(data, words[used:])
    if len(roles) != 1:
        said = " ".join(words[used : used + (role_words or 1)])
        shown = roles or data.role_types
        echo = said[:MAX_ECHO_CHARS] or "…"
        if roles:
            message = gettext(lang, "“{role}” fits several roles; use a key:", role=echo)
        else:
            message = gettext(lang, "No role “{role}”.", role=echo)
        lines = [plain(message)]
        lines.append(plain(gettext(lang, "Roles: {roles}", roles=", ".join(r.key for r in shown))))
        return text_reply(lang, *lines, kind="clarify" if roles else "not_found")
    role, rest = roles[0], words[used + role_words :]
    remove = bool(rest) and fold(rest[0]) in REMOVE_WORDS
    person_text = " ".join(rest[1:] if remove else rest)
    if not person_text:
        holders = data.holders(role.key, municipality=place.key)
        line = f"{place.name}, {role.name(lang)}: {_names(holders, lang)}"
        return text_reply(lang, plain(line), kind="contact")
    person, close = find_person(data, person_text)
    if person is None:
        return _no_such_person(place, role, remove, person_text, close, choices, lang)
    edit = RoleEdit(person.key, role.key, place.key, remove=remove)
    try:
        outcome = apply_edit(services, edit, actor_of(ctx))
    except EditError as exc:
        return refusal(lang, exc)
    return _role_edited(outcome, lang)


def _no_such_person(
    place: MunicipalityRec,
    role: RoleTypeRec,
    remove: bool,
    said: str,
    close: list[PersonRec],
    choices: ChoiceStore,
    lang: Lang,
) -> Reply:
    lines: list[Line] = [
        plain(gettext(lang, "No person “{person}” in the registry.", person=said[:MAX_ECHO_CHARS]))
    ]
    offered = []
    if close:
        lines.append(plain(gettext(lang, "Did you mean:")))
        for candidate in close:
            command = (
                f"/contact {place.key} {role.key} {'remove ' if remove else ''}{candidate.key}"
            )
            lines.append(code_line(command))
            offered.append(Choice(choices.put(command), candidate.name))
    return Reply(lines=tuple(lines), choices=tuple(offered), lang=lang, kind="not_found")


def _role_edited(outcome: RoleEdited, lang: Lang) -> Reply:
    heading = f"{outcome.municipality.name}, {outcome.role.name(lang)}"
    if not outcome.changed:
        message = gettext(
            lang,
            "Nothing changed: {person} already holds this role ({role}).",
            person=outcome.person.name,
            role=heading,
        )
        lines: list[Line] = [plain(message)]
    else:
        lines = [
            bold(heading),
            plain("  " + gettext(lang, "before") + f": {_names(outcome.holders_before, lang)}"),
            plain("  " + gettext(lang, "now") + f": {_names(outcome.holders_after, lang)}"),
        ]
    if outcome.findings:
        lines.append(plain(gettext(lang, "Data-quality check:")))
        lines += [plain(f"  • {f.severity}: {f.message}") for f in outcome.findings]
    return text_reply(lang, *lines, kind="edited" if outcome.changed else "unchanged")


# --- /person ----------------------------------------------------------------------------------


def person_command(services: Services, ctx: Context, args: str, choices: ChoiceStore) -> Reply:
    """/person add NAME [ADDRESS]; /person PERSON shows a person and their roles."""
    lang, data = ctx.lang, services.registry.snapshot()
    words = args.split()
    if not words:
        return text_reply(
            lang,
            *paragraph(
                gettext(
                    lang,
                    "/person PERSON - a person's address and roles (key or full name)\n/person add Kari Nordmann kari.nordmann@bodo.kommune.no - add a person (the address is optional)",
                )
            ),
            kind="usage",
        )
    if fold(words[0]) not in ADD_WORDS:
        person, close = find_person(data, args)
        if person is None:
            lines: list[Line] = [
                plain(
                    gettext(
                        lang, "No person “{person}” in the registry.", person=args[:MAX_ECHO_CHARS]
                    )
                )
            ]
            if close:
                lines.append(plain(gettext(lang, "Did you mean:")))
                lines += [code_line(f"/person {p.key}  ({p.name})") for p in close]
            return text_reply(lang, *lines, kind="not_found")
        return _show_person(data, person, lang)
    rest = words[1:]
    address = rest.pop() if rest and ("@" in rest[-1] or rest[-1] in CLEAR_WORDS) else None
    name = " ".join(rest).strip(_QUOTES + " ")
    if not name:
        return text_reply(
            lang,
            *paragraph(
                gettext(
                    lang,
                    "/person PERSON - a person's address and roles (key or full name)\n/person add Kari Nordmann kari.nordmann@bodo.kommune.no - add a person (the address is optional)",
                )
            ),
            kind="usage",
        )
    try:
        outcome = apply_edit(services, PersonAdd(name, address), actor_of(ctx))
    except EditError as exc:
        return refusal(lang, exc)
    return _person_added(outcome, lang)


def _show_person(data: RegistryData, person: PersonRec, lang: Lang) -> Reply:
    lines: list[Line] = [bold(f"{person.name} ({person.key})")]
    lines.append(plain(f"  {person.email or gettext(lang, 'no address')}"))
    for role in person.roles:
        role_type = data.role_type_by_key.get(role.role)
        where = []
        if role.municipality in data.municipality_by_key:
            where.append(data.municipality_by_key[role.municipality].name)
        if role.organisation in data.organisation_by_key:
            where.append(data.organisation_by_key[role.organisation].name)
        label = role_type.name(lang) if role_type else role.role
        lines.append(plain(f"  • {label}" + (f", {', '.join(where)}" if where else "")))
    return text_reply(lang, *lines, kind="person")


def _person_added(outcome: PersonAdded, lang: Lang) -> Reply:
    person = outcome.person
    address = person.email or gettext(lang, "no address")
    who = f"{person.name} ({person.key})"
    lines: list[Line] = [bold(gettext(lang, "Added: {person}", person=who))]
    lines.append(plain(f"  {address}"))
    if outcome.findings:
        lines.append(plain(gettext(lang, "Data-quality check:")))
        lines += [plain(f"  • {f.severity}: {f.message}") for f in outcome.findings]
    lines += [
        plain(gettext(lang, "Give them a role with:")),
        code_line(f"/contact MUNICIPALITY ROLE {person.key}"),
    ]
    return text_reply(lang, *lines, kind="edited")
