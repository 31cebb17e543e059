"""Warnings with a stable code and parameters, so a renderer can phrase them in any language.

A report's ``warnings`` stay English sentences (the JSON of 0.1, read by people and
scripts). Beside them, ``warning_details`` holds each coded warning as ``{code, params}``
(and ``side`` for a comparison's baseline or current warning): the human renderers phrase
a warning from its code in the report's language, and keep the English sentence for a
warning without one (an older document, a note from a roster file).

A ``Notice`` is the English sentence itself (a ``str``), carrying its code and parameters,
so the code that collects warnings handles plain strings and notices alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

# code -> the English sentence. Integer parameters are formatted here (``{n:,}`` where the
# sentence groups thousands); a renderer in another language passes them pre-formatted.
TEXT: dict[str, str] = {
    "population_empty": (
        "{label}: the population is empty (nobody employed in the window); rates are null"
    ),
    "no_events": (
        "{label}: the store holds no counted events in this window; its rates are 0 because "
        "nothing was ingested for it, or everything was excluded: check the exports cover it"
    ),
    "no_events_no_data": (
        "{label}: the store holds no counted events in this window; its rates are shown as "
        "no data because nothing was ingested for it, or everything was excluded: check the "
        "exports cover it"
    ),
    "observed": (
        "no roster and no --population: the population is every actor seen in the store, "
        "so the rates are an upper bound"
    ),
    "pseudonymised_styles": (
        "{label}: identities are pseudonymised, so it cannot be seen whether one person "
        "appears under two spellings (email and DOMAIN\\account, or a chat id); without a "
        "roster such a person is counted twice; add --roster FILE (with aliases)"
    ),
    "identity_styles": (
        "{label}: actors are written in {count} identity styles ({styles}); without a "
        "roster a person who appears in two styles is counted as two people, so the rates "
        "may be too high and an observed population is no upper bound; add --roster FILE "
        "(with the other spellings in its aliases column)"
    ),
    "concealed": (
        "{n} actor(s) have concealed names (usage reports with the tenant's privacy setting "
        "on): they cannot be joined to the roster"
    ),
    "concealed_unmatched": (
        "{n} actor(s) have concealed names (usage reports with the tenant's privacy setting "
        "on): they cannot be joined to the roster and are counted as unmatched"
    ),
    "partial_aggregates": (
        "{n} usage-report aggregate row(s) only partly overlap {label} and were left out; "
        "choose a window that contains whole report periods"
    ),
    "suppressed": (
        "{label}: the population of {size} is under min_group_size {k}, so every count and "
        "rate is withheld (a rate of so few people would show what each of them did)"
    ),
    "team_too_small": (
        "the communication team has fewer than min_group_size {k} people in the "
        "population: its broadcast share and replies per own post are withheld"
    ),
    "segment_goals_no_breakdown": (
        "the goals file sets goals per {dim}, but the measurement has no breakdown "
        "by {dim}: add --by {dim} to check them"
    ),
    "segment_goal_nobody": "the goals file sets goals for {dim} '{value}', which has nobody here",
    "different_bases": (
        "the baseline's population is {baseline_desc} ({baseline_basis}) and the current one "
        "is {current_desc} ({current_basis}): the change compares shares of different "
        "populations (--allow-different-basis); it is not a change in adoption alone"
    ),
    "no_baseline_breakdown": (
        "the baseline has no breakdown by {dim} (it was taken without --by {dim}): the {dim} "
        "rows show the current rates only; take the baseline again with --by {dim} to compare "
        "them"
    ),
    "mixed_tiers": (
        "the baseline and the current measurement use different tier definitions "
        "({baseline} vs {current}): the change mixes definitions"
    ),
    "mixed_timezones": (
        "the baseline and the current measurement use different time zones "
        "({baseline} vs {current}): the change mixes definitions"
    ),
    "unpaired": (
        "people cannot be paired with the baseline (no roster, or a baseline taken "
        "elsewhere): the change is tested unpaired"
    ),
    "change_withheld": (
        "a measurement is under min_group_size and suppressed, so the change and its test "
        "are withheld"
    ),
    "few_pairs": (
        "only {n} people are in both populations (under min_group_size {k}): the paired "
        "test, which would show what they did, is withheld"
    ),
    "partial_aggregates_periods": (
        "{n} usage-report aggregate row(s) only partly overlap {count} period(s) "
        "({first}{more}) and were left out of them; choose a period that contains whole "
        "report periods (e.g. --period quarter for 90-day reports)"
    ),
    "suppressed_periods": (
        "{count} period(s) ({first}{more}) have a population under min_group_size {k}, so "
        "their counts and rates are withheld (rates of so few people would show what each "
        "of them did)"
    ),
    "roster_encoding": (
        "roster {path}: not UTF-8 (byte 0x{byte} on line {line}); read as Windows-1252 "
        "(Excel's 'CSV' on Windows); give --encoding if it is another"
    ),
    "tiers_not_saved": (
        "{error}; the per-person tiers for a paired compare were not saved, so 'compare' "
        "against this baseline will use the unpaired test"
    ),
}

# How a population basis and an identity style are named in a sentence.
BASIS_TEXT = {"roster": "a roster", "fixed": "a fixed headcount", "observed": "every actor seen"}
STYLE_TEXT = {
    "email": "email/UPN",
    "domain_account": "DOMAIN\\account",
    "chat_id": "chat id (slack:/engage:)",
    "other": "other",
}


def _english_number(n: int) -> str:
    return f"{n:,}"


def values(
    code: str,
    params: Mapping[str, Any],
    num: Callable[[int], str] | None = None,
    word: Callable[[str], str] = str,
) -> dict[str, Any]:
    """The values a sentence is formatted with: the parameters, and the parts made of
    them (style lists, basis names, "..." after the first of several periods). ``num``
    writes the integers (None: left as numbers, for the English format specs); ``word``
    names a style or a basis in the sentence's language."""
    out: dict[str, Any] = {
        k: num(v) if num and isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in params.items()
    }
    if code == "identity_styles":
        n = num or _english_number
        out["styles"] = ", ".join(
            f"{word(STYLE_TEXT.get(st, st))} {n(c)}" for st, c in params["styles"].items()
        )
    if code == "different_bases":
        for side in ("baseline", "current"):
            out[f"{side}_desc"] = word(BASIS_TEXT[params[f"{side}_basis"]])
    if "count" in params and "first" in params:
        out["more"] = ", ..." if params["count"] > 1 else ""
    return out


