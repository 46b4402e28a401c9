"""Every word the bot says, in English, bokmål and nynorsk, and how a user's language is chosen.

Messages are GNU gettext catalogues, one per language, in `bot/locale/LANG/LC_MESSAGES/
coordbot.po`; the English text in the code is the msgid. Call `gettext(lang, "...", **params)`
and `ngettext(lang, "one ...", "{n} ...", n, **params)`; dates and lists go through
`format_date`, `format_datetime` and `format_list` (Babel, CLDR data). The `.po` files are
compiled when first used, so editing one needs no build step. Extraction (`make catalogues`)
looks for the keywords `gettext:2` and `ngettext:2,3`.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from babel.support import NullTranslations

Lang = Literal["en", "nb", "nn"]
LANGUAGES: tuple[Lang, ...] = ("en", "nb", "nn")
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "coordbot"

# Telegram sends an IETF tag ("nb", "nn", "no", "en-GB"); "no" is written bokmål by most.
_NORWEGIAN_TAGS = {"nb", "no", "nn"}


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of `lang` (English and unknown languages: the msgids as they are)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang not in LANGUAGES or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    # Fuzzy entries are drafts: like msgfmt, leave them out so the English shows instead.
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(lang: str, message: str, /, **params: object) -> str:
    """`message` (English, the msgid) in `lang`, with `{name}` placeholders filled from params."""
    text = translations(lang).gettext(message)
    return text.format(**params) if params else text


def ngettext(lang: str, singular: str, plural: str, n: int, /, **params: object) -> str:
    """The form of a counted message for `n` in `lang`; `{n}` is filled in as well as params."""
    text = translations(lang).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def babel_locale(lang: str) -> str:
    """The CLDR locale for a reply language."""
    return lang if lang in ("nb", "nn") else "en_GB"


def format_date(value: date, lang: str, pattern: str = "long") -> str:
    """A date as people write it: "21 February 2020", "21. februar 2020"."""
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, pattern, locale=babel_locale(lang))


def format_datetime(
    value: datetime, lang: str, pattern: str = "long", zone: tzinfo | None = None
) -> str:
    """A date and time in `lang`, shown in `zone` (the value's own zone when None)."""
    from babel.dates import format_datetime as babel_format_datetime

    return babel_format_datetime(
        value, pattern, tzinfo=zone or value.tzinfo, locale=babel_locale(lang)
    )


def format_list(
    items: Sequence[str], lang: str, style: Literal["standard", "or"] = "standard"
) -> str:
    """Items joined as the language does: "Asker, Bærum og Rana", "Asker, Bærum, and Rana"."""
    from babel.lists import format_list as babel_format_list

    if not items:
        return ""
    return babel_format_list(list(items), style=style, locale="en" if lang == "en" else lang)


_STRINGS: dict[str, tuple[str, str]] = {
    # --- greeting and help ---------------------------------------------------------------
    "greeting": (
        "Hello {name}! I am coordbot, the assistant of Bærekraftsløftet, U4SSC's implementation "
        "programme in Norway.",
        "Hei {name}! Jeg er coordbot, assistenten for Bærekraftsløftet, U4SSCs "
        "implementeringsprogram i Norge.",
    ),
    "capabilities": (
        "Ask me who to contact and what happens when, in English or Norwegian, for example:",
        "Spør meg hvem du skal kontakte og hva som skjer når, på norsk eller engelsk, for eksempel:",
    ),
    "example_who": ("who is Bodø's data contact?", "hvem er datakontakt i Bodø?"),
    "example_when": ("when is the steering group meeting?", "når er styringsgruppemøtet?"),
    "commands_heading": ("Commands:", "Kommandoer:"),
    "admin_heading": ("Coordinator commands:", "Kommandoer for koordinatorer:"),
    "group_hint": (
        "In groups, use the commands or mention me with your question.",
        "I grupper: bruk kommandoene eller nevn meg i spørsmålet.",
    ),
    # --- command descriptions (help and the Telegram command menu) -----------------------
    "cmd_start": ("what this bot can do", "hva denne boten kan"),
    "cmd_help": ("commands and examples", "kommandoer og eksempler"),
    "cmd_lang": ("reply in English or Norwegian", "svar på norsk eller engelsk"),
    "cmd_who": (
        "who is a contact, e.g. /who data contact Bodø",
        "hvem er kontakt, f.eks. /who datakontakt Bodø",
    ),
    "cmd_when": (
        "when is an event, e.g. /when steering group",
        "når er noe, f.eks. /when styringsgruppemøtet",
    ),
    "cmd_next": ("what happens next", "hva skjer nå"),
    "cmd_events": (
        "upcoming events and deadlines (all: every one; keys: with their keys)",
        "kommende møter og frister (all: alle; keys: med nøklene)",
    ),
    "cmd_calendar": ("the programme calendar to subscribe to", "programkalenderen å abonnere på"),
    "cmd_subscribe": (
        "get an audience's messages here or by e-mail",
        "få en målgruppes meldinger her eller på e-post",
    ),
    "cmd_unsubscribe": ("stop an audience's messages", "stopp en målgruppes meldinger"),
    "cmd_subscriptions": ("what you receive, and where", "hva du mottar, og hvor"),
    "cmd_done": (
        "report a deadline met for a municipality",
        "meld en frist som nådd for en kommune",
    ),
    "cmd_broadcast": (
        "send a message to an audience (preview first)",
        "send en melding til en målgruppe (forhåndsvisning først)",
    ),
    "console_use_cli": (
        "On the console, use the command line: {command}",
        "På konsollen bruker du kommandolinjen: {command}",
    ),
    "console_subscriptions": (
        "Subscriptions belong to Telegram users and e-mail recipients; every broadcast e-mail "
        "carries an unsubscribe link.",
        "Abonnementer hører til Telegram-brukere og e-postmottakere; hver utsendelse på e-post "
        "har en lenke for å melde seg av.",
    ),
    "broadcast_by_command": (
        "Send /broadcast AUDIENCE and the message as a command of its own.",
        "Send /broadcast MÅLGRUPPE og meldingen som en egen kommando.",
    ),
    "cmd_users": ("people who have talked to the bot", "personer som har snakket med boten"),
    "cmd_approve": ("let a user ask the directory", "gi en bruker tilgang til katalogen"),
    "cmd_revoke": ("withdraw an approval", "trekk tilbake en godkjenning"),
    "cmd_link": (
        "link a user to a registry person (key or full name)",
        "koble en bruker til en person i registeret (nøkkel eller fullt navn)",
    ),
    "cmd_unlink": ("remove a user's link", "fjern koblingen til en bruker"),
    # --- usage and refusals ----------------------------------------------------------------
    "who_usage": (
        "Tell me who you are looking for, e.g. /who data contact Bodø",
        "Si hvem du leter etter, f.eks. /who datakontakt Bodø",
    ),
    "when_usage": (
        "Tell me what you want the date of, e.g. /when steering group meeting",
        "Si hva du vil vite datoen for, f.eks. /when styringsgruppemøtet",
    ),
    "lang_usage": (
        "Choose the reply language: /lang en or /lang nb. Now: {lang}.",
        "Velg svarspråk: /lang en eller /lang nb. Nå: {lang}.",
    ),
    "lang_set": ("I will reply in English.", "Jeg svarer på norsk."),
    "lang_auto": (
        "I will reply in the language of each question.",
        "Jeg svarer på språket i hvert spørsmål.",
    ),
    "not_known": (
        "The directory answers known users only. Ask a coordinator to approve you; your user id "
        "is {user_id}.",
        "Katalogen svarer bare kjente brukere. Be en koordinator om å godkjenne deg; bruker-id-en "
        "din er {user_id}.",
    ),
    "coordinator_only": (
        "/{command} is for coordinators only. Nothing was changed.",
        "/{command} er bare for koordinatorer. Ingenting ble endret.",
    ),
    "rate_limited": (
        "You are asking faster than I answer ({limit} questions a minute). Please wait {seconds} "
        "seconds and ask again.",
        "Du spør raskere enn jeg svarer ({limit} spørsmål i minuttet). Vent {seconds} sekunder og "
        "spør igjen.",
    ),
    "too_long": (
        "That message is {length} characters long; please keep a question under {limit}.",
        "Meldingen er {length} tegn lang; hold et spørsmål under {limit} tegn.",
    ),
    "empty_question": (
        "Ask me a question, e.g. “{example}”. /help lists the commands.",
        "Still meg et spørsmål, f.eks. «{example}». /help viser kommandoene.",
    ),
    "unknown_command": (
        "I do not know the command /{command}. /help lists what I can do.",
        "Jeg kjenner ikke kommandoen /{command}. /help viser hva jeg kan.",
    ),
    "non_text": (
        "I can only read text. Ask me a question, e.g. “{example}”.",
        "Jeg kan bare lese tekst. Still meg et spørsmål, f.eks. «{example}».",
    ),
    "edited": (
        "I answer new messages only; please send your changed question as a new message.",
        "Jeg svarer bare på nye meldinger; send det endrede spørsmålet som en ny melding.",
    ),
    "button_expired": (
        "This button has expired. Please ask again.",
        "Denne knappen er utløpt. Spør på nytt.",
    ),
    "choose_number": ("Type a number to choose:", "Skriv et tall for å velge:"),
    "error": (
        "Sorry, something went wrong on my side. Please try again in a moment.",
        "Beklager, noe gikk galt hos meg. Prøv igjen om litt.",
    ),
    # --- events and calendar -----------------------------------------------------------------
    "events_upcoming": ("Coming up:", "Kommende:"),
    "events_all": ("Events, deadlines and milestones:", "Møter, frister og milepæler:"),
    "events_none": ("Nothing is scheduled from today on.", "Ingenting er planlagt fra i dag av."),
    "events_earlier": (
        "{count} earlier items: /events all",
        "{count} tidligere punkter: /events all",
    ),
    "calendar_heading": (
        "Subscribe to the programme calendar in your calendar app:",
        "Abonner på programkalenderen i kalenderappen din:",
    ),
    "calendar_no_links": (
        "The calendar has no public address yet; ask a coordinator to set calendar.public_base_url.",
        "Kalenderen har ingen offentlig adresse ennå; be en koordinator sette calendar.public_base_url.",
    ),
    "calendar_attached": (
        "The programme calendar (.ics): open it to import the events once.",
        "Programkalenderen (.ics): åpne den for å importere hendelsene én gang.",
    ),
    "calendar_console": (
        "Save the .ics file with: coordbot ics feed -o programme.ics",
        "Lagre .ics-filen med: coordbot ics feed -o programme.ics",
    ),
    # --- coordinator commands ----------------------------------------------------------------
    "users_heading": ("People who have talked to the bot:", "Personer som har snakket med boten:"),
    "users_none": ("Nobody has talked to the bot yet.", "Ingen har snakket med boten ennå."),
    "user_usage": (
        "Usage: /{command} USER_ID (the number /users shows)",
        "Bruk: /{command} BRUKER_ID (tallet /users viser)",
    ),
    "link_usage": (
        "Usage: /link USER_ID PERSON (a person key or full name from the registry)",
        "Bruk: /link BRUKER_ID PERSON (en personnøkkel eller fullt navn fra registeret)",
    ),
    "no_such_user": (
        "No user {user_id} has talked to the bot; ask them to send /start first.",
        "Ingen bruker {user_id} har snakket med boten; be dem sende /start først.",
    ),
    "no_such_person": (
        "No person “{person}” in the registry.",
        "Ingen person «{person}» i registeret.",
    ),
    "did_you_mean": ("Did you mean:", "Mente du:"),
    "approved": ("{user} may now ask the directory.", "{user} kan nå spørre katalogen."),
    "revoked": ("{user} is no longer approved.", "{user} er ikke lenger godkjent."),
    "linked": ("{user} is now linked to {person}.", "{user} er nå koblet til {person}."),
    "unlinked": ("{user} is no longer linked to anyone.", "{user} er ikke lenger koblet til noen."),
    "status_coordinator": ("coordinator", "koordinator"),
    "status_approved": ("approved", "godkjent"),
    "status_pending": ("not approved", "ikke godkjent"),
    "status_blocked": ("blocked the bot", "har blokkert boten"),
    "status_unknown_person": ("not in the registry", "ikke i registeret"),
    # --- registry edits (coordinators) --------------------------------------------------------
    "cmd_event": (
        "move, re-place, cancel or restore an event (alone: how, and the event keys)",
        "flytt, gi nytt sted, avlys eller gjenopprett en hendelse (alene: hvordan, og nøklene)",
    ),
    "cmd_email": (
        "change a person's e-mail address (- removes it)",
        "endre e-postadressen til en person (- fjerner den)",
    ),
    "event_usage": (
        "Edit an event (EVENT: its key or title):\n"
        "/event EVENT date 2020-02-28 - another day, times and length kept\n"
        "/event EVENT date 2020-02-28 2020-02-29 - all-day, first and last day\n"
        "/event EVENT time 2020-02-21T10:00 2020-02-21T15:00 - Oslo time "
        "(also 21.02.2020 10:00-15:00)\n"
        "/event EVENT place Trondheim - a new place (place - removes it)\n"
        "/event EVENT cancel, /event EVENT restore",
        "Endre en hendelse (HENDELSE: nøkkelen eller tittelen):\n"
        "/event HENDELSE dato 2020-02-28 - en annen dag, samme klokkeslett og lengde\n"
        "/event HENDELSE dato 2020-02-28 2020-02-29 - heldags, første og siste dag\n"
        "/event HENDELSE tid 2020-02-21T10:00 2020-02-21T15:00 - norsk tid "
        "(også 21.02.2020 10:00-15:00)\n"
        "/event HENDELSE sted Trondheim - nytt sted (sted - fjerner det)\n"
        "/event HENDELSE avlys, /event HENDELSE gjenopprett",
    ),
    "event_keys_heading": ("Events and their keys:", "Hendelser og nøklene deres:"),
    "event_list_hint": (
        "/event alone lists the event keys.",
        "/event alene viser nøklene til hendelsene.",
    ),
    "no_such_event": (
        "No event “{event}” in the registry.",
        "Ingen hendelse «{event}» i registeret.",
    ),
    "which_event": (
        "“{event}” could be several events; pick one or send the command with its key:",
        "«{event}» kan være flere hendelser; velg én eller send kommandoen med nøkkelen:",
    ),
    "event_change_with": ("Change it with:", "Endre den med:"),
    "event_unchanged": (
        "Nothing changed: {event} already is like that.",
        "Ingenting ble endret: {event} er allerede slik.",
    ),
    "event_edited_date": ("Moved: {event}", "Flyttet: {event}"),
    "event_edited_time": ("New time: {event}", "Nytt tidspunkt: {event}"),
    "event_edited_place": ("New place: {event}", "Nytt sted: {event}"),
    "event_edited_cancel": ("Cancelled: {event}", "Avlyst: {event}"),
    "event_edited_restore": ("Restored: {event}", "Gjenopprettet: {event}"),
    "event_in_past": ("Note: {when} is in the past.", "Merk: {when} er passert."),
    "event_followup": (
        "Calendar feeds show the change now, and reminders follow it automatically.",
        "Kalenderabonnementene viser endringen nå, og påminnelsene følger den automatisk.",
    ),
    "event_send_update": (
        "Send updated invites to those who have the event in their calendar with:",
        "Send oppdaterte invitasjoner til dem som har hendelsen i kalenderen med:",
    ),
    "event_send_cancel": (
        "Send the cancellation to those who have the event in their calendar with:",
        "Send avlysningen til dem som har hendelsen i kalenderen med:",
    ),
    "field_when": ("when", "når"),
    "field_place": ("place", "sted"),
    "field_status": ("status", "status"),
    "status_cancelled": ("cancelled", "avlyst"),
    "status_scheduled": ("scheduled", "planlagt"),
    "no_place": ("no place", "uten sted"),
    "no_address": ("no address", "ingen adresse"),
    "email_usage": (
        "Usage: /email PERSON ADDRESS (a person key or full name, then the new address; "
        "- instead of an address removes it)",
        "Bruk: /email PERSON ADRESSE (en personnøkkel eller fullt navn, så den nye adressen; "
        "- i stedet for en adresse fjerner den)",
    ),
    "email_edited": (
        "E-mail address of {person} changed:",
        "E-postadressen til {person} er endret:",
    ),
    "email_unchanged": (
        "Nothing changed: {person} already has {address}.",
        "Ingenting ble endret: {person} har allerede {address}.",
    ),
    "email_findings": (
        "Data-quality check of the address:",
        "Datakvalitetskontroll av adressen:",
    ),
    "email_clean": (
        "The address passes the data-quality checks.",
        "Adressen består datakvalitetskontrollene.",
    ),
    "edit_nothing_changed": ("Nothing was changed.", "Ingenting ble endret."),
    "edit_error_registry_busy": (
        "The registry kept changing while I tried to save this; please try again.",
        "Registeret endret seg mens jeg prøvde å lagre dette; prøv igjen.",
    ),
    "edit_error_unknown_event": (
        "No event “{event}”. Events: {known}",
        "Ingen hendelse «{event}». Hendelser: {known}",
    ),
    "edit_error_unknown_person": (
        "No person “{person}” in the registry.",
        "Ingen person «{person}» i registeret.",
    ),
    "edit_error_no_value_expected": (
        "“{action}” takes nothing after it (got “{value}”).",
        "«{action}» skal ikke ha noe etter seg (fikk «{value}»).",
    ),
    "edit_error_bad_date": (
        "“{value}” is not a date; write 2020-02-28 or 28.02.2020.",
        "«{value}» er ikke en dato; skriv 2020-02-28 eller 28.02.2020.",
    ),
    "edit_error_year_out_of_range": (
        "“{value}” is outside the years {first}-{last}.",
        "«{value}» er utenfor årene {first}-{last}.",
    ),
    "edit_error_bad_time": (
        "“{value}” is not a start (and end) time; write 2020-02-21T10:00 2020-02-21T15:00 or "
        "21.02.2020 10:00-15:00 (Oslo time).",
        "«{value}» er ikke et start- (og slutt-)tidspunkt; skriv 2020-02-21T10:00 "
        "2020-02-21T15:00 eller 21.02.2020 10:00-15:00 (norsk tid).",
    ),
    "edit_error_no_such_time": (
        "{value} does not exist in Oslo: the clocks skip that hour when summer time starts.",
        "{value} finnes ikke i Norge: klokken hopper over den timen når sommertiden begynner.",
    ),
    "edit_error_end_before_start": (
        "The end ({end}) is not after the start ({start}).",
        "Slutten ({end}) er ikke etter starten ({start}).",
    ),
    "edit_error_control_character": (
        "The text contains a line break or control character ({code}); send it on one line.",
        "Teksten inneholder et linjeskift eller kontrolltegn ({code}); send den på én linje.",
    ),
    "edit_error_too_long": (
        "That is {length} characters; at most {limit} are allowed.",
        "Det er {length} tegn; høyst {limit} er tillatt.",
    ),
    "edit_error_empty_place": (
        "Give the new place, or - to remove it.",
        "Oppgi det nye stedet, eller - for å fjerne det.",
    ),
    "cmd_contact": (
        "who holds a role at a municipality, and changing it",
        "hvem som har en rolle i en kommune, og endre det",
    ),
    "contact_usage": (
        "Role holders at a municipality:\n"
        "/contact Bodø data_contact - who holds it\n"
        "/contact Bodø data_contact Vesa Heikki Jäntti - give a person the role (key or full name)\n"
        "/contact Bodø data_contact remove Vesa Heikki Jäntti - take it away",
        "Roller i en kommune:\n"
        "/contact Bodø datakontakt - hvem som har den\n"
        "/contact Bodø datakontakt Vesa Heikki Jäntti - gi en person rollen (nøkkel eller fullt navn)\n"
        "/contact Bodø datakontakt fjern Vesa Heikki Jäntti - ta den fra personen",
    ),
    "contact_places": ("Municipalities: {places}", "Kommuner: {places}"),
    "contact_roles": ("Roles: {roles}", "Roller: {roles}"),
    "no_such_municipality": (
        "No municipality “{municipality}” in the programme.",
        "Ingen kommune «{municipality}» i programmet.",
    ),
    "no_such_role": ("No role “{role}”.", "Ingen rolle «{role}»."),
    "which_role": (
        "“{role}” fits several roles; use a key:",
        "«{role}» passer med flere roller; bruk en nøkkel:",
    ),
    "nobody": ("nobody", "ingen"),
    "contact_before": ("before", "før"),
    "contact_now": ("now", "nå"),
    "contact_unchanged": (
        "Nothing changed: {person} already holds this role ({role}).",
        "Ingenting ble endret: {person} har allerede denne rollen ({role}).",
    ),
    "contact_findings": ("Data-quality check:", "Datakvalitetskontroll:"),
    "edit_error_unknown_role": (
        "No role “{role}”. Roles: {known}",
        "Ingen rolle «{role}». Roller: {known}",
    ),
    "edit_error_unknown_municipality": (
        "No municipality “{municipality}” in the programme.",
        "Ingen kommune «{municipality}» i programmet.",
    ),
    "edit_error_not_holder": (
        "{person} is not the {role} in {municipality}.",
        "{person} har ikke rollen {role} i {municipality}.",
    ),
    "cmd_person": (
        "show a person, or add one: /person add NAME [ADDRESS]",
        "vis en person, eller legg til en: /person add NAVN [ADRESSE]",
    ),
    "person_usage": (
        "/person PERSON - a person's address and roles (key or full name)\n"
        "/person add Kari Nordmann kari.nordmann@bodo.kommune.no - add a person "
        "(the address is optional)",
        "/person PERSON - adressen og rollene til en person (nøkkel eller fullt navn)\n"
        "/person add Kari Nordmann kari.nordmann@bodo.kommune.no - legg til en person "
        "(adressen kan utelates)",
    ),
    "person_added": ("Added: {person}", "Lagt til: {person}"),
    "person_give_role": ("Give them a role with:", "Gi personen en rolle med:"),
    "edit_error_bad_name": (
        "“{name}” is not a name.",
        "«{name}» er ikke et navn.",
    ),
    "edit_error_person_exists": (
        "{person} is already in the registry (key {key}).",
        "{person} finnes allerede i registeret (nøkkel {key}).",
    ),
    "edit_error_bad_address": (
        "“{address}” cannot be used: it {problem}.",
        "«{address}» kan ikke brukes ({problem}).",
    ),
    # --- console -------------------------------------------------------------------------------
    "console_hint": (
        "No Telegram token set: chatting here on the console. Set COORDBOT_TELEGRAM_TOKEN to "
        "connect to Telegram. Ctrl-D ends.",
        "Ingen Telegram-token satt: vi chatter her i konsollen. Sett COORDBOT_TELEGRAM_TOKEN for "
        "å koble til Telegram. Ctrl-D avslutter.",
    ),
}


def t(lang: str, key: str, /, **params: object) -> str:
    """The UI string `key` in `lang` (en or nb) with `params` filled in."""
    english, norwegian = _STRINGS[key]
    template = norwegian if lang in ("nb", "nn") else english
    return template.format(**params) if params else template


def language_from_tag(tag: str | None, default: Lang = "en") -> Lang:
    """The UI language for an IETF language tag (Telegram's language_code, a locale)."""
    if not tag:
        return default
    primary = tag.replace("_", "-").split("-")[0].split(".")[0].lower()
    if primary in _NORWEGIAN_TAGS:
        return "nn" if primary == "nn" else "nb"
    if primary in ("", "c", "posix"):
        return default
    return "en"


def parse_language(text: str) -> Lang | None:
    """`en` or `nb` from what a user typed after /lang (also 'no', 'norsk', 'english')."""
    word = text.strip().lower()
    if word in ("en", "eng", "english", "engelsk"):
        return "en"
    if word in ("nb", "no", "nn", "norsk", "norwegian", "bokmål", "bokmal"):
        return "nb"
    return None


def has_key(key: str) -> bool:
    """True when `key` is a known UI string (used to check command descriptions)."""
    return key in _STRINGS
