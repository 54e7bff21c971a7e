"""The HAProxy runtime API as real hosts reach it: `echo "show stat" | socat stdio SOCK`."""

from __future__ import annotations

import math
import time

from ..dynamics import MAINT
from .registry import command, usage

SOCK = "/var/run/haproxy.sock"
# the `show stat` CSV header of HAProxy 2.8 (after "# "), the columns in print order
STAT_HEADER = (
    "pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
    "wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,"
    "throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,"
    "check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,"
    "req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,"
    "lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,"
    "agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,"
    "agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,"
    "intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,"
    "qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,"
    "need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-"
)
STAT_COLS = STAT_HEADER.split(",")
STATE_HEADER = (
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state "
    "srv_uweight srv_iweight srv_time_since_last_change srv_check_status "
    "srv_check_result srv_check_health srv_check_state srv_agent_state "
    "bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
    "srv_check_port srv_check_addr srv_agent_addr srv_agent_port"
)


def status(s: dict) -> str:
    top = s["rise"] + s["fall"] - 1
    if s["admin"] & MAINT:
        return "MAINT"
    if not s["up"]:
        return f"DOWN {s['health']}/{s['rise']}" if s["health"] else "DOWN"
    if s["admin"] & 0x08:
        return "DRAIN"
    if s["health"] < top:
        return f"UP {s['health'] - s['rise'] + 1}/{s['fall']}"
    return "UP"


def sessions(s: dict, now: float) -> int:
    if not s["up"] or s["admin"] & (MAINT | 0x08):
        return 0
    return max(0, int(s["base_sessions"] * (1 + 0.5 * math.sin(now / 97 + s["sid"]))))


def stat_rows(hap: dict, now: float) -> list[dict]:
    rows, iid = [], 1
    pid = 1
    for f in hap["frontends"]:
        stot = int((now - hap["start"]) * 25)
        rows.append(
            {
                "pxname": f["name"],
                "svname": "FRONTEND",
                "scur": 0,
                "smax": 0,
                "slim": 2000,
                "stot": stot,
                "bin": stot * 900,
                "bout": stot * 24000,
                "status": "OPEN",
                "pid": pid,
                "iid": iid,
                "sid": 0,
                "type": 0,
                "mode": "http",
            }
        )
        iid += 1
    for b in hap["backends"]:
        iid += 1
        total = 0
        for s in b["servers"]:
            ok = s["healthy"] and s["up"]
            scur = sessions(s, now)
            total += scur
            stot = int((now - hap["start"]) * s["rate"])
            rows.append(
                {
                    "pxname": b["name"],
                    "svname": s["name"],
                    "qcur": 0,
                    "qmax": 0,
                    "scur": scur,
                    "smax": s["base_sessions"] * 2,
                    "stot": stot,
                    "bin": stot * 700,
                    "bout": stot * 21000,
                    "econ": 0,
                    "eresp": 0,
                    "wretr": 0,
                    "wredis": 0,
                    "status": status(s),
                    "weight": s["weight"],
                    "act": int(not s["backup"]),
                    "bck": int(s["backup"]),
                    "chkfail": s["chkfail"],
                    "chkdown": s["chkdown"],
                    "lastchg": int(now - s["lastchg"]),
                    "downtime": 0,
                    "pid": pid,
                    "iid": iid,
                    "sid": s["sid"],
                    "lbtot": stot,
                    "type": 2,
                    "rate": 0,
                    "check_status": "L7OK" if ok else "L4CON" if s["healthy"] else "L7STS",
                    "check_code": 200 if ok else "" if s["healthy"] else 503,
                    "check_duration": 1 if ok else 0,
                    "last_chk": "OK"
                    if ok
                    else "Connection refused"
                    if s["healthy"]
                    else "HTTP status check returned code <3C>503<3E>",
                    "check_desc": "Layer7 check passed"
                    if ok
                    else "Layer4 connection problem"
                    if s["healthy"]
                    else "Layer7 wrong status",
                    "check_rise": s["rise"],
                    "check_fall": s["fall"],
                    "check_health": s["health"],
                    "addr": f"{s['addr']}:{s['port']}",
                    "mode": "http",
                    "uweight": s["weight"],
                }
            )
        up = [s for s in b["servers"] if s["up"] and not s["admin"] & MAINT]
        rows.append(
            {
                "pxname": b["name"],
                "svname": "BACKEND",
                "qcur": 0,
                "qmax": 0,
                "scur": total,
                "smax": total * 2,
                "slim": 200,
                "status": "UP" if up else "DOWN",
                "weight": sum(s["weight"] for s in up),
                "act": len(up),
                "bck": 0,
                "chkdown": sum(s["chkdown"] for s in b["servers"]),
                "lastchg": int(now - max((s["lastchg"] for s in b["servers"]), default=now)),
                "downtime": 0,
                "pid": pid,
                "iid": iid,
                "sid": 0,
                "type": 1,
                "mode": "http",
                "algo": b["balance"],
            }
        )
    return rows


def show_stat(hap: dict, now: float) -> str:
    lines = ["# " + ",".join(STAT_COLS) + ","]
    for r in stat_rows(hap, now):
        lines.append(",".join("" if r.get(c) is None else str(r.get(c)) for c in STAT_COLS) + ",")
    return "\n".join(lines) + "\n\n"


