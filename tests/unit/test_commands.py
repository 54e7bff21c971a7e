"""The act-side argv builders (RELIABILITY C1): hostile values are refused, and every value a
validator accepts reaches the host as exactly one shell word, with no metacharacter loose."""

import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hosts.freebsd import commands as c

HOSTILE = [
    "a;reboot",
    "$(id)",
    "`id`",
    "a\nb",
    "a b",
    "-rf",
    "../x",
    "x" * 300,
    "\uff41dmin",  # fullwidth look-alike
    "",
    "a|b",
    "a&b",
    "a>b",
    "'",
    '"',
    "a\\b",
    "a*",
]

BUILDERS_ONE_VALUE = {
    "backend": lambda v: c.haproxy_set_state(v, "web1", "drain"),
    "server": lambda v: c.haproxy_set_state("acme-web", v, "maint"),
    "mirror": lambda v: c.gmirror_forget(v),
    "provider": lambda v: c.gmirror_insert("gm0", v),
    "pool": lambda v: c.zpool_status(v),
    "vdev": lambda v: c.zpool_replace("tank", v, "ada3p3"),
    "dataset": lambda v: c.zfs_list(v),
    "snapshot": lambda v: c.zfs_snapshot("tank/jails", v),
    "path": lambda v: c.pf_check(v),
    "file": lambda v: c.write_file(v, "content"),
    "jail": lambda v: c.jail_service("start", v),
}


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", sorted(BUILDERS_ONE_VALUE))
def test_builders_refuse_hostile_values(field, value):
    with pytest.raises(c.UnsafeValue):
        BUILDERS_ONE_VALUE[field](value)


def test_demotion_refuses_non_integers_and_out_of_range():
    for bad in ("240", 240.0, True, 256, -256, None):
        with pytest.raises(c.UnsafeValue):
            c.carp_demotion_adjust(bad)


def test_haproxy_state_is_an_allow_list():
    with pytest.raises(c.UnsafeValue):
        c.haproxy_set_state("b", "s", "ready; reboot")


def test_commands_are_the_agreed_vocabulary():
    assert c.carp_demotion_adjust(240).script == "sysctl net.inet.carp.demotion=240"
    assert c.carp_demotion_adjust(-240).script == "sysctl net.inet.carp.demotion=-240"
    assert (
        c.haproxy_set_state("acme-web", "web1", "drain").script
        == "echo 'set server acme-web/web1 state drain' | socat stdio /var/run/haproxy.sock"
    )
    assert c.haproxy_save_state().script == (
        "echo 'show servers state' | socat stdio /var/run/haproxy.sock"
        " > /var/db/haproxy/server-state"
    )
    assert c.pf_check("/var/db/nyiops/pf.conf.new").script == "pfctl -nf /var/db/nyiops/pf.conf.new"
    assert c.pf_arm_revert("/var/db/nyiops/pf.conf.saved", 300).script == (
        "daemon -f -p /var/run/nyiops-pf-revert.pid sh -c "
        "'sleep 300; pfctl -f /var/db/nyiops/pf.conf.saved'"
    )
    assert c.pf_cancel_revert().script == "pkill -F /var/run/nyiops-pf-revert.pid"
    w = c.write_file("/etc/sysctl.conf.local", "net.inet.carp.demotion=240\n")
    assert (w.script, w.stdin) == ("cat > /etc/sysctl.conf.local", b"net.inet.carp.demotion=240\n")
    assert c.zpool_replace("tank", "ada1p3", "ada3p3").script == "zpool replace tank ada1p3 ada3p3"
    assert c.gmirror_insert("gm0", "ada1").argv == ("gmirror", "insert", "gm0", "ada1")


# Values the allow-lists accept, drawn from their own alphabets.
_name_chars = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-")
haproxy_names = st.text(_name_chars, min_size=1, max_size=64).filter(c.valid_haproxy_name)
paths = (
    st.lists(
        st.text(
            st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789_.-"), min_size=1, max_size=12
        ),
        min_size=1,
        max_size=5,
    )
    .map(lambda parts: "/" + "/".join(parts))
    .filter(c.valid_path)
)
datasets = (
    st.lists(
        st.text(
            st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789_.:-"), min_size=1, max_size=12
        ),
        min_size=1,
        max_size=4,
    )
    .map("/".join)
    .filter(c.valid_dataset)
)

_META = set(";&|<>()$`\\\"' \t\n*?[]#~")


def _one_word(script: str, value: str, fixed_ops=("|", ">")) -> None:
    words = shlex.split(script)
    assert sum(value in w for w in words) >= 1
    for w in words:
        if w in fixed_ops:
            continue
        if w.startswith("set server ") or w.startswith("sleep "):
            continue  # the socat request / daemon's inner script: quoted whole, checked below
        assert not (_META & set(w)), (script, w)


@settings(max_examples=300)
@given(backend=haproxy_names, server=haproxy_names, state=st.sampled_from(c.HAPROXY_STATES))
def test_haproxy_request_is_one_quoted_word(backend, server, state):
    cmd = c.haproxy_set_state(backend, server, state)
    words = shlex.split(cmd.script)
    assert words == [
        "echo",
        f"set server {backend}/{server} state {state}",
        "|",
        "socat",
        "stdio",
        c.HAPROXY_SOCKET,
    ]


@settings(max_examples=300)
@given(path=paths, delay=st.integers(10, 3600))
def test_path_values_are_exactly_one_argument(path, delay):
    for cmd in (c.pf_check(path), c.pf_load(path), c.read_file(path), c.remove_file(path)):
        assert shlex.split(cmd.script) == list(cmd.argv)
        assert path in cmd.argv
        _one_word(cmd.script, path)
    w = c.write_file(path, "x; reboot $(id)")
    assert shlex.split(w.script) == ["cat", ">", path]  # ">" unquoted: sh's redirection
    assert w.script == f"cat > {shlex.quote(path)}"
    revert = c.pf_arm_revert(path, delay)
    inner = shlex.split(revert.script)[-1]
    assert shlex.split(inner) == ["sleep", str(delay) + ";", "pfctl", "-f", path]


@settings(max_examples=300)
@given(ds=datasets, snap=haproxy_names.filter(c.valid_haproxy_name))
def test_dataset_values_are_exactly_one_argument(ds, snap):
    cmd = c.zfs_list(ds)
    assert shlex.split(cmd.script) == list(cmd.argv) and cmd.argv[-1] == ds
    if c.valid_pool(snap) and not snap.startswith((".", ":", "-")):
        try:
            s = c.zfs_snapshot(ds, snap)
        except c.UnsafeValue:
            return
        assert shlex.split(s.script) == ["zfs", "snapshot", f"{ds}@{snap}"]


@settings(max_examples=300)
@given(value=st.text(max_size=80))
def test_any_text_either_refused_or_one_safe_word(value):
    for build in BUILDERS_ONE_VALUE.values():
        try:
            cmd = build(value)
        except c.UnsafeValue:
            continue
        words = shlex.split(cmd.script)
        assert any(value in w for w in words)
        assert not (set(value) & _META), f"accepted a metacharacter in {value!r}"
        assert not value.startswith("-")
