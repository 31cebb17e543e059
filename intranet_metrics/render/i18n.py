"""Languages of the human formats: one catalogue object per language, no global switch.

JSON has no language. Every human renderer is given a ``Lang`` and builds each word,
number and date in that language directly: words from the language's catalogue (English
text -> its translation; English is the source language, so its catalogue is the identity),
numbers and dates through babel (``51,1%`` and ``1 januari 2026`` in Dutch). Warnings are
phrased from their code (notices.py) with the catalogue's sentence for that code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..notices import Notice, coded, values

LANGUAGES = ("en", "nl")

# English text -> Dutch. Keys are the exact English strings the renderers use (a few are
# keys of a longer text, below in EN_TEXT); a missing key falls back to the English text
# (never to an empty cell).
NL: dict[str, str] = {
    # tiers and the ladder
    "reader": "lezer",
    "reactor": "reageerder",
    "contributor": "bijdrager",
    "Reader": "Lezer",
    "Reactor": "Reageerder",
    "Contributor": "Bijdrager",
    "Readers": "Lezers",
    "Reactors": "Reageerders",
    "Contributors": "Bijdragers",
    "Inactive": "Inactief",
    "Reader only": "Alleen lezer",
    "Reactor only": "Alleen reageerder",
    "Ladder (each person once)": "Ladder (ieder persoon één keer)",
    # table headers
    "Tier": "Niveau",
    "People": "Personen",
    "Rate": "Aandeel",
    "95% interval": "95%-interval",
    "Goal": "Doel",
    "Status": "Status",
    "Baseline": "Nulmeting",
    "Current": "Nu",
    "Change": "Verschil",
    "p (exact)": "p (exact)",
    "Population": "Populatie",
    "Period": "Periode",
    "From": "Van",
    "To": "Tot en met",
    "Trend": "Verloop",
    # statuses and cell words
    "met (95% sure)": "gehaald (95% zeker)",
    "met": "gehaald",
    "not met": "niet gehaald",
    "no data": "geen gegevens",
    "suppressed": "onderdrukt",
    "Warning": "Waarschuwing",
    # population notes
    "population": "populatie",
    "identity coverage": "identiteitsdekking",
    "unmatched actors": "niet-gekoppelde accounts",
    "roster": "personeelslijst",
    "headcount": "opgegeven aantal",
    "observed": "waargenomen",
    "baseline": "nulmeting",
    "current": "nu",
    # HTML report
    "Intranet adoption report": "Rapport intranetgebruik",
    "Comparison with the baseline": "Vergelijking met de nulmeting",
    "Measurement": "Meting",
    "Trend per period": "Verloop per periode",
    "now": "nu",
    "goal": "doel",
    "gap to goal": "afstand tot doel",
    "goal reached": "doel gehaald",
    "no goal set": "geen doel gesteld",
    "since the baseline": "sinds de nulmeting",
    "a real change (p {p})": "een echte verandering (p {p})",
    "could be chance (p {p})": "kan toeval zijn (p {p})",
    "not tested": "niet getoetst",
    "Baseline and current, with 95% intervals and goals": (
        "Nulmeting en nu, met 95%-intervallen en doelen"
    ),
    "Rates with 95% intervals and goals": "Aandelen met 95%-intervallen en doelen",
    "The three rates per period": "De drie aandelen per periode",
    "Segments": "Groepen",
    "By {dim}": "Per {dim}",
    "Groups smaller than the minimum group size are suppressed (privacy).": (
        "Groepen kleiner dan de minimale groepsgrootte worden niet getoond (privacy)."
    ),
    "Appendix": "Bijlage",
    "Definitions": "Definities",
    "Population basis": "Basis van de populatie",
    "Identity coverage": "Identiteitsdekking",
    "Warnings": "Waarschuwingen",
    "No warnings.": "Geen waarschuwingen.",
    "Inputs": "Invoer",
    "File": "Bestand",
    "Format": "Formaat",
    "Events": "Gebeurtenissen",
    "Rejected": "Afgekeurd",
    "Tool": "Programma",
    "Generated": "Gemaakt",
    "Window": "Periode",
    "Test": "Toets",
    "def_reader": "Lezer: las in de periode minstens één keer iets op het intranet.",
    "def_reactor": "Reageerder: reageerde minstens één keer (like, reactie, stem) of droeg bij.",
    "def_contributor": "Bijdrager: plaatste minstens één bericht, pagina of bestand.",
    "def_rate": "Een aandeel is het aantal personen in dat niveau gedeeld door de "
    "populatie (de noemer), niet door het aantal actieve accounts.",
    "def_interval": "Het 95%-interval (Wilson) geeft de onzekerheid bij deze populatiegrootte.",
    "basis_roster": "De populatie is de HR-personeelslijst: iedereen die in de periode "
    "in dienst was.",
    "basis_headcount": "De populatie is een opgegeven aantal medewerkers (geen lijst): "
    "personen kunnen niet aan de nulmeting gekoppeld worden.",
    "basis_observed": "Geen personeelslijst: de populatie is wie in de gegevens "
    "voorkomt, dus de aandelen zijn te hoog.",
    "unmatched_note": "{n} accounts kwamen in de gegevens voor maar niet op de "
    "personeelslijst; zij tellen in geen enkel aandeel mee.",
    "coverage_note": "{pct} van de gebeurtenissen hoort bij een persoon op de personeelslijst.",
    "Suppressed": "Onderdrukt",
    "Goal met": "Doel gehaald",
    "Goal not met": "Doel niet gehaald",
    "Rate (%)": "Aandeel (%)",
    "Inequality and interaction": "Ongelijkheid en interactie",
    "Gini of contributions (0 equal, 1 one person)": (
        "Gini van de bijdragen (0 gelijk verdeeld, 1 één persoon)"
    ),
    "Share of contributions by the top 1% of contributors": (
        "Aandeel van de bijdragen door de top 1% van de bijdragers"
    ),
    "Share of contributions by the top 10% of contributors": (
        "Aandeel van de bijdragen door de top 10% van de bijdragers"
    ),
    "Thread starts answered by someone else within 7 days": (
        "Berichten binnen 7 dagen beantwoord door een ander"
    ),
    "Median hours to the first response": "Mediaan uren tot de eerste reactie",
    "Thread starts that never got a response": "Berichten die nooit een reactie kregen",
    "Broadcast share": "Aandeel zenden",
    "Replies per own post": "Reacties per eigen bericht",
    # tier definitions, bases and periods
    "fixed": "opgegeven aantal",
    "cumulative": "cumulatief",
    "independent": "onafhankelijk",
    "day": "dag",
    "week": "week",
    "month": "maand",
    "quarter": "kwartaal",
    "year": "jaar",
    # section titles and headers the sections build
    "{period} by {dim}": "{period} per {dim}",
    "By {dim}: baseline → current (change in pp)": "Per {dim}: nulmeting → nu (verschil in pp)",
    "By {dim}: inequality and interaction": "Per {dim}: ongelijkheid en interactie",
    "Trend per {period} ({tz})": "Verloop per {period} ({tz})",
    "Other metrics": "Overige maten",
    "Metric": "Maat",
    "Value": "Waarde",
    "Figure": "Kengetal",
    "Actual": "Werkelijk",
    "Segment": "Groep",
    "Goals on inequality and interaction": "Doelen voor ongelijkheid en interactie",
    "Goals per segment": "Doelen per groep",
    "The active people's ladder beside Nielsen's 90-9-1": (
        "De ladder van de actieve personen naast Nielsens 90-9-1"
    ),
    "Step": "Stap",
    "Share of the active": "Aandeel van de actieven",
    "lurkers": "alleen lezers",
    "intermittent": "af en toe",
    "heavy": "veel",
    "Leadership presence": "Aanwezigheid van leidinggevenden",
    "Group": "Groep",
    "Managers": "Leidinggevenden",
    "Everyone else": "Alle anderen",
    "threads with a manager taking part: {share} of {n} thread starts": (
        "gesprekken waaraan een leidinggevende deelnam: {share} van {n} gestarte gesprekken"
    ),
    "Gini": "Gini",
    "Top 10% share": "Aandeel top 10%",
    "Reply coverage": "Beantwoord",
    "Median hours to response": "Mediaan uren tot reactie",
    "The change in detail": "Het verschil in detail",
    "Stayers": "Blijvers",
    "Joiners": "Nieuwkomers",
    "Leavers": "Vertrekkers",
    "interval: {method}": "interval: {method}",
    "stayers + joiners + leavers (pp) = the change": (
        "blijvers + nieuwkomers + vertrekkers (pp) = het verschil"
    ),
    "tango-score": "Tango-score (gepaard)",
    "reader_only": "alleen lezer",
    "reactor_only": "alleen reageerder",
    "newcombe-hybrid-score": "Newcombe hybride score (ongepaard)",
    "Inequality and interaction: baseline → current": (
        "Ongelijkheid en interactie: nulmeting → nu"
    ),
    "How people come and go": "Hoe personen komen en gaan",
    "New": "Nieuw",
    "Returning": "Terugkerend",
    "Resurrecting": "Teruggekeerd",
    "Dormant": "Slapend",
    "Active days": "Actieve dagen",
    "new: first activity ever in the data; active days: mean distinct days per active "
    "person": "nieuw: voor het eerst actief in de gegevens; actieve dagen: gemiddeld aantal "
    "verschillende dagen per actief persoon",
    "{a} to {b} pp": "{a} tot {b} pp",
    "{n} h": "{n} u",
    # population and test notes
    "population {size} ({basis})": "populatie {size} ({basis})",
    "identity coverage {pct}": "identiteitsdekking {pct}",
    "unmatched actors {n}": "niet-gekoppelde accounts {n}",
    "baseline: {line}": "nulmeting: {line}",
    "current: {line}": "nu: {line}",
    "p: McNemar mid-p over the {stayers} people in both populations ({joiners} joined, "
    "{leavers} left since the baseline)": "p: McNemar mid-p over de {stayers} personen in "
    "beide populaties ({joiners} erbij, {leavers} vertrokken sinds de nulmeting)",
    "p: two-proportion z test over populations of different bases (not comparable)": (
        "p: z-toets voor twee aandelen over populaties met een verschillende basis "
        "(niet vergelijkbaar)"
    ),
    "p: two-proportion z test (unpaired: people could not be linked to the baseline)": (
        "p: z-toets voor twee aandelen (ongepaard: personen niet te koppelen aan de nulmeting)"
    ),
    "{start} .. {end} ({tz})": "{start} t/m {end} ({tz})",
    # figures (issue 13)
    "Communication team's share of all contributions": (
        "Aandeel van het communicatieteam in alle bijdragen"
    ),
    "Team replies to others per post of its own": (
        "Reacties van het team op anderen per eigen bericht"
    ),
    # HTML sections for issue 13's results
    "The change and its 95% interval": "Het verschil en het 95%-interval",
    "Change (pp)": "Verschil (pp)",
    "Where the change comes from": "Waar het verschil vandaan komt",
    "Contribution (pp)": "Bijdrage (pp)",
    "Active people per period": "Actieve personen per periode",
    "Rates of managers and everyone else": "Aandelen van leidinggevenden en alle anderen",
}


# Longer English texts the renderers name by a key (the Dutch ones are in NL).
EN_TEXT: dict[str, str] = {
    "def_reader": "Reader: read something on the intranet at least once in the window.",
    "def_reactor": "Reactor: reacted (like, comment, vote) or contributed at least once.",
    "def_contributor": "Contributor: posted a message, page or file at least once.",
    "def_rate": "A rate is the people in that tier over the population (the denominator), "
    "not over the active accounts.",
    "def_interval": "The 95% interval (Wilson) shows the uncertainty at this population size.",
    "basis_roster": "The population is the HR roster: everyone employed in the window.",
    "basis_headcount": "The population is a given headcount (no roster): people cannot be "
    "linked to the baseline.",
    "basis_observed": "No roster: the population is whoever appears in the data, so the "
    "rates are too high.",
    "unmatched_note": "{n} accounts appeared in the data but not on the roster; they count "
    "in no rate.",
    "coverage_note": "{pct} of the events belong to a person on the roster.",
}

# Warning code (notices.TEXT) -> its Dutch sentence. Numbers arrive formatted in Dutch,
# labels as the report names them in Dutch.
NL_WARNINGS: dict[str, str] = {
    "population_empty": (
        "{label}: de populatie is leeg (niemand in dienst in de periode); de aandelen zijn leeg"
    ),
    "no_events": (
        "{label}: er zijn geen getelde gebeurtenissen in deze periode; de aandelen zijn 0 "
        "omdat er niets voor is ingelezen of alles is uitgesloten: controleer of de exports "
        "deze periode bevatten"
    ),
    "no_events_no_data": (
        "{label}: er zijn geen getelde gebeurtenissen in deze periode; de aandelen staan als "
        "geen gegevens omdat er niets voor is ingelezen of alles is uitgesloten: controleer "
        "of de exports deze periode bevatten"
    ),
    "observed": (
        "geen personeelslijst en geen --population: de populatie is iedereen die in de "
        "gegevens voorkomt, dus de aandelen zijn een bovengrens"
    ),
    "pseudonymised_styles": (
        "{label}: de identiteiten zijn gepseudonimiseerd, dus is niet te zien of één persoon "
        "onder twee schrijfwijzen voorkomt (e-mail en DOMEIN\\account, of een chat-id); zonder "
        "personeelslijst telt zo iemand twee keer; voeg --roster BESTAND toe (met aliassen)"
    ),
    "identity_styles": (
        "{label}: accounts staan in {count} schrijfwijzen ({styles}); zonder personeelslijst "
        "telt iemand die in twee schrijfwijzen voorkomt als twee personen, dus de aandelen "
        "kunnen te hoog zijn en een waargenomen populatie is geen bovengrens; voeg --roster "
        "BESTAND toe (met de andere schrijfwijzen in de kolom aliases)"
    ),
    "concealed": (
        "{n} account(s) hebben een verborgen naam (gebruiksrapporten met de privacy-instelling "
        "van de tenant aan): zij zijn niet aan de personeelslijst te koppelen"
    ),
    "concealed_unmatched": (
        "{n} account(s) hebben een verborgen naam (gebruiksrapporten met de privacy-instelling "
        "van de tenant aan): zij zijn niet aan de personeelslijst te koppelen en tellen als "
        "niet-gekoppeld"
    ),
    "partial_aggregates": (
        "{n} regel(s) uit gebruiksrapporten vallen maar deels in {label} en zijn weggelaten; "
        "kies een periode die hele rapportperiodes bevat"
    ),
    "suppressed": (
        "{label}: de populatie van {size} is kleiner dan min_group_size {k}, dus elk aantal en "
        "aandeel wordt niet getoond (een aandeel van zo weinig personen zou laten zien wat "
        "ieder van hen deed)"
    ),
    "team_too_small": (
        "het communicatieteam heeft minder dan min_group_size {k} personen in de populatie: "
        "zijn aandeel in de bijdragen en zijn reacties per eigen bericht worden niet getoond"
    ),
    "segment_goals_no_breakdown": (
        "het doelenbestand stelt doelen per {dim}, maar de meting is niet uitgesplitst naar "
        "{dim}: voeg --by {dim} toe om ze te toetsen"
    ),
    "segment_goal_nobody": (
        "het doelenbestand stelt doelen voor {dim} '{value}', waar hier niemand onder valt"
    ),
    "different_bases": (
        "de populatie van de nulmeting is {baseline_desc} ({baseline_basis}) en die van nu is "
        "{current_desc} ({current_basis}): het verschil vergelijkt aandelen van verschillende "
        "populaties (--allow-different-basis); het is niet alleen een verandering in gebruik"
    ),
    "no_baseline_breakdown": (
        "de nulmeting is niet uitgesplitst naar {dim} (genomen zonder --by {dim}): de regels "
        "per {dim} tonen alleen de aandelen van nu; neem de nulmeting opnieuw met --by {dim} "
        "om ze te vergelijken"
    ),
    "mixed_tiers": (
        "de nulmeting en de meting van nu gebruiken andere definities van de niveaus "
        "({baseline} tegenover {current}): het verschil mengt definities"
    ),
    "mixed_timezones": (
        "de nulmeting en de meting van nu gebruiken andere tijdzones "
        "({baseline} tegenover {current}): het verschil mengt definities"
    ),
    "unpaired": (
        "personen zijn niet aan de nulmeting te koppelen (geen personeelslijst, of een "
        "nulmeting van elders): het verschil is ongepaard getoetst"
    ),
    "change_withheld": (
        "een meting is kleiner dan min_group_size en wordt niet getoond, dus het verschil en "
        "de toets ook niet"
    ),
    "few_pairs": (
        "maar {n} personen zitten in beide populaties (minder dan min_group_size {k}): de "
        "gepaarde toets, die zou laten zien wat zij deden, wordt niet getoond"
    ),
    "partial_aggregates_periods": (
        "{n} regel(s) uit gebruiksrapporten vallen maar deels in {count} periode(s) "
        "({first}{more}) en zijn daar weggelaten; kies een periode die hele rapportperiodes "
        "bevat (bijvoorbeeld --period quarter voor rapporten over 90 dagen)"
    ),
    "suppressed_periods": (
        "{count} periode(s) ({first}{more}) hebben een populatie kleiner dan min_group_size "
        "{k}, dus hun aantallen en aandelen worden niet getoond (aandelen van zo weinig "
        "personen zouden laten zien wat ieder van hen deed)"
    ),
    "roster_encoding": (
        "personeelslijst {path}: geen UTF-8 (byte 0x{byte} op regel {line}); gelezen als "
        "Windows-1252 (de 'CSV' van Excel op Windows); geef --encoding als het een andere is"
    ),
    "tiers_not_saved": (
        "{error}; de niveaus per persoon voor een gepaarde vergelijking zijn niet bewaard, "
        "dus 'compare' met deze nulmeting gebruikt de ongepaarde toets"
    ),
}

CATALOGUES: dict[str, Mapping[str, str]] = {"en": EN_TEXT, "nl": NL}
WARNINGS: dict[str, Mapping[str, str]] = {"en": {}, "nl": NL_WARNINGS}

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The label the CLI gives a measurement when the user gives none ('baseline 2026-01-01..'),
# and the one the library gives (the window alone).
_DEFAULT_LABEL = re.compile(r"^(?:(baseline|current) )?(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
# Warning parameters that hold a measurement's or a period's label.
_LABEL_PARAMS = ("label", "first")
_WORD_PARAMS = {"mixed_tiers": ("baseline", "current")}


@dataclass(frozen=True)
class Lang:
    """One language: its catalogue, and its number and date formats (through babel)."""

    code: str = "en"

    def __post_init__(self) -> None:
        if self.code not in LANGUAGES:
            raise ValueError(f"language {self.code!r}: choose one of {', '.join(LANGUAGES)}")

    @property
    def catalogue(self) -> Mapping[str, str]:
        return CATALOGUES[self.code]

    # -- words ---------------------------------------------------------------------------
    def t(self, text: str, **kw: object) -> str:
        """``text`` in this language (a catalogue key or the English text itself)."""
        out = self.catalogue.get(text, EN_TEXT.get(text, text))
        return out.format(**kw) if kw else out

    def label(self, label: str) -> str:
        """A measurement's label: the tool's default label in this language, a label
        people wrote as written."""
        m = _DEFAULT_LABEL.match(label)
        if m is None or self.code == "en":
            return label
        word, start, end = m.groups()
        span = f"{self.date(start)} t/m {self.date(end)}"
        return f"{self.t(word)} {span}" if word else span

    def warning(self, warning: str) -> str:
        """A warning in this language: phrased from its code when it has one this
        language knows, else the English sentence as the report holds it."""
        template = WARNINGS[self.code].get(getattr(warning, "code", ""))
        if not isinstance(warning, Notice) or template is None:
            return str(warning)
        params = dict(warning.params)
        for key in _LABEL_PARAMS:
            if isinstance(params.get(key), str):
                params[key] = self.label(params[key])
        for key in _WORD_PARAMS.get(warning.code, ()):
            params[key] = self.t(params[key])
        text = template.format(**values(warning.code, params, num=self.num, word=self.t))
        return f"{self.t(warning.side)}: {text}" if warning.side else text

    def warnings(self, result: Mapping[str, Any]) -> list[str]:
        """The report's warnings in this language (a comparison's include both windows')."""
        found = result.get("warning_details") or []
        return [self.warning(w) for w in coded(result.get("warnings", []), found)]

    # -- numbers and dates ---------------------------------------------------------------
    def decimal(self, x: float, digits: int = 1, sign: bool = False) -> str:
        # babel is imported when first used: the CLI must start without it (fast start).
        from babel.numbers import format_decimal

        body = "#,##0" + ("." + "0" * digits if digits else "")
        pattern = f"+{body};-{body}" if sign else body
        return format_decimal(x, pattern, locale=self.code)

    def pct(self, rate: float | None, digits: int = 1) -> str:
        return "–" if rate is None else self.decimal(100 * rate, digits) + "%"

    def num(self, n: int | None) -> str:
        return "–" if n is None else self.decimal(n, 0)

    def pp(self, delta: float | None) -> str:
        return "–" if delta is None else self.decimal(delta, 1, sign=True) + " pp"

    def pvalue(self, p: float | None) -> str:
        if p is None:
            return "–"
        return "<" + self.decimal(0.001, 3) if p < 0.001 else self.decimal(p, 3)

    def ci(self, interval: list[float] | tuple[float, float] | None) -> str:
        if not interval:
            return "–"
        return f"{self.decimal(100 * interval[0])}–{self.decimal(100 * interval[1])}%"

    def interval_pp(self, iv: list[float] | None) -> str:
        """A change's interval in percentage points: ``+12.5 to +32.6 pp``."""
        if not iv:
            return "–"
        a, b = (self.decimal(x, 1, sign=True) for x in iv)
        return self.t("{a} to {b} pp", a=a, b=b)

    def sig(self, x: float | None) -> str:
        """A value with 3 significant digits (an aggregate metric)."""
        if x is None:
            return "–"
        text = f"{x:.3g}"
        return text.replace(".", ",") if self.code == "nl" else text

    def figure(self, value: float | None, kind: str) -> str:
        """One science figure: a share in %, hours with one decimal, a ratio with two."""
        if value is None:
            return "–"
        if kind == "pct":
            return self.pct(value)
        if kind == "hours":
            return self.t("{n} h", n=self.decimal(value, 1))
        return self.decimal(value, 2)

    def date(self, iso: str) -> str:
        """``2026-01-01`` as ``January 1, 2026`` / ``1 januari 2026``."""
        from babel.dates import format_date

        return format_date(date.fromisoformat(iso), "long", locale=self.code)

    def day(self, text: str) -> str:
        """A date in a table cell: ISO in English (sorts, reads everywhere), written out in
        Dutch; any other text (a month or week label) as it is."""
        if self.code == "en" or not _ISO_DATE.fullmatch(text):
            return text
        return self.date(text)

    def window(self, w: Mapping[str, str]) -> str:
        """A window with its time zone: ``2026-01-01 .. 2026-03-31 (UTC)``."""
        return self.t(
            "{start} .. {end} ({tz})",
            start=self.day(w["from"]),
            end=self.day(w["to"]),
            tz=w["timezone"],
        )


def get_lang(code: str | None) -> Lang:
    return Lang(code if code in LANGUAGES else "en")
