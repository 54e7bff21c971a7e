"""Hypothesis properties: no input makes a parser raise anything but ParseError.

Inputs: arbitrary text, and mutations of every real sample (truncation at every 10 %, dropped
and duplicated lines, CRLF endings, binary noise, a huge line). Every sample is also fed to
every other parser, since the poller may mislabel output.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hosts.freebsd import PARSERS, ParseError, parse

from .samples import all_samples, kind_of, read

SAMPLES = all_samples()
TEXTS = {name: read(name) for name in SAMPLES}
KINDS = sorted(PARSERS)
PROFILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(kind: str, text: str, columns=None) -> None:
    """The contract: a result with JSON-serialisable to_dict() and string parse_errors, or
    ParseError (whose message names a line when it has one)."""
    try:
        result = parse(kind, text, columns=columns)
    except ParseError as exc:
        assert str(exc)
        return
    d = result.to_dict()
    json.dumps(d)
    assert isinstance(result.parse_errors, tuple)
    assert all(isinstance(e, str) for e in result.parse_errors)
    assert d["parse_errors"] == list(result.parse_errors)


@pytest.mark.parametrize("kind", KINDS)
@PROFILE
@given(text=st.text())
def test_random_text(kind, text):
    check(kind, text)


@pytest.mark.parametrize("kind", KINDS)
@PROFILE
@given(text=st.text(alphabet=st.sampled_from(list(" \t\n\r:,=#()%/-.0123456789abcdeKMGTx"))))
def test_random_format_characters(kind, text):
    check(kind, text)


@pytest.mark.parametrize("name", SAMPLES)
def test_truncation_at_every_ten_percent(name):
    text = TEXTS[name]
    for tenth in range(11):
        cut = text[: len(text) * tenth // 10]
        for kind in KINDS:
            check(kind, cut)


def _mutate(text: str, data) -> str:
    lines = text.split("\n")
    ops = data.draw(st.lists(st.sampled_from(["drop", "dup", "crlf", "noise", "huge", "cut"]),
                             min_size=1, max_size=4))  # fmt: skip
    for op in ops:
        i = data.draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "drop" and lines:
            del lines[i]
        elif op == "dup" and lines:
            lines.insert(i, lines[i])
        elif op == "crlf":
            lines = [ln + "\r" for ln in lines]
        elif op == "noise":
            noise = data.draw(st.binary(min_size=1, max_size=40)).decode("latin-1")
            if lines:
                pos = data.draw(st.integers(0, len(lines[i])))
                lines[i] = lines[i][:pos] + noise + lines[i][pos:]
            else:
                lines.append(noise)
        elif op == "huge":
            unit = data.draw(st.sampled_from(["9", "x", " ", "\t", "a,", "(", "1.5K "]))
            lines.insert(i, unit * 100_000)
        elif op == "cut":
            joined = "\n".join(lines)
            lines = joined[: data.draw(st.integers(0, len(joined)))].split("\n")
    return "\n".join(lines)


@pytest.mark.parametrize("name", SAMPLES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_sample_own_parser(name, data):
    kind, columns = kind_of(name)
    text = _mutate(TEXTS[name], data)
    check(kind, text)
    if columns:
        check(kind, text, columns)


@pytest.mark.parametrize("kind", KINDS)
@PROFILE
@given(data=st.data())
def test_mutated_any_sample_any_parser(kind, data):
    name = data.draw(st.sampled_from(SAMPLES))
    check(kind, _mutate(TEXTS[name], data))


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_parse_cleanly_under_crlf(name):
    """CRLF line endings change nothing but the endings."""
    kind, columns = kind_of(name)
    text = TEXTS[name]
    plain = parse(kind, text, columns=columns).to_dict()
    crlf = parse(kind, text.replace("\n", "\r\n"), columns=columns).to_dict()
    assert crlf == plain


def test_non_str_input_is_parse_error():
    for kind in KINDS:
        with pytest.raises(ParseError):
            PARSERS[kind](b"bytes")  # type: ignore[arg-type]
