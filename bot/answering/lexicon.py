"""The engine's own words, in folded form (bot.textnorm.fold): question words, stop words,
language markers and the concepts events are matched by.

The registry brings its own vocabulary (role terms, aliases of places, organisations and
audiences); this module holds only what is the same for every registry.
"""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


# --- what the question asks ------------------------------------------------------------------

WHO = frozenset({"who", "whom", "whose", "hvem", "hvem sin", "kven", "kven sin"})
WHEN = frozenset(
    {
        "when",
        "nar",
        "date",
        "dato",
        "datoen",
        "what date",
        "which date",
        "what day",
        "which day",
        "hvilken dag",
        "hvilken dato",
        "tidspunkt",
        "how long until",
        "hvor lenge til",
        "kor lenge til",
        "kva dato",
        "kva dag",
    }
)
NEXT = frozenset(
    {
        "next",
        "upcoming",
        "coming up",
        "soon",
        "neste",
        "kommende",
        "snart",
        "fremover",
        "framover",
        "what's next",
        "hva na",
        "kva na",
        "nestemann",
    }
)
HAPPEN = frozenset(
    {
        "happen",
        "happens",
        "happening",
        "going on",
        "scheduled",
        "planned",
        "on the agenda",
        "events",
        "event",
        "calendar",
        "skjer",
        "skjedde",
        "skjedd",
        "hender",
        "foregar",
        "hendelser",
        "kalender",
        "kalenderen",
        "planlagt",
        "program",
        "agenda",
    }
)
CONTACT = frozenset(
    {
        "email",
        "e mail",
        "mail",
        "address",
        "addresses",
        "adresse",
        "adressen",
        "epost",
        "e post",
        "e posten",
        "eposten",
        "e postadressa",
        "epostadresse",
        "e postadresse",
        "e postadressen",
        "epostadressen",
        "reach",
        "contact details",
        "contact info",
        "kontaktinfo",
        "kontaktinformasjon",
        "kontaktdetaljer",
        "phone",
        "telefon",
        "get in touch",
        "write to",
        "skrive til",
        "na tak i",
        "fa tak i",
    }
)
LIST = frozenset(
    {
        "which",
        "list",
        "all",
        "hvilke",
        "hvilken",
        "liste",
        "alle",
        "how many",
        "hvor mange",
        "members",
        "medlemmer",
        "who are",
        "hvem er med",
        "kva for",
        "kven er med",
        "part of",
        "med i",
    }
)
MUNICIPALITY_WORDS = frozenset(
    {
        "municipality",
        "municipalities",
        "cities",
        "city",
        "towns",
        "kommune",
        "kommuner",
        "kommunene",
        "kommunen",
        "kommunar",
        "kommunane",
        "byer",
        "byene",
        "places",
        "steder",
    }
)
HEAD = frozenset(
    {
        "leader",
        "leaders",
        "lead",
        "leads",
        "leading",
        "head",
        "heads",
        "chair",
        "chairs",
        "chairman",
        "chairperson",
        "in charge",
        "runs",
        "leder",
        "lederen",
        "ledere",
        "leiar",
        "leiaren",
        "leiarar",
        "chaired",
        "sjef",
        "sjefen",
        "boss",
        "leder for",
        "leads the",
    }
)
DEPUTY = frozenset(
    {
        "deputy",
        "vice",
        "nestleder",
        "nestlederen",
        "nestleiar",
        "nestleiaren",
        "vice chair",
        "deputy leader",
        "deputy chair",
    }
)
# Yes/no questions begin with a verb ("is Bodø in batch 1?", "har andre pulje starta?").
YESNO_START = frozenset(
    _words(
        """is are was were has have had did does do will can er var har hadde blir ble vart vert
    skjedde skjer strommes strommast kommer kjem finnes fins"""
    )
)
# "Has it happened?": the answer is yes when the item lies in the past.
PAST_Q = frozenset(
    {
        "passed",
        "over",
        "happened",
        "held",
        "been",
        "started",
        "begun",
        "expired",
        "already",
        "gatt ut",
        "utlopt",
        "utlopet",
        "passert",
        "holdt",
        "avholdt",
        "vore",
        "vaert",
        "skjedd",
        "starta",
        "startet",
        "begynt",
        "allerede",
        "allereie",
        "ferdig",
        "finished",
    }
)
# "Is it still ahead?": the answer is yes when the item lies in the future.
AHEAD_Q = frozenset(
    {
        "still ahead",
        "still to come",
        "ahead",
        "framfor oss",
        "foran oss",
        "fremfor oss",
        "framleis",
        "fremdeles",
        "enda",
        "still upcoming",
    }
)
# National scope: a role asked "for the whole country" is its national counterpart.
NATIONAL = frozenset(
    {
        "national",
        "nationally",
        "nasjonal",
        "nasjonalt",
        "nationwide",
        "hele landet",
        "heile landet",
        "whole country",
        "the whole country",
        "norway as a whole",
        "all of norway",
        "hele norge",
        "heile noreg",
        "for norway",
    }
)
SAME_DAY = frozenset({"same day", "samme dag", "same dato", "samme dato", "same date"})
GREETING = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "hei",
        "hallo",
        "heisann",
        "god morgen",
        "takk",
        "thanks",
        "thank you",
    }
)
HELP = frozenset({"help", "hjelp", "?", "what can you do", "hva kan du"})