class Notice(str):
    """A warning: its English sentence, with the code and parameters it was made from."""

    code: str
    params: dict[str, Any]
    side: str | None

    def __new__(cls, code: str, side: str | None = None, **params: Any) -> Notice:
        text = TEXT[code].format(**values(code, params))
        self = super().__new__(cls, f"{side}: {text}" if side else text)
        self.code, self.params, self.side = code, params, side
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # copy and pickle rebuild a notice from its code, not from its sentence.
        return (_rebuild, (self.code, self.side, self.params))

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "params": dict(self.params)}
        return out | ({"side": self.side} if self.side else {})


def _rebuild(code: str, side: str | None, params: dict[str, Any]) -> Notice:
    return Notice(code, side, **params)


def from_detail(detail: Mapping[str, Any]) -> Notice | None:
    """The notice a ``warning_details`` entry describes (None: a code this version lacks)."""
    code = detail.get("code")
    if code not in TEXT:
        return None
    try:
        return Notice(code, detail.get("side"), **dict(detail.get("params") or {}))
    except (KeyError, IndexError, TypeError, ValueError):
        return None  # parameters that do not fit the sentence: keep the plain warning


def sided(side: str, warning: str, details: Iterable[Mapping[str, Any]]) -> str:
    """A measurement's warning as a comparison states it: ``side: warning``, still coded
    when the measurement's details code it."""
    for d in details:
        n = from_detail(d)
        if n is not None and n == warning and not n.side:
            return Notice(n.code, side, **n.params)
    return f"{side}: {warning}"


def details(warnings: Iterable[str]) -> list[dict[str, Any]]:
    """The ``warning_details`` of a list of warnings: one entry per coded warning."""
    return [w.detail() for w in warnings if isinstance(w, Notice)]


def coded(warnings: Iterable[str], found: Iterable[Mapping[str, Any]]) -> list[Notice | str]:
    """Each warning with its code when ``found`` (a document's details) has it: the detail
    is used only when it gives back exactly the warning's sentence."""
    by_text: dict[str, Notice] = {}
    for d in found:
        n = from_detail(d)
        if n is not None:
            by_text.setdefault(str(n), n)
    return [w if isinstance(w, Notice) else by_text.get(str(w), w) for w in warnings]
