"""HAProxy show stat / show servers state / show info."""

from __future__ import annotations

from hosts.freebsd import parse_haproxy_info, parse_haproxy_servers_state, parse_haproxy_stat

from .samples import read


def _proxies(name):
    r = parse_haproxy_stat(read(name))
    assert r.parse_errors == ()
    return {p.name: p for p in r.proxies}


def _servers(proxy):
    return [(s.name, s.status, s.weight, s.check_status) for s in proxy.servers]


def test_blue_green_green_down():
    px = _proxies("haproxy-show-stat__blue-green-blog-green-DOWN-L4CON.txt")
    assert list(px) == ["igw", "blue", "green", "DEFAULT"]
    assert px["igw"].frontend["status"] == "OPEN" and px["igw"].backend is None
    green = px["green"].servers[0]
    assert (green.status, green.check_status) == ("DOWN", "L4CON")
    assert green.fields["last_chk"] == "Connection refused"
    assert green.fields["check_desc"] == "Layer4 connection problem"
    assert green.fields["addr"] == "[::1]:4000" and green.fields["chkdown"] == 2
    assert green.fields["downtime"] == 551
    assert px["green"].backend["status"] == "DOWN" and px["green"].backend["weight"] == 0
    assert px["green"].backend["act"] == 0
    blue = px["blue"].servers[0]
    assert (blue.status, blue.check_status, blue.fields["check_code"]) == ("UP", "L7OK", 200)
    assert px["DEFAULT"].backend is not None


def test_diamond_14_eight_servers():
    px = _proxies("haproxy-show-stat__diamond-fixture-1.4-8-servers-up.txt")
    app = px["app-domain-com"]
    assert _servers(app) == [(f"app{i}", "UP", 1, "L7OK") for i in range(1, 9)]
    assert app.backend["status"] == "UP" and app.backend["weight"] == 8 and app.backend["act"] == 8
    app1 = app.servers[0].fields
    assert (app1["chkfail"], app1["chkdown"], app1["downtime"]) == (1140, 29, 585)
    assert _servers(px["Trans-Service"]) == [
        ("trans1", "UP", 1, "L7OK"),
        ("trans2", "UP", 1, "L7OK"),
    ]
    assert app.servers[7].scur == 1


def test_litmus_yellow_orange():
    px = _proxies("haproxy-show-stat__litmus-paper-yellow-orange-DOWN.txt")
    assert [(s.name, s.status, s.check_status) for s in px["yellow_cluster"].servers] == [
        ("node1", "UP", "L4CON"), ("node2", "DOWN", "L4CON"), ("node3", "DOWN", "L4CON"),
    ]  # fmt: skip
    assert px["yellow_cluster"].backend["status"] == "UP"
    orange = px["orange_cluster"]
    assert [s.status for s in orange.servers] == ["DOWN", "DOWN"]
    assert orange.backend["status"] == "DOWN"
    assert not any(s.status == "UP" for s in orange.servers)  # backend with zero UP servers


def test_telegraf_demo_leading_blank_trailing_comma():
    r = parse_haproxy_stat(read("haproxy-show-stat__telegraf-demo-site-all-up.txt"))
    assert r.columns[-1] == "dses"  # trailing comma does not add an empty column
    px = {p.name: p for p in r.proxies}
    assert px["http-in"].frontend["status"] == "OPEN" and px["http-in"].frontend["scur"] == 3
    assert [listener["svname"] for listener in px["http-in"].listeners][:2] == [
        "IPv4-direct", "IPv4-cached",
    ]  # fmt: skip
    www = px["www"]
    assert _servers(www) == [("www", "UP", 1, "L7OK"), ("bck", "UP", 1, "L7OK")]
    assert www.servers[1].fields["bck"] == 1 and www.servers[0].fields["act"] == 1
    assert www.servers[0].fields["check_desc"] == "Layer7 check passed"
    assert www.backend["status"] == "UP"
    assert px["demo"].servers == () and px["demo"].backend["weight"] == 0


