"""`promtool check metrics`-style naming rules, over families parsed by prometheus-client's
own text parser (shared by the metrics tests)."""

import re

from prometheus_client.parser import text_string_to_metric_families

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
UNIT_WORDS = ("duration", "latency", "lag", "age", "time", "seconds")
BASE_UNITS = ("_seconds", "_bytes", "_ratio", "_total", "_info")


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def naming_problems(text: str, prefix: str = "nyiops_") -> list[str]:
    problems = []
    for family in text_string_to_metric_families(text):
        name = family.name
        if not name.startswith(prefix):
            continue
        if not NAME.match(name):
            problems.append(f"{name}: not snake_case")
        if not family.documentation:
            problems.append(f"{name}: no HELP text")
        if family.type == "counter":
            if not all(s.name.startswith(name) for s in family.samples):
                problems.append(f"{name}: counter samples not named after it")
            # A labelled counter nobody has incremented yet has no samples at all.
            if family.samples and not any(s.name == f"{name}_total" for s in family.samples):
                problems.append(f"{name}: counter without _total")
        elif name.endswith("_total"):
            problems.append(f"{name}: _total on a {family.type}")
        if any(w in name for w in UNIT_WORDS) and not name.endswith(BASE_UNITS):
            problems.append(f"{name}: a time without a base unit suffix (_seconds)")
        if re.search(r"_(milliseconds|ms|minutes|hours|days|kilobytes|megabytes)(_|$)", name):
            problems.append(f"{name}: non-base unit")
        if "percent" in name or name.endswith("_pct"):
            problems.append(f"{name}: percentages are ratios (0-1) with _ratio")
        if family.type == "histogram" and not name.endswith(("_seconds", "_bytes")):
            problems.append(f"{name}: histogram without a unit")
    return problems
