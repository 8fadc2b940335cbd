"""The named profiles: three built in, more composed in the configuration.

A configured profile includes the rules of one or more profiles and may turn single rules
down to warnings or off::

    [profiles.oclc-lenient]
    include = ["oclc"]
    warn = ["oclc-need-before"]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from isoill.rules import oclc, standard
from isoill.rules.engine import Profile, Rule, Severity


def _refusing(*rules: Rule) -> tuple[tuple[Rule, Severity], ...]:
    return tuple((rule, Severity.REFUSE) for rule in rules)


PERMISSIVE = Profile("permissive", "no checks: whatever decodes is forwarded", ())

IPIG = Profile(
    "ipig",
    "ISO 10161 as the IPIG profile reads it: the standard's conditional and store-and-forward"
    " elements, valid dates and listed values",
    _refusing(
        standard.PROTOCOL_VERSION,
        standard.PARTIES_NAMED,
        standard.INITIAL_REQUESTER,
        standard.RESULTS_EXPLANATION,
        standard.VALID_DATES,
        standard.LISTED_VALUES,
    ),
)

OCLC = Profile(
    "oclc",
    "OCLC's ISO ILL profile (Direct Request): what OCLC requires of requests and answers",
    _refusing(
        standard.PROTOCOL_VERSION,
        standard.VALID_DATES,
        oclc.NO_WILL_SUPPLY,
        oclc.NO_CONDITIONAL_CITATION,
        oclc.SERVICE_LEVEL,
        oclc.TITLE,
        oclc.VERIFIED,
        oclc.SHIP_TO,
        oclc.BORROWER,
        oclc.SERVICE_TYPE,
        oclc.NEED_BEFORE,
        oclc.COPYRIGHT,
        oclc.IFM_PAYMENT,
    ),
)

BUILT_IN: dict[str, Profile] = {profile.name: profile for profile in (PERMISSIVE, IPIG, OCLC)}

#: Every rule of the built-in profiles, by name.
RULES: dict[str, Rule] = {
    rule.name: rule for profile in BUILT_IN.values() for rule, _ in profile.rules
}


def compose(
    name: str,
    include: Sequence[str],
    *,
    warn: Iterable[str] = (),
    off: Iterable[str] = (),
    summary: str = "",
    known: Mapping[str, Profile] = BUILT_IN,
) -> Profile:
    """A profile with the rules of the ``include``d profiles (the first one's severity where
    two include the same rule), some of them turned down. ``ValueError`` names what is unknown."""
    missing = [profile for profile in include if profile not in known]
    if missing:
        raise ValueError(f"profile {name}: unknown profile {', '.join(missing)}")
    chosen: dict[str, tuple[Rule, Severity]] = {}
    for profile in include:
        for rule, severity in known[profile].rules:
            chosen.setdefault(rule.name, (rule, severity))
    for severity, names in ((Severity.WARN, warn), (Severity.OFF, off)):
        for rule_name in names:
            if rule_name not in chosen:
                raise ValueError(f"profile {name}: no rule {rule_name} in {', '.join(include)}")
            chosen[rule_name] = (chosen[rule_name][0], severity)
    description = summary or f"{', '.join(include)}, adjusted"
    return Profile(name, description, tuple(chosen.values()))
