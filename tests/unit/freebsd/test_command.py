"""The parse() registry and `manage.py freebsd_parse` (no database needed)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from hosts.freebsd import PARSERS, parse

from .samples import FIXTURES, all_samples, kind_of, read

REQUIRED_KINDS = {
    "ifconfig", "sysctl", "pfctl-info", "gmirror-status", "gmirror-list", "zpool-status",
    "zpool-list", "jls", "haproxy-stat", "haproxy-servers-state", "haproxy-info", "rsync-stats",
}  # fmt: skip
# Required top-level keys per kind (the contract).
REQUIRED_KEYS = {
    "ifconfig": {"interfaces"},
    "sysctl": {"values"},
    "pfctl-info": {"enabled", "state_table", "counters"},
    "gmirror-status": {"mirrors"},
    "zpool-status": {"pools"},
    "zpool-list": {"pools"},
    "zfs-list": {"datasets"},
    "jls": {"jails"},
    "haproxy-stat": {"proxies"},
    "haproxy-servers-state": {"servers"},
    "haproxy-info": {"fields"},
    "rsync-stats": {
        "files_total",
        "files_transferred",
        "total_file_size",
        "total_transferred_size",
        "literal_data",
        "matched_data",
        "bytes_sent",
        "bytes_received",
        "error_lines",
        "exit_code",
    },
    "uname": {"sysname", "release", "machine"},
}


def run(*args, stdin=None) -> dict:
    out = io.StringIO()
    cmd_kwargs = {"stdout": out}
    if stdin is not None:
        cmd_kwargs["stdin"] = io.StringIO(stdin)
    call_command("freebsd_parse", *args, **cmd_kwargs)
    return json.loads(out.getvalue())


def test_registry_has_every_kind():
    assert REQUIRED_KINDS | {"zfs-list", "uname", "freebsd-version"} == set(PARSERS)
    with pytest.raises(ValueError, match="unknown kind"):
        parse("nope", "")


@pytest.mark.parametrize("name", all_samples())
def test_command_on_file_and_stdin(name):
    kind, columns = kind_of(name)
    extra = ["--columns", ",".join(columns)] if columns else []
    from_file = run(kind, str(FIXTURES / name), *extra)
    from_stdin = run(kind, "-", *extra, stdin=read(name))
    assert from_file == from_stdin == parse(kind, read(name), columns=columns).to_dict()
    assert REQUIRED_KEYS.get(kind, set()) | {"parse_errors"} <= set(from_file)


def test_command_gmirror_list_and_freebsd_version_on_stdin():
    d = run("gmirror-list", "-", stdin="Geom name: gm0\nState: COMPLETE\nComponents: 1\n")
    assert d["mirrors"][0]["state"] == "COMPLETE"
    assert run("freebsd-version", "-", stdin="14.2-RELEASE\n")["versions"][0]["major"] == 14


def test_command_bad_kind_lists_kinds():
    with pytest.raises(CommandError, match=r"known kinds: .*zpool-status"):
        run("bogus", "-", stdin="")


def test_command_parse_error_and_missing_file(tmp_path):
    with pytest.raises(CommandError, match="invalid JSON"):
        run("zpool-status", "-", stdin="{not json")
    with pytest.raises(CommandError, match="cannot read"):
        run("jls", str(tmp_path / "missing.txt"))
    with pytest.raises(CommandError, match="--columns"):
        run("jls", "-", "--columns", "a,b", stdin="")


def test_every_fixture_has_fact_tests():
    """Each real sample is named in a fact test module, so none is only fuzzed."""
    here = FIXTURES.parents[1] / "unit" / "freebsd"
    sources = "".join(p.read_text() for p in here.glob("test_*.py") if p.name != "test_command.py")
    missing = [n for n in all_samples() if n not in sources]
    assert missing == []