# --- words that are never names, places or typos of them -------------------------------------

STOP_EN = frozenset(
    _words(
        """a an the is are was were be been am of in on at for to from by with and or not no yes
    who whom whose what when where which how why does do did done i me my we our us you your it
    its this that these those there their they them he him his she her s please can could would
    should will shall may might must tell know about find give get need want show let any some
    one ones hi hello thanks thank please just also as if than then so but into over up out
    who's what's whats whos next here now today tomorrow yesterday day days week weeks month
    months year time times"""
    )
)
STOP_NB = frozenset(
    _words(
        """en et ei er var vart den det de i pa til fra for av med og eller ikke nei ja hvem hva nar
    hvor hvorfor hvilken hvilket hvilke hvordan jeg meg min mitt mine vi oss var vare du deg
    din ditt dine dere han ham hun henne hans hennes sin sitt sine kan kunne vil ville skal
    skulle ma matte som om hos hei takk gi gir fortell vet vite finne finn trenger noen noe sa
    bare ogsa enn da men inn ut over under opp na her der dag dagen uke uka uken maned
    maneden ar aret gang"""
    )
)
# Ordinary words that look like names or places (or close enough to be "corrected" into one).
COMMON = frozenset(
    _words(
        """asked asks ask holds hold model meets meet later under other after about above again
    against also answer around because before being below between both during each even few
    first further have having here into just last like made make many more most much must
    never only other over own same second should since some still such take than that their
    them then there these they thing think this those though through under until very want
    well were what where which while with within without would yours data list named
    name names role roles holder holders lead leads person people contact contacts programme
    program project group network meeting deadline start starts batch county counties city
    steering office centre center major sagen haugen tom per odd dag even else line tone liv
    eva mona gro eli ann aud lie moe vik lund strand berg dahl holm haug aas bakke moen strom
    time hole moss sola vega vang stad kinn heim fjord lom sel gran nes os re ha bo al
    marker valle grue nome tinn lier osen fet sund eid hof ski berg otta alta senja leka
    grane dovre jo"""
    )
)
# Nynorsk function words and query words (kven, kva, kor, kvar, korleis, eg, ikkje...).
STOP_NN = frozenset(
    _words(
        """kven kva kor kvar korleis kvifor kva for eg meg dei deim dykk ho hans hennar ikkje
    no noko nokon nokre vere vore vert vart blir ein eit som fra fraa til med om pa hja
    sit sitt sine mi mitt mine kan skal ma enno framleis heile landet"""
    )
)
STOP = STOP_EN | STOP_NB | STOP_NN

# --- language markers (folded words; names and places are never counted) ---------------------

