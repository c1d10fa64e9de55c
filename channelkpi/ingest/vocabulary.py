"""What people call deal columns and deal stages in English, Dutch, German and French.

Data only, read by :mod:`.meaning` to recognise an export no preset knows. Words are written
as a person types them; they are compared after the same normalisation as the headers (lower
case, accents, ``snake_case``, ``camelCase`` and punctuation folded to single spaces), so
``"créé le"`` also matches ``Cree_Le`` and ``creeLe``.

``HEADERS`` are the names that mean a canonical column outright; ``HINTS`` are words that
mean it less surely (``revenue`` may be the deal's amount or a forecast). ``NOT_COLUMNS`` are
lookalikes that mean something else (an ``expected revenue`` is a weighted forecast, not the
amount; an ``account id`` is not the deal's id), with the reason in words.

Examples
--------
>>> "verkoper" in HEADERS["owner"]["nl"], "montant" in HEADERS["amount"]["fr"]
(True, True)
>>> STAGES["won"]["de"][:2]
('gewonnen', 'auftrag erhalten')
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "ABBREVIATIONS",
    "CLOSED_WORDS",
    "DEAL_WORDS",
    "HEADERS",
    "HINTS",
    "LANGUAGES",
    "LINK_WORDS",
    "NOISE_WORDS",
    "NUMBER_WORDS",
    "STATUS_VALUES",
    "NOT_COLUMNS",
    "PREFIXES",
    "STAGES",
]

#: The languages of the vocabulary, by the key used below.
LANGUAGES = MappingProxyType({"en": "English", "nl": "Dutch", "de": "German", "fr": "French"})

#: canonical column -> language -> headers that mean it.
HEADERS: MappingProxyType[str, dict[str, tuple[str, ...]]] = MappingProxyType(
    {
        "deal_id": {
            "en": (
                "id",
                "deal id",
                "opp id",
                "oppty id",
                "opportunity id",
                "ref",
                "reference",
                "deal ref",
                "deal reference",
                "deal number",
                "deal no",
                "deal nr",
                "opportunity number",
                "record id",
                "deal key",
                "deal code",
                "opp no",
                "opp nr",
                "opportunity no",
            ),
            "nl": ("kans id", "kansnummer", "dealnummer", "deal nummer", "referentie", "kenmerk", "dossiernummer"),
            "de": (
                "deal nr",
                "dealnummer",
                "chancen id",
                "chancennummer",
                "verkaufschance id",
                "opportunity nr",
                "referenz",
                "vorgangsnummer",
                "vorgang",
                "auftragsnummer",
                "auftrags nr",
                "auftragsnr",
            ),
            "fr": (
                "id affaire",
                "numero affaire",
                "numero d affaire",
                "n affaire",
                "no affaire",
                "numero",
                "reference",
                "ref affaire",
                "identifiant",
            ),
        },
        "partner": {
            "en": (
                "partner",
                "partner name",
                "reseller",
                "reseller name",
                "channel partner",
                "distributor",
                "var",
                "partner account",
                "partner company",
                "dealer",
                "referral partner",
            ),
            "nl": ("wederverkoper", "partnernaam", "dealer", "verdeler", "distributeur", "doorverkoper"),
            "de": ("handler", "vertriebspartner", "wiederverkaufer", "partnername", "distributor", "fachhandler"),
            "fr": ("revendeur", "partenaire", "distributeur", "nom du partenaire", "partenaire commercial"),
        },
        "owner": {
            "en": (
                "owner",
                "owner name",
                "deal owner",
                "opportunity owner",
                "rep",
                "sales rep",
                "salesperson",
                "sales person",
                "seller",
                "account manager",
                "account executive",
                "ae",
                "assigned to",
                "salesman",
            ),
            "nl": ("verkoper", "eigenaar", "accountmanager", "vertegenwoordiger", "behandelaar", "verantwoordelijke"),
            "de": ("vertriebler", "verkaufer", "besitzer", "inhaber", "vertriebsmitarbeiter", "zustandig", "betreuer"),
            "fr": ("commercial", "vendeur", "proprietaire", "responsable", "charge d affaires", "attache commercial"),
        },
        "department": {
            "en": ("department", "team", "sales team", "division"),
            "nl": ("afdeling", "verkoopteam"),
            "de": ("abteilung", "vertriebsteam"),
            "fr": ("departement", "service", "equipe", "equipe commerciale"),
        },
        "unit": {
            "en": ("unit", "business unit", "region", "territory", "sales region"),
            "nl": ("regio", "bedrijfsonderdeel", "gebied"),
            "de": ("region", "gebiet", "geschaftsbereich", "vertriebsgebiet"),
            "fr": ("region", "territoire", "unite", "secteur"),
        },
        "channel": {
            "en": ("channel", "sales channel", "marketing channel"),
            "nl": ("kanaal", "verkoopkanaal"),
            "de": ("kanal", "vertriebskanal"),
            "fr": ("canal", "canal de vente"),
        },
        "source": {
            "en": ("source", "lead source", "origin", "campaign"),
            "nl": ("bron", "leadbron", "herkomst", "campagne"),
            "de": ("quelle", "lead quelle", "herkunft", "kampagne"),
            "fr": ("source", "origine", "source du lead", "campagne"),
        },
        "stage": {
            "en": ("stage", "phase", "deal stage", "sales stage", "pipeline stage", "stage name", "step"),
            "nl": ("fase", "stadium", "verkoopfase", "dealfase", "stap"),
            "de": ("phase", "stufe", "verkaufsphase", "vertriebsphase", "stadium"),
            "fr": ("etape", "phase", "etape de vente", "stade", "etape commerciale"),
        },
        "status": {
            "en": ("status", "deal status", "outcome", "result", "won lost", "win loss"),
            "nl": ("uitkomst", "resultaat", "dealstatus"),
            "de": ("ergebnis", "zustand", "deal status"),
            "fr": ("statut", "resultat", "issue", "etat"),
        },
        "created": {
            "en": (
                "created",
                "created on",
                "created at",
                "created date",
                "create date",
                "creation date",
                "date created",
                "opened",
                "opened on",
                "open date",
                "date opened",
                "start date",
                "started",
            ),
            "nl": ("aangemaakt", "aangemaakt op", "aanmaakdatum", "datum aangemaakt", "geopend op", "startdatum"),
            "de": ("erstellt", "erstellt am", "erstelldatum", "erstellungsdatum", "angelegt am", "eroffnet am"),
            "fr": ("cree le", "date de creation", "cree", "ouvert le", "date d ouverture", "creation"),
        },
        "closed": {
            "en": (
                "closed on",
                "closed at",
                "closed date",
                "date closed",
                "actual close date",
                "actual close",
                "closed",
            ),
            "nl": ("gesloten op", "afgesloten op", "datum gesloten", "datum afgesloten"),
            "de": ("abgeschlossen am", "geschlossen am", "tatsachliches abschlussdatum"),
            "fr": ("ferme le", "cloture le", "date de fermeture", "date de cloture reelle"),
        },
        "close_date": {
            "en": ("close date", "closing date", "close"),
            "nl": ("sluitdatum", "afsluitdatum"),
            "de": ("abschlussdatum", "abschluss"),
            "fr": ("date de cloture", "cloture"),
        },
        "expected_close": {
            "en": (
                "expected close",
                "expected close date",
                "expected closing date",
                "forecast close date",
                "target close date",
                "estimated close date",
                "est close date",
            ),
            "nl": ("verwachte sluitdatum", "verwachte afsluitdatum", "verwacht afgesloten"),
            "de": ("erwartetes abschlussdatum", "voraussichtlicher abschluss", "geplanter abschluss"),
            "fr": ("date de cloture prevue", "cloture prevue", "date prevue"),
        },
        "amount": {
            "en": (
                "amount",
                "value",
                "deal value",
                "deal amount",
                "deal size",
                "opportunity amount",
                "total amount",
                "contract value",
                "order value",
            ),
            "nl": ("bedrag", "waarde", "dealwaarde", "totaalbedrag", "orderwaarde", "contractwaarde"),
            "de": ("betrag", "wert", "auftragswert", "gesamtbetrag", "volumen", "dealwert", "auftragsvolumen"),
            "fr": ("montant", "valeur", "montant total", "montant de l affaire", "valeur de l affaire"),
        },
        "currency": {
            "en": ("currency", "currency code", "ccy", "cur"),
            "nl": ("valuta", "munteenheid"),
            "de": ("wahrung", "wahrungscode"),
            "fr": ("devise", "monnaie"),
        },
        "probability": {
            "en": ("probability", "win probability", "prob", "likelihood", "chance of winning", "win chance"),
            "nl": ("kans", "slagingskans", "winkans", "waarschijnlijkheid", "kans op succes"),
            "de": ("wahrscheinlichkeit", "abschlusswahrscheinlichkeit", "erfolgswahrscheinlichkeit"),
            "fr": ("probabilite", "chance", "probabilite de gain"),
        },
        "name": {
            "en": ("name", "deal name", "opportunity name", "title", "deal title", "subject", "topic"),
            "nl": ("naam", "dealnaam", "omschrijving", "titel", "onderwerp"),
            "de": ("bezeichnung", "titel", "betreff", "dealname", "name der verkaufschance"),
            "fr": ("nom", "intitule", "titre", "nom de l affaire", "objet", "libelle"),
        },
        "account": {
            "en": ("account", "account name", "customer", "customer name", "client", "company", "end customer"),
            "nl": ("klant", "klantnaam", "eindklant", "bedrijf", "organisatie", "relatie"),
            "de": ("kunde", "kundenname", "endkunde", "firma", "unternehmen", "konto"),
            "fr": ("client", "nom du client", "client final", "societe", "entreprise", "compte"),
        },
        "product": {
            "en": ("product", "product name", "item", "sku"),
            "nl": ("product", "artikel", "productnaam"),
            "de": ("produkt", "artikel", "produktname"),
            "fr": ("produit", "article", "nom du produit"),
        },
        "won_flag": {
            "en": ("is won", "won flag"),
            "nl": ("is gewonnen",),
            "de": ("ist gewonnen",),
            "fr": ("est gagne",),
        },
    }
)

#: canonical column -> language -> words that mean it less surely (a reading to confirm).
HINTS: MappingProxyType[str, dict[str, tuple[str, ...]]] = MappingProxyType(
    {
        "deal_id": {"en": ("number", "no", "nr", "key", "code"), "nl": ("nummer", "nr"), "de": ("nummer", "nr")},
        "amount": {
            "en": ("revenue", "total", "price", "sales"),
            "nl": ("omzet", "prijs", "totaal"),
            "de": ("umsatz", "summe", "preis"),
            "fr": ("chiffre d affaires", "ca", "prix", "total"),
        },
        "owner": {"en": ("user", "employee", "agent", "manager"), "nl": ("medewerker",), "de": ("mitarbeiter",)},
        "partner": {"en": ("channel account", "via"), "nl": ("via",)},
        "account": {"en": ("organization", "organisation", "org"), "de": ("organisation",), "fr": ("organisation",)},
    }
)

#: Headers that look like a canonical column but mean something else, and why.
NOT_COLUMNS = MappingProxyType(
    {
        "expected revenue": "an expected revenue is the amount weighted by probability, not the deal's amount",
        "weighted amount": "a weighted amount is a forecast, not the deal's amount",
        "weighted value": "a weighted value is a forecast, not the deal's amount",
        "weighted revenue": "a weighted revenue is a forecast, not the deal's amount",
        "forecast amount": "a forecast amount is not the deal's amount",
        "gewogen bedrag": "a weighted amount (Dutch) is a forecast, not the deal's amount",
        "gewogen waarde": "a weighted value (Dutch) is a forecast, not the deal's amount",
        "verwachte omzet": "an expected revenue (Dutch) is a forecast, not the deal's amount",
        "gewichteter betrag": "a weighted amount (German) is a forecast, not the deal's amount",
        "gewichteter wert": "a weighted value (German) is a forecast, not the deal's amount",
        "erwarteter umsatz": "an expected revenue (German) is a forecast, not the deal's amount",
        "montant pondere": "a weighted amount (French) is a forecast, not the deal's amount",
        "revenu attendu": "an expected revenue (French) is a forecast, not the deal's amount",
        "chiffre d affaires attendu": "an expected revenue (French) is a forecast, not the deal's amount",
        "account id": "the id of the customer, not of the deal",
        "customer id": "the id of the customer, not of the deal",
        "customer number": "the number of the customer, not of the deal",
        "contact id": "the id of a contact, not of the deal",
        "partner id": "the id of the partner, not of the deal",
        "owner id": "the id of the owner, not of the deal",
        "klant id": "the id of the customer (Dutch), not of the deal",
        "klantnummer": "the number of the customer (Dutch), not of the deal",
        "kundennummer": "the number of the customer (German), not of the deal",
        "kunden id": "the id of the customer (German), not of the deal",
        "numero client": "the number of the customer (French), not of the deal",
        "id client": "the id of the customer (French), not of the deal",
        "modified": "the date of the last change, not a date of the deal's life",
        "last modified": "the date of the last change, not a date of the deal's life",
        "modified on": "the date of the last change, not a date of the deal's life",
        "updated": "the date of the last change, not a date of the deal's life",
        "updated at": "the date of the last change, not a date of the deal's life",
        "last activity": "the date of the last activity, not a date of the deal's life",
        "gewijzigd op": "the date of the last change (Dutch), not a date of the deal's life",
        "laatst gewijzigd": "the date of the last change (Dutch), not a date of the deal's life",
        "geandert am": "the date of the last change (German), not a date of the deal's life",
        "zuletzt geandert": "the date of the last change (German), not a date of the deal's life",
        "modifie le": "the date of the last change (French), not a date of the deal's life",
        "derniere modification": "the date of the last change (French), not a date of the deal's life",
        "email": "an e-mail address",
        "e mail": "an e-mail address",
        "phone": "a phone number",
        "telefoon": "a phone number (Dutch)",
        "telefon": "a phone number (German)",
        "telephone": "a phone number",
        "notes": "free text",
        "note": "free text",
        "comments": "free text",
        "comment": "free text",
        "description": "free text",
        "opmerking": "free text (Dutch)",
        "opmerkingen": "free text (Dutch)",
        "notiz": "free text (German)",
        "kommentar": "free text (German)",
        "beschreibung": "free text (German)",
        "remarque": "free text (French)",
        "commentaire": "free text (French)",
        "next step": "the next step is free text, not the stage",
        "volgende stap": "the next step (Dutch) is free text, not the stage",
        "nachster schritt": "the next step (German) is free text, not the stage",
        "prochaine etape": "the next step (French) is free text, not the stage",
        "stage duration": "the time spent in a stage, not the stage",
        "days in stage": "the time spent in a stage, not the stage",
        "age": "the age of the deal in days, not a date or an amount",
        "quantity": "a quantity, not money",
        "qty": "a quantity, not money",
        "aantal": "a quantity (Dutch), not money",
        "anzahl": "a quantity (German), not money",
        "menge": "a quantity (German), not money",
        "quantite": "a quantity (French), not money",
        "discount": "a discount, not the deal's amount",
        "korting": "a discount (Dutch), not the deal's amount",
        "rabatt": "a discount (German), not the deal's amount",
        "remise": "a discount (French), not the deal's amount",
        "row": "a row number",
        "row number": "a row number",
        "line": "a line number",
        "rij": "a row number (Dutch)",
        "zeile": "a row number (German)",
        "ligne": "a row number (French)",
    }
)

#: Short forms of header words, read as the word they stand for (``Amt``, ``Cls Dt``, ``Opp #``).
ABBREVIATIONS = MappingProxyType(
    {
        "#": "no",
        "amt": "amount",
        "acct": "account",
        "acc": "account",
        "cust": "customer",
        "dt": "date",
        "cls": "close",
        "crt": "created",
        "stg": "stage",
        "prob": "probability",
        "ccy": "currency",
        "ptnr": "partner",
        "bedr": "bedrag",
        "ref": "ref",
        "nbr": "number",
        "num": "number",
        "qty": "quantity",
        "mgr": "manager",
        "val": "value",
        "nr": "nr",
    }
)

#: Leading words of a header that name the record rather than the field (``Deal - Value``).
PREFIXES: tuple[str, ...] = (
    "deal",
    "deals",
    "opportunity",
    "opp",
    "oppty",
    "kans",
    "verkaufschance",
    "chance",
    "affaire",
    "opportunite",
    "crm",
)

#: Words for a deal record, singular and plural: ``Chancen-Nr.``, ``Kans nr``, ``N° d'affaire``
#: (with a word of :data:`NUMBER_WORDS` before or after) name the deal id.
DEAL_WORDS: frozenset[str] = frozenset(
    {
        *PREFIXES,
        "opportunities",
        "opps",
        "kansen",
        "verkaufschancen",
        "chancen",
        "affaires",
        "opportunites",
    }
)

#: Words and abbreviations for "number" (``Nr.``, ``No.``, ``n°``, ``#``, ``Nummer``, ``numéro``).
NUMBER_WORDS: frozenset[str] = frozenset({"nr", "no", "n", "nummer", "number", "numero", "nro", "num", "nbr"})

#: Small words between the two (``N° d'affaire``, ``Nummer der Chance``).
LINK_WORDS: frozenset[str] = frozenset({"d", "de", "du", "des", "der", "van", "of"})

#: Words of a header that say nothing about its meaning (``Bedrag excl. BTW``, ``Amount in EUR``).
NOISE_WORDS: frozenset[str] = frozenset(
    {
        "in",
        "the",
        "of",
        "excl",
        "incl",
        "ex",
        "btw",
        "vat",
        "mwst",
        "ust",
        "ht",
        "ttc",
        "net",
        "netto",
        "gross",
        "brutto",
    }
)

#: reading -> language -> stage or status values that say it.
STAGES: MappingProxyType[str, dict[str, tuple[str, ...]]] = MappingProxyType(
    {
        "won": {
            "en": ("won", "closed won", "win", "signed", "booked", "closed - won", "won deal", "ordered"),
            "nl": ("gewonnen", "getekend", "akkoord", "opdracht", "gescoord", "binnen"),
            "de": ("gewonnen", "auftrag erhalten", "auftrag", "unterschrieben", "abgeschlossen gewonnen"),
            "fr": ("gagne", "gagnee", "signe", "signee", "remporte", "commande", "conclu"),
        },
        "lost": {
            "en": (
                "lost",
                "closed lost",
                "loss",
                "dead",
                "disqualified",
                "no deal",
                "rejected",
                "declined",
                "cancelled",
                "canceled",
                "abandoned",
                "no decision",
            ),
            "nl": ("verloren", "afgewezen", "geen deal", "geannuleerd", "afgehaakt", "niet doorgegaan"),
            "de": ("verloren", "abgelehnt", "kein auftrag", "storniert", "abgebrochen", "abgesagt"),
            "fr": ("perdu", "perdue", "refuse", "refusee", "annule", "annulee", "abandonne", "sans suite"),
        },
        "open": {
            "en": (
                "open",
                "new",
                "lead",
                "prospect",
                "prospecting",
                "qualifying",
                "qualified",
                "qualification",
                "discovery",
                "demo",
                "evaluation",
                "proposal",
                "proposal sent",
                "quote",
                "quoted",
                "quote sent",
                "negotiating",
                "negotiation",
                "in negotiation",
                "contract sent",
                "commit",
                "pending",
                "in progress",
                "on hold",
                "active",
                "needs analysis",
                "presentation",
            ),
            "nl": (
                "open",
                "nieuw",
                "lead",
                "prospect",
                "kwalificatie",
                "kwalificeren",
                "gekwalificeerd",
                "offerte",
                "offerte verstuurd",
                "voorstel",
                "onderhandeling",
                "in onderhandeling",
                "onderhandelen",
                "demo",
                "lopend",
                "in behandeling",
                "behoefteanalyse",
            ),
            "de": (
                "offen",
                "neu",
                "lead",
                "erstkontakt",
                "qualifizierung",
                "qualifiziert",
                "bedarfsanalyse",
                "angebot",
                "angebot versendet",
                "angebot erstellt",
                "verhandlung",
                "in verhandlung",
                "verhandeln",
                "demo",
                "prasentation",
                "in bearbeitung",
                "laufend",
            ),
            "fr": (
                "ouvert",
                "ouverte",
                "nouveau",
                "nouvelle",
                "prospect",
                "prospection",
                "qualification",
                "qualifie",
                "qualifiee",
                "decouverte",
                "proposition",
                "proposition envoyee",
                "devis",
                "devis envoye",
                "negociation",
                "en negociation",
                "demo",
                "en cours",
                "en attente",
            ),
        },
    }
)

#: Values of a plain status column (the outcome, not a step of the pipeline): a column holding
#: only these is a status; one that also holds stage names (``Proposal``) is a stage.
STATUS_VALUES: tuple[str, ...] = (
    "open",
    "won",
    "lost",
    "closed won",
    "closed lost",
    "gewonnen",
    "verloren",
    "lopend",
    "in behandeling",
    "offen",
    "laufend",
    "in bearbeitung",
    "gagne",
    "gagnee",
    "perdu",
    "perdue",
    "ouvert",
    "ouverte",
    "en cours",
    "en attente",
    "pending",
    "in progress",
    "on hold",
    "active",
)

#: Words of a stage that is over without saying how (needs a reading: won or lost?).
CLOSED_WORDS: tuple[str, ...] = (
    "closed",
    "close",
    "done",
    "finished",
    "completed",
    "afgesloten",
    "gesloten",
    "afgerond",
    "abgeschlossen",
    "geschlossen",
    "erledigt",
    "ferme",
    "fermee",
    "cloture",
    "cloturee",
    "termine",
    "terminee",
)