def test_stat_new_columns_and_unknown_status_mapped_by_name():
    text = (
        "# pxname,svname,scur,status,weight,type,check_status,brand_new_col,\n"
        "be,s1,4,MAINT(resolution),0,2,,xyz,\n"
        "be,s2,0,UP 1/3,1,2,L7OK,,\n"
        "be,BACKEND,4,UP,1,1,,,\n"
    )
    (p,) = parse_haproxy_stat(text).proxies
    assert [(s.name, s.status, s.weight, s.scur) for s in p.servers] == [
        ("s1", "MAINT(resolution)", 0, 4), ("s2", "UP 1/3", 1, 0),
    ]  # fmt: skip
    assert p.servers[0].fields["brand_new_col"] == "xyz" and p.servers[0].check_status is None


def test_servers_state_go_client():
    r = parse_haproxy_servers_state(read("haproxy-show-servers-state__go-client-comment-4-up.txt"))
    assert r.version == 1 and r.parse_errors == ()
    rows = [
        (s.backend, s.name, s.address, s.op_state, s.admin_state, s.admin_flags) for s in r.servers
    ]
    assert rows == [
        ("indexws", "iws01", "172.24.21.40", 2, 0, ()),
        ("indexws", "iws02", "172.24.21.32", 2, 0, ()),
        ("indexws", "iws03", "172.24.21.33", 2, 0, ()),
        ("solr", "solr01", "192.168.220.4", 2, 0, ()),
    ]  # fmt: skip
    solr = r.servers[3].fields
    assert (solr["srv_check_result"], solr["srv_check_state"], solr["srv_fqdn"]) == (0, 7, "solr")
    assert r.servers[0].fields["srv_fqdn"] is None and len(r.servers[0].fields) == 25


def test_servers_state_hapee_all_maint():
    r = parse_haproxy_servers_state(
        read("haproxy-show-servers-state__hapee22-srv-records-all-maint.txt")
    )
    assert len(r.servers) == 15
    assert all(s.address is None and s.op_state == 0 for s in r.servers)
    assert [s.admin_state for s in r.servers] == [96] * 4 + [32] * 11
    assert r.servers[0].admin_flags == ("RMAINT", "HMAINT")
    assert r.servers[4].admin_flags == ("RMAINT",)
    assert (r.servers[0].port, r.servers[4].port) == (0, 80)
    assert r.servers[0].fields["srvrecord"].startswith("_headless._tcp.")


def test_show_info_samples():
    doc = parse_haproxy_info(read("haproxy-show-info__haproxy-doc-1.6-dev7.txt")).fields
    assert (doc["Name"], doc["Version"], doc["Nbproc"], doc["Pid"]) == (
        "HAProxy", "1.6-dev7-e32d18-17", 1, 7949,
    )  # fmt: skip
    assert (doc["Uptime"], doc["Uptime_sec"], doc["Maxconn"]) == ("0d 0h02m39s", 159, 60000)
    assert (doc["CurrConns"], doc["CumConns"], doc["Idle_pct"]) == (0, 3, 100)
    assert doc["node"] == "wtap" and doc["description"] == ""
    old = parse_haproxy_info(read("haproxy-show-info__haproxymanager-1.4.22.txt")).fields
    assert old["Version"] == "1.4.22" and old["CurrConns"] == 1
    assert "Idle_pct" not in old and "Hard_maxconn" not in old
    dev = parse_haproxy_info(read("haproxy-show-info__haproxymanager-1.5-dev11.txt")).fields
    assert (dev["Uptime"], dev["Uptime_sec"], dev["Maxconn"], dev["CurrConns"]) == (
        "58d 3h50m53s", 5025053, 20000, 0,
    )  # fmt: skip
    assert dev["node"] == "some machine on ec3"
    assert dev["description"] == "Our awesome load balancer"


def test_show_info_typed():
    r = parse_haproxy_info("0.Name.1:POS:str:HAProxy\n7.Uptime_sec.1:MDP:u32:159\n")
    assert r.fields == {"Name": "HAProxy", "Uptime_sec": 159}