MARKERS_EN = frozenset(
    _words(
        """who whom whose what when where which how is are was the of on at does do did next
    happens happening happen meeting meetings deadline contact email address leader leads
    network steering group county counties tomorrow today yesterday week month and with from
    about please tell me my in there this that any all first second starts start upcoming
    january february march june july october december monday tuesday wednesday thursday
    friday saturday sunday representative deputy head chair who's what's hi hello thanks help
    secretariat leader phone telephone mobile cell number numbers postal title job mayor
    adviser advisor planner organisation organization centre center batch batches member
    members belong belongs joined join newsletter enquiries inquiries questions question ask
    whom responsible elected elect streamed stream watch follow passed already been has have
    can could should would will you your our we they their its it which s"""
    )
)
MARKERS_NB = frozenset(
    _words(
        """hvem hva nar hvor hvilken hvilke hvilket hvordan er og pa til med av om den det jeg meg
    vi kan skal skjer neste kommende kontaktperson datakontakt datakontakten epost adresse
    adressen mote motet moter frist fristen fylke fylker fylkene nettverket styringsgruppen
    leder nestleder ikke har kommune kommunen kommuner idag imorgen morgen dag uke uka uken
    januar februar mars mai juni juli oktober desember mandag tirsdag onsdag torsdag fredag
    lordag sondag pulje oppstart starter datainnsamling hos sin sitt sine noen finnes ansvar
    representant sekretariat sekretariatet fristene motene hei hallo takk hjelp heisann"""
    )
)
# Nynorsk query words count as Norwegian until the detector tells nynorsk apart (a nynorsk
# question must never be answered in English).
MARKERS_NB = MARKERS_NB | frozenset(
    _words(
        """kven kva kor kvar korleis eg ikkje noko nokon kjem vore vert vart leiar leiaren
    nestleiar styringsgruppa motet datakontaktane kommunar kommunane nettverket frist
    fristen skjer sit tek spoerje sporje nyheitsbrevet stilling stillinga tittelen
    styringsgruppeleder styringsgruppeleiar nettverksleder nettverksleiar datakontaktene
    styringsgruppen styringsgruppa styringsgruppens nettverkets datakontakter"""
    )
)

# --- concepts: what events are matched by -----------------------------------------------------
# Each folded word or phrase names a concept. Event titles (both languages), kinds, audiences
# and places are read through the same table, so a question matches an event when they share
# concepts, whatever language either is in.

CONCEPTS: dict[str, str] = {}


def _concept(name: str, words: str) -> None:
    for word in words.split(","):
        CONCEPTS[word.strip()] = name


_concept(
    "meeting",
    "meeting,meetings,meet,mote,motet,moter,motene,samling,samlingen,"
    "samlinger,motepunkt,motepunktet,gathering,conference,konferanse,konferansen,session",
)
_concept("deadline", "deadline,deadlines,due,frist,fristen,frister,fristene,cutoff,innen")
_concept("milestone", "milestone,milestones,milepael,milepaelen,milepel,milepaler")
_concept(
    "start",
    "start,starts,starting,started,begin,begins,beginning,kick off,kickoff,"
    "oppstart,oppstarten,starter,begynner,begynnelse",
)
_concept("declaration", "declaration,deklarasjon,deklarasjonen,erklaring,erklaringen")
_concept(
    "decision",
    "decision,decides,decided,adopts,adopted,vedtak,vedtar,vedtok,"
    "general assembly,generalforsamling,generalforsamlingen",
)
_concept(
    "data",
    "data,datainnsamling,datainnsamlingen,data collection,collected,collect,"
    "innsamling,innsamlingen,samlet inn,samle inn",
)
_concept("kpi", "kpi,kpis,kpiene,indicators,indikatorer")
_concept("profile", "profile,profiles,profil,profiler,profilene,profilen,results,resultater")
_concept("info", "information,info,informasjon,informasjonsmote,briefing")
_concept(
    "stream",
    "streamed,stream,streaming,online,stromme,strommes,strommet,digitalt,nett,nettet,"
    "internett,internet,livestream,livestreamed,live",
)
_concept("first", "first,forste,ordinary,ordinare,ordinaere")
_concept("evaluation", "evaluation,evaluering,evalueringen,analysis,analyse,analysen")

