"""Languages of the human formats: words from a catalog, numbers and dates through babel.

JSON has no language. Every human renderer formats numbers and dates through a ``Lang``
(``51,1%`` and ``1 januari 2026`` in Dutch), so rounding stays in render/ and a language is
one catalog. English is the source language: its catalog is the identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sections import Section

LANGUAGES = ("en", "nl")

# English text -> Dutch. Keys are the exact English strings the renderers use; a missing
# key falls back to the English text (never to an empty cell).
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
}

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

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# A number as the English formatters write it: 1,234 / 51.1 / +2.3 / 0.001.
_NUMBER = re.compile(r"(?<![\w.])([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w])")


@dataclass(frozen=True)
class Lang:
    """One language's words and number and date formats."""

    code: str = "en"

    def t(self, text: str, **kw: object) -> str:
        """``text`` in this language (a catalog key or the English text itself)."""
        catalog = NL if self.code == "nl" else EN_TEXT
        out = catalog.get(text, EN_TEXT.get(text, text))
        return out.format(**kw) if kw else out

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

    def ci(self, interval: list[float] | None) -> str:
        if not interval:
            return "–"
        return f"{self.decimal(100 * interval[0])}–{self.decimal(100 * interval[1])}%"

    def date(self, iso: str) -> str:
        """``2026-01-01`` as ``January 1, 2026`` / ``1 januari 2026``."""
        from babel.dates import format_date

        return format_date(date.fromisoformat(iso), "long", locale=self.code)

    def relocalise(self, text: str, dates: bool = True) -> str:
        """English-formatted numbers (and ISO dates) in ``text`` written in this language.

        The shared sections are built with the English formatters; this rewrites each
        number with the same digits through babel (``51.1%`` -> ``51,1%``)."""
        if self.code == "en":
            return text
        if not dates:
            return _NUMBER.sub(self._renumber, text)
        # re.split with three groups gives text, year, month, day, text, ...
        parts = _ISO_DATE.split(text)
        out = [_NUMBER.sub(self._renumber, parts[0])]
        for i in range(1, len(parts), 4):
            out.append(self.date("-".join(parts[i : i + 3])))
            out.append(_NUMBER.sub(self._renumber, parts[i + 3]))
        return "".join(out)

    def _renumber(self, m: re.Match[str]) -> str:
        sign, whole, frac = m.group(1), m.group(2).replace(",", ""), m.group(3)
        x = float(f"{whole}.{frac}" if frac else whole)
        digits = len(frac) if frac else 0
        return sign + self.decimal(x, digits)


# The label the CLI gives a measurement when the user gives none ('baseline 2026-01-01..').
_DEFAULT_LABEL = re.compile(r"^(baseline|current) (\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def label_text(label: str, lang: Lang) -> str:
    """A measurement's label: the tool's default label in ``lang``, a user's as written."""
    m = _DEFAULT_LABEL.match(label)
    if m is None or lang.code == "en":
        return label
    word, start, end = m.groups()
    return f"{lang.t(word)} {lang.date(start)} t/m {lang.date(end)}"


def get_lang(code: str | None) -> Lang:
    return Lang(code if code in LANGUAGES else "en")


# Phrases in the notes the sections carry (population, window, test): longest first so a
# phrase is never half-replaced by a shorter one.
_NOTE_PHRASES_NL = [
    ("p: McNemar mid-p over the ", "p: McNemar mid-p over de "),
    (" people in both populations ", " personen in beide populaties "),
    (" joined, ", " erbij, "),
    (" left since the baseline)", " vertrokken sinds de nulmeting)"),
    (
        "p: two-proportion z test over populations of different bases (not comparable)",
        "p: z-toets voor twee aandelen over populaties met een verschillende basis "
        "(niet vergelijkbaar)",
    ),
    (
        "p: two-proportion z test (unpaired: people could not be linked to the baseline)",
        "p: z-toets voor twee aandelen (ongepaard: personen niet te koppelen aan de nulmeting)",
    ),
    ("identity coverage ", "identiteitsdekking "),
    ("unmatched actors ", "niet-gekoppelde accounts "),
    ("population ", "populatie "),
    ("(roster)", "(personeelslijst)"),
    ("(headcount)", "(opgegeven aantal)"),
    ("(observed)", "(waargenomen)"),
    ("baseline: ", "nulmeting: "),
    ("current: ", "nu: "),
    (" .. ", " t/m "),
]

_TITLES_NL = [
    (
        re.compile(r"^By (.+): baseline → current \(change in pp\)$"),
        "Per {0}: nulmeting → nu (verschil in pp)",
    ),
    (re.compile(r"^By (.+)$"), "Per {0}"),
    (re.compile(r"^Trend per (\w+) \((.+)\)$"), "Verloop per {0} ({1})"),
    (re.compile(r"^(\S+) by (.+)$"), "{0} per {1}"),
]
_PERIODS_NL = {
    "day": "dag",
    "week": "week",
    "month": "maand",
    "quarter": "kwartaal",
    "year": "jaar",
}


# A measurement title: its label, then the window when the label does not name it.
_LABEL_WINDOW = re.compile(r"^(.*): (\d{4}-\d{2}-\d{2}) \.\. (\d{4}-\d{2}-\d{2}) \((.+)\)$", re.S)


def _title(title: str, lang: Lang) -> str:
    m = _LABEL_WINDOW.match(title)
    if m:
        label, start, end, tz = m.groups()
        return f"{label}: {lang.date(start)} t/m {lang.date(end)} ({tz})"
    for pattern, template in _TITLES_NL:
        m = pattern.match(title)
        if m:
            groups = [_PERIODS_NL.get(g, g) for g in m.groups()]
            return template.format(*groups)
    if " → " in title:  # a comparison's two labels
        return " → ".join(label_text(part, lang) for part in title.split(" → "))
    # The tool's own titles are catalog keys; anything else is a label as written.
    return NL[title] if lang.code == "nl" and title in NL else label_text(title, lang)


def localise_sections(sections: list[Section], lang: Lang) -> list[Section]:
    """The shared sections in ``lang``: fixed words from the catalog, numbers and dates
    through babel. Labels people wrote (segment values, measurement labels) stay as
    written; only the tool's own words are translated."""
    if lang.code == "en":
        return sections
    out = []
    for s in sections:
        tier_rows = s.header[:1] == ["Tier"]
        rows = []
        for row in s.rows:
            cells = []
            for i, cell in enumerate(row):
                if i < s.labels:
                    # A label column: the tool's tier names and dates, never user text.
                    if tier_rows and i == 0:
                        cell = lang.t(cell)
                    elif _ISO_DATE.fullmatch(cell):
                        cell = lang.date(cell)
                    cells.append(cell)
                elif i in s.status_columns or cell in ("suppressed", "no data"):
                    cells.append(lang.t(cell))
                else:
                    cells.append(lang.relocalise(cell))
            rows.append(cells)
        note = s.note
        if note is not None:
            for en, nl in _NOTE_PHRASES_NL:
                note = note.replace(en, nl)
            note = lang.relocalise(note)
        # A segment table's first header is the dimension as the roster names it.
        keep_first = s.labels == 1 and not tier_rows
        header = [h if i == 0 and keep_first else lang.t(h) for i, h in enumerate(s.header)]
        out.append(replace(s, title=_title(s.title, lang), header=header, rows=rows, note=note))
    return out
