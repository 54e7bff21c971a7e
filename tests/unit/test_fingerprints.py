"""Section fingerprints: what the poller's "nothing changed" fast path compares (pure)."""

import re

from hosts.polling.fingerprints import poll_digest, section_fingerprint
from tests.unit.freebsd.samples import read

PFCTL = read("pfctl-si__telegraf-2-states-26min.txt")
STAT = read("haproxy-show-stat__telegraf-demo-site-all-up.txt")
STAT_DOWN = read("haproxy-show-stat__blue-green-blog-green-DOWN-L4CON.txt")


def test_a_plain_section_is_fingerprinted_on_its_bytes_and_exit_status():
    base = section_fingerprint("gmirror-list", "Geom name: gm0\n", 0)

    assert section_fingerprint("gmirror-list", "Geom name: gm0\n", 0) == base
    assert section_fingerprint("gmirror-list", "Geom name: gm1\n", 0) != base
    assert section_fingerprint("gmirror-list", "Geom name: gm0\n", 1) != base
    assert section_fingerprint(None, "Geom name: gm0\n", 0) == base


def test_pf_counters_and_uptime_do_not_change_the_fingerprint_but_pf_being_disabled_does():
    later = PFCTL.replace("00:26:05", "00:26:20").replace("11325", "11999")

    assert later != PFCTL
    assert section_fingerprint("pfctl-info", later, 0) == section_fingerprint(
        "pfctl-info", PFCTL, 0
    )
    disabled = PFCTL.replace("Status: Enabled", "Status: Disabled")
    assert section_fingerprint("pfctl-info", disabled, 0) != section_fingerprint(
        "pfctl-info", PFCTL, 0
    )


def test_haproxy_session_counters_do_not_change_the_fingerprint_but_a_server_status_does():
    lines = STAT.splitlines(keepends=True)
    # Bump the byte and session totals of every data row (columns bin/bout: 9th and 10th).
    bumped = [lines[0]] + [
        re.sub(r"^((?:[^,]*,){8})(\d+),(\d+),", lambda m: f"{m[1]}{int(m[2]) + 7},{m[3]}0,", line)
        if line.strip()
        else line
        for line in lines[1:]
    ]
    counters_moved = "".join(bumped)

    assert counters_moved != STAT
    assert section_fingerprint("haproxy-stat", counters_moved, 0) == section_fingerprint(
        "haproxy-stat", STAT, 0
    )
    server_down = STAT.replace(",UP,", ",DOWN,", 1)
    assert server_down != STAT
    assert section_fingerprint("haproxy-stat", server_down, 0) != section_fingerprint(
        "haproxy-stat", STAT, 0
    )
    assert section_fingerprint("haproxy-stat", STAT_DOWN, 0) != section_fingerprint(
        "haproxy-stat", STAT, 0
    )


def test_a_counter_section_that_does_not_parse_is_fingerprinted_on_its_bytes():
    garbage_a, garbage_b = "\x00\x01 garbage\n", "\x00\x02 garbage\n"

    assert section_fingerprint("haproxy-stat", garbage_a, 0) != section_fingerprint(
        "haproxy-stat", garbage_b, 0
    )
    assert section_fingerprint("pfctl-info", garbage_a, 0) != section_fingerprint(
        "pfctl-info", garbage_b, 0
    )


def test_the_poll_digest_covers_every_section_key_and_fingerprint():
    base = poll_digest([("a", "1"), ("b", "2")])

    assert poll_digest([("a", "1"), ("b", "2")]) == base
    assert poll_digest([("a", "1"), ("b", "3")]) != base
    assert poll_digest([("a", "1")]) != base
    assert poll_digest([("a", "1"), ("c", "2")]) != base