# Concepts that make a question be about an event even without "when": a meeting, a deadline...
EVENT_TRIGGERS = frozenset({"meeting", "deadline", "milestone", "start", "declaration", "decision"})
KIND_CONCEPT = {"meeting": "meeting", "deadline": "deadline", "milestone": "milestone"}
# Concepts too common to tell events apart.
WEAK_CONCEPTS = frozenset({"first", "evaluation"})

# Norwegian and English endings stripped (longest first) to meet inflected forms.
SUFFIXES = ("ene", "ens", "ets", "ing", "en", "et", "er", "es", "a", "s", "e")

# --- nynorsk ------------------------------------------------------------------------------------
# Nynorsk's own spellings of the words above, kept together so the vocabularies stay readable;
# each set is widened here once.

WHO = WHO | {"kven", "kven sin"}
WHEN = WHEN | {"kva dag", "kva dato", "kva tid", "kor lenge til", "tidspunktet"}
NEXT = NEXT | {"kva no", "komande", "framover"}
HAPPEN = HAPPEN | {"hendingar", "hendinga", "hendingane", "hending"}
CONTACT = CONTACT | {"e postadressa", "epostadressa", "adressa", "kontaktinformasjonen"}
LIST = LIST | {"kva for", "kva for nokre", "kor mange", "kven er med", "medlemane"}
MUNICIPALITY_WORDS = MUNICIPALITY_WORDS | {"kommunar", "kommunane", "byar", "byane", "stader"}
HEAD = HEAD | {"leiar for", "leiarar", "leiarane"}
DEPUTY = DEPUTY | {"nestleiaren"}
HELP = HELP | {"kva kan du"}
STOP_NN = frozenset(
    _words(
        """eg ikkje kva kven kor korleis kvifor kvar berre noko nokon nokre dei ein eit vere
    vore sit kjem ogsa enno veke veka manad gong seie fortel veit"""
    )
)
STOP = STOP | STOP_NN

# Words (lower case, as written, not folded: "frå" is not "fra") that only nynorsk or only
# bokmål writes; a Norwegian question with more nynorsk words is answered in nynorsk.
MARKERS_NN = frozenset(
    _words(
        """kven kva kor korleis kvifor kvar eg ikkje frå berre noko nokon nokre dei eit vere
    sit kjem leiar leiaren leiarar nestleiar enno veke veka hendingar hending hendinga vore
    framleis vart vedteken vedtekne starta
    kommunar kommunane fristar fristane møta styringsgruppa komande byrjar heiter
    kontaktar medlemane"""
    )
)
BOKMAL_ONLY = frozenset(
    _words(
        """hvem hva hvor hvordan hvorfor hvilken hvilke hvilket jeg ikke fra bare noe noen de
    et være sitter kommer leder lederen ledere nestleder ennå uke uka uken hendelser hendelse
    hendelsen kommuner kommunene frister fristene kommende begynner heter kontakter
    medlemmene styringsgruppen møtene"""
    )
)
# --- job titles (issue 10): folded phrases -> one title; Norwegian and English names -----------
# A title is a fact of a person (the newsletter prints them next to names and in signatures);
# these are the words that name the same title, longest phrases matched first.
TITLES: dict[str, str] = {}


# Endings of the plural, definite and genitive forms of title nouns in English, bokmål and
# nynorsk, by how the listed form ends: rådgiver -> rådgivere, rådgiverne, advisers;
# rådgjevar -> rådgjevarar, rådgjevarane; direktør -> direktører, direktørane; director ->
# directors. Every listed form also matches with these; TITLE_BASE maps a made form back.
_TITLE_ENDINGS = {
    "er": ("s", "e", "en", "ne", "ens", "nes"),
    "ar": ("ar", "en", "ane", "s"),
    "or": ("s", "er", "en", "ene", "ar", "ane", "ens"),
}
_OTHER_ENDINGS = ("s", "n", "en", "er", "ene", "ar", "ane")
TITLE_BASE: dict[str, str] = {}