def show_servers_state(hap: dict, now: float, only: str | None) -> str:
    lines = ["1", STATE_HEADER]
    for be_id, b in enumerate(hap["backends"], 3):
        if only and b["name"] != only:
            continue
        for s in b["servers"]:
            ok = s["healthy"] and s["up"]
            lines.append(
                " ".join(
                    str(x)
                    for x in (
                        be_id,
                        b["name"],
                        s["sid"],
                        s["name"],
                        s["addr"],
                        2 if s["up"] else 0,
                        s["admin"],
                        s["weight"],
                        s["weight"],
                        int(now - s["lastchg"]),
                        15 if ok else 7,
                        3 if ok else 2,
                        s["health"],
                        6,
                        0,
                        0,
                        0,
                        "-",
                        s["port"],
                        "-",
                        0,
                        0,
                        "-",
                        "-",
                        0,
                    )
                )
            )
    return "\n".join(lines) + "\n\n"


def show_info(hap: dict, now: float, host: dict) -> str:
    up = int(now - hap["start"])
    d, rest = divmod(up, 86400)
    conns = sum(sessions(s, now) for b in hap["backends"] for s in b["servers"])
    cum = int(up * 25)
    info = [
        ("Name", "HAProxy"),
        ("Version", hap["version"]),
        ("Release_date", hap["release"]),
        ("Nbthread", 8),
        ("Nbproc", 1),
        ("Process_num", 1),
        ("Pid", hap["pid"]),
        ("Uptime", f"{d}d {rest // 3600}h{rest % 3600 // 60:02d}m{rest % 60:02d}s"),
        ("Uptime_sec", up),
        ("Memmax_MB", 0),
        ("PoolAlloc_MB", 3),
        ("PoolUsed_MB", 3),
        ("PoolFailed", 0),
        ("Ulimit-n", 200039),
        ("Maxsock", 200039),
        ("Maxconn", 100000),
        ("Hard_maxconn", 100000),
        ("CurrConns", conns),
        ("CumConns", cum),
        ("CumReq", cum * 3),
        ("MaxSslConns", 0),
        ("CurrSslConns", conns),
        ("CumSslConns", cum),
        ("Maxpipes", 0),
        ("PipesUsed", 0),
        ("PipesFree", 0),
        ("ConnRate", 25),
        ("ConnRateLimit", 0),
        ("MaxConnRate", 180),
        ("SessRate", 25),
        ("SessRateLimit", 0),
        ("MaxSessRate", 180),
        ("SslRate", 20),
        ("SslRateLimit", 0),
        ("MaxSslRate", 150),
        ("Tasks", 120),
        ("Run_queue", 1),
        ("Idle_pct", 97),
        ("node", host["fqdn"]),
        ("description", ""),
    ]
    return "".join(f"{k}: {v}\n" if v != "" else f"{k}:\n" for k, v in info) + "\n"


def find_server(hap: dict, spec: str):
    bname, _, sname = spec.partition("/")
    b = next((x for x in hap["backends"] if x["name"] == bname), None)
    if b is None:
        return None, "No such backend.\n\n"
    s = next((x for x in b["servers"] if x["name"] == sname), None)
    if s is None:
        return None, "No such server.\n\n"
    return s, None


def api(ctx, line: str) -> str:
    hap, now = ctx.host["haproxy"], ctx.now
    words = line.split()
    if words[:2] == ["show", "stat"]:
        return show_stat(hap, now)
    if words[:3] == ["show", "servers", "state"]:
        return show_servers_state(hap, now, words[3] if len(words) > 3 else None)
    if words[:2] == ["show", "info"]:
        return show_info(hap, now, ctx.host)
    verbs = {("enable", "server"): "ready", ("disable", "server"): "maint"}
    if tuple(words[:2]) in verbs and len(words) == 3:
        words = ["set", "server", words[2], "state", verbs[tuple(words[:2])]]
    if words[:2] == ["set", "server"] and len(words) == 5:
        s, err = find_server(hap, words[2])
        if err:
            return err
        what, value = words[3], words[4]
        if what == "state" and value in ("ready", "drain", "maint"):
            s["admin"] = (s["admin"] & ~0x09) | {"ready": 0, "drain": 0x08, "maint": 0x01}[value]
            s["last_check"] = now
        elif what == "weight" and value.rstrip("%").isdigit():
            s["weight"] = int(value.rstrip("%"))
        elif what == "health" and value in ("up", "down", "stopping"):
            s["up"] = value == "up"
            s["health"] = s["rise"] + s["fall"] - 1 if s["up"] else 0
            s["lastchg"] = now
        else:
            return (
                "'set server <srv>' only supports 'agent', 'health', 'state', 'weight', "
                "'addr', 'fqdn' and 'check-addr'.\n\n"
            )
        ctx.write()
        return "\n"
    return f"Unknown command: '{words[0] if words else ''}'\n\n"


@command("socat")
def socat(ctx, args, stdin):
    addrs = [a for a in args if not a.startswith("-") or a == "-"]
    socks = [
        a.split(":", 1)[1] if ":" in a else a
        for a in addrs
        if a.lower() not in ("stdio", "-", "stdin", "stdout")
    ]
    if len(addrs) != 2 or len(socks) != 1:
        return usage(
            f"socat[1] E exactly 2 addresses required (there are {len(addrs)}); "
            'use option "-h" for help'
        )
    if socks[0] != SOCK or not ctx.host["haproxy"]:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(ctx.now))
        return usage(
            f'{stamp} socat[{4242}] E connect(5, AF=1 "{socks[0]}", 23): No such file or directory'
        )
    out = []
    for line in stdin.replace(";", "\n").splitlines():
        if line.strip():
            out.append(api(ctx, line.strip()))
    return "".join(out), "", 0
