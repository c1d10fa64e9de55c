"""What each CRM's export calls things: header aliases, detection signatures, outcome vocabularies.

This is the only module that knows vendor column names. Everything after ``load_crm`` uses the
canonical names of :mod:`channelkpi.schema`.

Roles
-----
Besides the canonical columns, a preset can map headers to these roles:

``close_date``
    a date that is the actual close date of won/lost deals and the expected one of open deals
    (Salesforce ``Close Date``, HubSpot ``Close Date``, Zoho ``Closing Date``);
``won_flag`` / ``closed_flag``
    booleans such as Salesforce ``IsWon`` / ``IsClosed``;
``status_reason``
    a finer outcome (Dynamics 365 ``Status Reason``), used when ``status`` is blank;
``won_time`` / ``lost_time``
    Pipedrive's separate won and lost timestamps;
``won_amount``
    the realised amount of won deals (Dynamics 365 ``Actual Revenue``).

The deal's own record (``name``, ``account``, ``product``) is mapped last, so a header that
could feed a role the KPIs read is never taken for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType

from .wording_notes import (
    DYNAMICS_EXCEL,
    GENERIC_TABLE,
    HUBSPOT_DEALS,
    PIPEDRIVE_DEALS,
    SALESFORCE_API,
    SALESFORCE_REPORT,
    ZOHO_DEALS,
)

__all__ = [
    "BY_NAME",
    "DEFAULT_STAGE_MAP",
    "DEFAULT_STAGE_PROBABILITY",
    "GENERIC",
    "PRESETS",
    "Preset",
    "ROLES",
    "STATUS_WORDS",
    "norm",
]


def norm(header: object) -> str:
    """Normalise a header or value for matching: lower case, single spaces, no quotes/BOM.

    >>> norm('  "Deal  Stage" ')
    'deal stage'
    """
    text = str(header).replace("\ufeff", "").strip().strip('"').strip()
    return re.sub(r"\s+", " ", text).lower()


#: Roles a header can be mapped to (canonical columns plus the helper roles above).
ROLES: tuple[str, ...] = (
    "deal_id",
    "partner",
    "owner",
    "department",
    "unit",
    "channel",
    "source",
    "stage",
    "status",
    "created",
    "closed",
    "expected_close",
    "amount",
    "currency",
    "probability",
    "close_date",
    "won_flag",
    "closed_flag",
    "status_reason",
    "won_time",
    "lost_time",
    "won_amount",
    "name",
    "account",
    "product",
)

#: Outcome words found in status columns, in several languages.
STATUS_WORDS = MappingProxyType(
    {
        "won": "won",
        "win": "won",
        "closed won": "won",
        "gewonnen": "won",
        "gagné": "won",
        "gagne": "won",
        "ganado": "won",
        "ganho": "won",
        "vinto": "won",
        "vyhraný": "won",
        "vyhraný obchod": "won",
        "wygrany": "won",
        "vunnet": "won",
        "voitettu": "won",
        "lost": "lost",
        "closed lost": "lost",
        "verloren": "lost",
        "perdu": "lost",
        "perdido": "lost",
        "perso": "lost",
        "prohraný": "lost",
        "przegrany": "lost",
        "tabt": "lost",
        "tapt": "lost",
        "förlorad": "lost",
        "menetetty": "lost",
        "open": "open",
        "offen": "open",
        "ouvert": "open",
        "abierto": "open",
        "aberto": "open",
        "aperto": "open",
        "otevřený": "open",
        "otwarty": "open",
        "öppen": "open",
        "avoin": "open",
        "in progress": "open",
        "on hold": "open",
        "active": "open",
        "pending": "open",
        # Dynamics 365 status reasons
        "canceled": "lost",
        "cancelled": "lost",
        "out-sold": "lost",
        "outsold": "lost",
    }
)

#: Default stage -> outcome map for the standard stages of the supported CRMs. Keys are
#: normalised (see :func:`norm`); any stage missing here needs ``stage_map=`` unless it is open.
DEFAULT_STAGE_MAP = MappingProxyType(
    {
        # Salesforce
        "closed won": "won",
        "closed lost": "lost",
        "closed/won": "won",
        "closed/lost": "lost",
        "closed - won": "won",
        "closed - lost": "lost",
        "won": "won",
        "lost": "lost",
        "closed - lost to competitor": "lost",
        "prospecting": "open",
        "qualification": "open",
        "needs analysis": "open",
        "value proposition": "open",
        "id. decision makers": "open",
        "perception analysis": "open",
        "proposal/price quote": "open",
        "negotiation/review": "open",
        # HubSpot labels and internal ids
        "appointment scheduled": "open",
        "qualified to buy": "open",
        "presentation scheduled": "open",
        "decision maker bought-in": "open",
        "contract sent": "open",
        "appointmentscheduled": "open",
        "qualifiedtobuy": "open",
        "presentationscheduled": "open",
        "decisionmakerboughtin": "open",
        "contractsent": "open",
        "closedwon": "won",
        "closedlost": "lost",
        # Zoho
        "identify decision makers": "open",
        "closed lost to competition": "lost",
        "closed-won": "won",
        "closed-lost": "lost",
        # Dynamics 365 business-process stages (outcome comes from Status)
        "qualify": "open",
        "develop": "open",
        "propose": "open",
        "close": "open",
        # Pipedrive default pipeline
        "lead in": "open",
        "contact made": "open",
        "demo scheduled": "open",
        "proposal made": "open",
        "negotiations started": "open",
    }
)

#: Default probability (0-1) of standard stages, used when an export has no probability column.
DEFAULT_STAGE_PROBABILITY = MappingProxyType(
    {
        "appointment scheduled": 0.2,
        "appointmentscheduled": 0.2,
        "qualified to buy": 0.4,
        "qualifiedtobuy": 0.4,
        "presentation scheduled": 0.6,
        "presentationscheduled": 0.6,
        "decision maker bought-in": 0.8,
        "decisionmakerboughtin": 0.8,
        "contract sent": 0.9,
        "contractsent": 0.9,
        "prospecting": 0.1,
        "qualification": 0.1,
        "needs analysis": 0.2,
        "value proposition": 0.5,
        "id. decision makers": 0.6,
        "identify decision makers": 0.6,
        "perception analysis": 0.7,
        "proposal/price quote": 0.75,
        "negotiation/review": 0.9,
    }
)

# Headers that mean the same thing in most exports (custom fields, generic files).
_COMMON: dict[str, tuple[str, ...]] = {
    "deal_id": ("deal_id", "deal id", "opportunity id", "record id", "id"),
    "partner": (
        "partner",
        "partner name",
        "partner account",
        "partner account name",
        "channel partner",
        "reseller",
        "partner company",
        "distributor",
        "sourcing partner",
        "deal partner",
    ),
    "owner": ("owner", "deal owner", "opportunity owner", "sales rep", "salesperson", "account manager", "employee"),
    "department": ("department", "team", "sales team", "division", "owner role", "role"),
    "unit": ("unit", "business unit", "region", "territory", "territory region", "sales region", "territory name"),
    "channel": ("channel", "marketing channel", "channel segment"),
    "source": (
        "source",
        "lead source",
        "original source",
        "original traffic source",
        "campaign",
        "source campaign",
        "campaign source",
    ),
    "stage": ("stage", "deal stage", "stage name", "pipeline stage", "sales stage"),
    "status": ("status", "deal status", "outcome", "result"),
    "created": (
        "created",
        "created date",
        "create date",
        "created on",
        "creation date",
        "date created",
        "created at",
        "created time",
    ),
    "closed": ("closed date", "date closed", "closed at", "closed on", "actual close date"),
    "close_date": ("close date", "closing date"),
    "expected_close": (
        "expected close",
        "expected close date",
        "est. close date",
        "estimated close date",
        "forecast close date",
    ),
    "amount": ("amount", "value", "deal value", "deal amount", "total amount", "opportunity amount"),
    "currency": (
        "currency",
        "currency code",
        "currency iso code",
        "deal currency",
        "deal currency code",
        "opportunity currency",
    ),
    "probability": ("probability", "probability (%)", "win probability", "deal probability"),
    "name": ("name", "deal name", "opportunity name", "deal title", "title", "topic", "opportunity"),
    "account": (
        "account",
        "account name",
        "customer",
        "customer name",
        "potential customer",
        "company",
        "company name",
        "associated company",
        "organization",
        "organization name",
        "organisation",
        "client",
    ),
    "product": ("product", "product name", "associated product"),
    "won_flag": ("won", "is won", "iswon", "is closed won"),
    "closed_flag": ("closed", "is closed", "isclosed"),
}


@dataclass(frozen=True)
class Preset:
    """How one CRM's deal export looks."""

    name: str
    label: str
    #: headers (normalised) that only this CRM's exports have; used to detect the preset
    signature: frozenset[str]
    #: role -> headers (normalised), most preferred first; tried before the common aliases
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: header prefixes that identify the preset (Pipedrive's "deal - ")
    prefixes: tuple[str, ...] = ()
    #: header prefixes of columns to drop before mapping
    drop_prefixes: tuple[str, ...] = ()
    #: how an amount-bearing header names its currency companion ("Amount Currency")
    currency_suffix: str | None = None
    note: str = ""

    def score(self, headers: list[str]) -> int:
        """How many of ``headers`` (normalised) are distinctive for this preset."""
        n = sum(1 for h in headers if h in self.signature)
        if self.prefixes:
            n += sum(1 for h in headers if h.startswith(self.prefixes))
        return n

    def candidates(self, role: str) -> tuple[str, ...]:
        own = self.aliases.get(role, ())
        return own + tuple(h for h in _COMMON.get(role, ()) if h not in own)


_pd_fields = {
    "deal_id": ("id",),
    "partner": ("partner", "partner name", "nazwa partnera", "partner company"),
    "owner": ("owner", "owner name", "besitzer", "vlastník"),
    "department": ("team", "department"),
    "unit": ("region", "territory", "unit", "business unit"),
    "channel": ("channel",),
    "source": ("source", "source channel", "lead source", "quelle", "zdroj"),
    "stage": ("stage", "phase", "fáze"),
    "status": ("status", "stav"),
    "created": (
        "deal created",
        "creation date",
        "add time",
        "created",
        "erstellungsdatum",
        "deal erstellt",
        "vytvořeno",
    ),
    "closed": ("deal closed on", "closed on", "close time", "abgeschlossen am"),
    "won_time": ("won time", "datum des gewonnenen deals", "won date"),
    "lost_time": ("lost time", "datum des verlorenen deals", "lost date"),
    "expected_close": ("expected close date", "erwartetes abschlussdatum", "očekávané datum uzavření"),
    "amount": ("value", "wert", "hodnota"),
    "currency": ("currency", "currency of value", "währung", "měna"),
    "probability": ("probability", "wahrscheinlichkeit", "pravděpodobnost"),
    "name": ("title", "titel", "název"),
    "account": ("organization", "organisation", "organization name", "organizace"),
    "product": ("product", "product name", "produkt"),
}
_PD_PREFIXES = ("deal - ", "obchod - ")
# the organisation's own fields, when the export includes them ("Organization - Name")
_PD_ACCOUNT = ("organization - name", "organisation - name", "organizace - název")

PRESETS: tuple[Preset, ...] = (
    Preset(
        name="salesforce_report",
        label=SALESFORCE_REPORT,
        signature=frozenset(
            {
                "opportunity name",
                "opportunity owner",
                "opportunity id",
                "amount currency",
                "fiscal period",
                "opportunity currency",
                "age",
                "amount (converted)",
                "amount (converted) currency",
                "total amount currency",
                "created date",
                "territory region",
                "partner account",
                "owner role",
            }
        ),
        aliases={
            "deal_id": ("opportunity id", "opportunity id (18)", "id"),
            "owner": ("opportunity owner", "owner full name"),
            "partner": ("partner account", "partner account name", "partner"),
            "source": ("lead source", "primary campaign source"),
            "stage": ("stage",),
            "won_flag": ("won",),
            "closed_flag": ("closed",),
            "created": ("created date",),
            "close_date": ("close date",),
            # an "Opportunities with Products" report repeats the opportunity's Amount on every
            # product line; its Total Price is the line's own amount, which sums to the deal's
            "amount": ("total price (converted)", "total price", "amount (converted)", "amount", "total amount"),
            "probability": ("probability (%)", "probability"),
            "name": ("opportunity name",),
            "account": ("account name",),
            "product": ("product name", "product"),
        },
        currency_suffix=" currency",
        note="Close Date is the actual close date of closed deals and the expected one of open deals",
    ),
    Preset(
        name="salesforce_api",
        label=SALESFORCE_API,
        signature=frozenset(
            {
                "stagename",
                "iswon",
                "isclosed",
                "closedate",
                "createddate",
                "leadsource",
                "ownerid",
                "accountid",
                "forecastcategory",
                "forecastcategoryname",
                "expectedrevenue",
                "isdeleted",
                "currencyisocode",
                "partneraccountid",
                "lastmodifieddate",
                "opportunityid",
            }
        ),
        aliases={
            # a row with an OpportunityId is about that opportunity (a history or line-item
            # record, whose own Id is not the deal's)
            "deal_id": ("opportunityid", "id"),
            "owner": ("owner.name", "ownerid"),
            "partner": ("partneraccount.name", "partneraccountid"),
            "source": ("leadsource",),
            "stage": ("stagename",),
            "won_flag": ("iswon",),
            "closed_flag": ("isclosed",),
            "created": ("createddate",),
            "close_date": ("closedate",),
            "amount": ("amount",),
            "currency": ("currencyisocode",),
            "probability": ("probability",),
            "name": ("name", "opportunity.name"),
            # the account's name when the export has the lookup, else its id (still one customer)
            "account": ("account.name", "accountid"),
            "product": ("product2.name", "product2id"),
        },
        note="CloseDate is the actual close date of closed deals and the expected one of open deals",
    ),
    Preset(
        name="hubspot",
        label=HUBSPOT_DEALS,
        signature=frozenset(
            {
                "deal stage",
                "dealstage",
                "dealname",
                "deal name",
                "createdate",
                "hubspot_owner_id",
                "hs_object_id",
                "amount in company currency",
                "is closed won",
                "hs_is_closed_won",
                "hs_is_closed",
                "is closed",
                "deal probability",
                "hs_deal_stage_probability",
                "create date",
                "pipeline",
                "deal type",
                "dealtype",
                "original traffic source",
                "hs_analytics_source",
                "deal currency code",
                "deal_currency_code",
                "amount_in_home_currency",
            }
        ),
        aliases={
            "deal_id": ("record id", "hs_object_id", "deal id"),
            "owner": ("deal owner", "hubspot_owner_id"),
            "department": ("hubspot team", "hubspot_team_id", "team"),
            "partner": ("partner", "channel partner", "partner name", "partner company"),
            "source": ("original traffic source", "original source", "hs_analytics_source", "source"),
            "stage": ("deal stage", "dealstage"),
            "won_flag": ("is closed won", "hs_is_closed_won"),
            "closed_flag": ("is closed", "hs_is_closed"),
            "created": ("create date", "createdate"),
            "close_date": ("close date", "closedate"),
            "amount": ("amount in company currency", "amount_in_home_currency", "amount"),
            "currency": ("deal currency code", "deal_currency_code", "currency"),
            "probability": ("deal probability", "hs_deal_stage_probability"),
            "name": ("deal name", "dealname"),
            "account": ("associated company", "associated company (primary)", "company name", "company"),
            "product": ("associated product", "product"),
        },
        note="Close Date of an open deal is only an expected date (it defaults to the end of the creation month)",
    ),
    Preset(
        name="pipedrive",
        label=PIPEDRIVE_DEALS,
        signature=frozenset(),
        prefixes=_PD_PREFIXES,
        aliases={
            role: tuple(p + h for h in heads for p in _PD_PREFIXES) + (_PD_ACCOUNT if role == "account" else ())
            for role, heads in _pd_fields.items()
        },
        note="Deal - Status says open/won/lost; won and lost times give the close date",
    ),
    Preset(
        name="dynamics365",
        label=DYNAMICS_EXCEL,
        signature=frozenset(
            {
                "status reason",
                "est. revenue",
                "est. close date",
                "actual revenue",
                "actual close date",
                "potential customer",
                "topic",
                "created on",
                "rating",
                "forecast category",
                "purchase timeframe",
                "purchase process",
                "price list",
                "customer need",
                "proposed solution",
                "source campaign",
            }
        ),
        prefixes=("(do not modify)",),
        drop_prefixes=("(do not modify)",),
        aliases={
            "deal_id": ("(do not modify) opportunity", "opportunity id", "opportunityid"),
            "owner": ("owner",),
            "partner": ("partner", "partner account", "channel partner"),
            "source": ("source campaign", "lead source", "source"),
            "stage": ("sales stage", "pipeline phase"),
            "status": ("status",),
            "status_reason": ("status reason",),
            "created": ("created on",),
            "closed": ("actual close date",),
            "expected_close": ("est. close date",),
            "won_amount": ("actual revenue",),
            "amount": ("est. revenue",),
            "currency": ("currency",),
            "probability": ("probability",),
            "name": ("topic", "name"),
            "account": ("potential customer", "customerid", "account"),
            "product": ("product", "existing product"),
        },
        note="won deals use Actual Revenue, open and lost deals Est. Revenue; 'Revenue' is the "
        "revenue-calculation mode, not money, and is ignored",
    ),
    Preset(
        name="zoho",
        label=ZOHO_DEALS,
        signature=frozenset(
            {
                "closing date",
                "created time",
                "modified time",
                "campaign source",
                "contact name",
                "deal owner",
                "expected revenue",
                "created by",
                "modified by",
                "record id",
            }
        ),
        aliases={
            "deal_id": ("record id", "deal id", "id"),
            "owner": ("deal owner",),
            "partner": ("partner", "partner name", "channel partner"),
            "source": ("lead source", "campaign source"),
            "stage": ("stage",),
            "created": ("created time",),
            "close_date": ("closing date",),
            "amount": ("amount",),
            "probability": ("probability (%)", "probability"),
            "name": ("deal name",),
            "account": ("account name",),
            "product": ("product name", "product"),
        },
        note="the outcome comes from Stage through the stage map (Zoho's Deal Category is not exported)",
    ),
)

#: The preset for any other table: canonical or common header names plus ``columns=``.
GENERIC = Preset(
    name="generic",
    label=GENERIC_TABLE,
    signature=frozenset(),
)

BY_NAME = MappingProxyType({p.name: p for p in (*PRESETS, GENERIC)})