def _title(name: str, words: str) -> None:
    for word in words.split(","):
        phrase = word.strip()
        TITLES[phrase] = name
        for ending in _TITLE_ENDINGS.get(phrase[-2:], _OTHER_ENDINGS):
            if phrase + ending not in TITLES:
                TITLES[phrase + ending] = name
                TITLE_BASE[phrase + ending] = phrase


_title(
    "chief_executive",
    "radmann,radmannen,radmenn,radmennene,kommunedirektor,kommunedirektoren,chief executive,"
    "chief executive officer,ceo,city manager,municipal chief executive,administrasjonssjef,"
    "town manager,chief exec",
)
_title(
    "deputy_chief_executive",
    "ass radmann,ass radmannen,assisterende radmann,assisterande radmann,"
    "assistant chief executive,deputy chief executive,assistant municipal director",
)
_title(
    "director",
    "kommunaldirektor,kommunaldirektoren,director,municipal director,direktor,direktoren",
)
_title(
    "planner",
    "samfunnsplanlegger,samfunnsplanleggeren,samfunnsplanleggar,samfunnsplanleggaren,"
    "planlegger,planleggeren,planleggar,planleggaren,"
    "planner,community planner,social planner,town planner,urban planner",
)
_title(
    "adviser", "radgiver,radgiveren,radgivar,radgjevar,radgjevaren,adviser,advisor,senior adviser"
)
_title(
    "future_navigator",
    "framtidsnavigator,framtidsnavigatoren,fremtidsnavigator,future navigator",
)
_title("secretary_general", "secretary general,generalsekretaer,generalsekretar")

# Questions about a person's title ("what is Geir Graff's title?", "kva stilling har ...").
ASKS_TITLE = frozenset(
    {
        "title",
        "job title",
        "position",
        "job",
        "tittel",
        "tittelen",
        "stilling",
        "stillinga",
        "stillingen",
        "stillingstittel",
        "stillingstittelen",
        "what does",
    }
)
# Cities abroad in their usual spellings (English, French, German, Norwegian, Italian),
# folded: an organisation named after one ("Geneva UN Charter Centre") is found by any of them.
CITY_SPELLINGS: tuple[frozenset[str], ...] = tuple(
    frozenset(_words(line))
    for line in """geneva geneve genf ginevra genebra
    vienna wien vienne
    brussels brussel bruxelles
    copenhagen kobenhavn kopenhagen copenhague
    helsinki helsingfors
    london londres
    rome roma rom""".splitlines()
)
# Offices the registry never holds (it holds the programme's roles, not a municipality's
# politicians): asked for, they are said to be missing instead of answered with whoever is there.
UNHELD_OFFICES = frozenset(
    _words(
        """mayor mayors mayor's ordforer ordforeren ordforerens ordforar ordforaren ordforarar
    varaordforer varaordforeren varaordforar varaordforaren borgermester borgermesteren
    councillor councillors politician politicians politiker politikeren politikere
    politikerne politikar politikaren politikarar politikarane"""
    )
)
# Details the registry holds only in part (a phone number where one is registered) or not at all.
ASKS_PHONE = frozenset(
    {
        "phone",
        "phone number",
        "telephone",
        "mobile",
        "mobile number",
        "cell",
        "telefon",
        "telefonnummer",
        "telefonnummeret",
        "telefonnr",
        "mobil",
        "mobilnummer",
        "mobilnummeret",
        "ringe",
        "call",
    }
)
ASKS_POSTAL = frozenset(
    {
        "postal address",
        "post address",
        "mailing address",
        "postadresse",
        "postadressa",
        "postadressen",
    }
)
ASKS_VISIT = frozenset(
    {
        "visiting address",
        "street address",
        "besoksadresse",
        "besoksadressen",
        "besoksadressa",
    }
)
ASKS_CLOCK = frozenset({"what time", "which time", "klokka", "klokken", "klokkeslett", "kl"})
ASKS_LINK = frozenset({"link", "url", "lenke", "lenken", "lenkja", "livestream link"})
