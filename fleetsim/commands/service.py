"""service(8): routes `service SCRIPT VERB [ARGS]` to the rc.d scripts fleetsim models
(jail, haproxy); anything else answers as service(8) does for a missing script."""

from __future__ import annotations

from .haproxy import service_haproxy
from .jails import service_jail
from .registry import command, usage


@command("service")
def service(ctx, args, stdin):
    if len(args) < 2:
        return usage("usage: service [-j <jail name or id>] <rc.d script> <command>")
    script, verb, rest = args[0], args[1], args[2:]
    if script == "jail":
        return service_jail(ctx, verb, rest)
    if script == "haproxy" and ctx.host["haproxy"]:
        return service_haproxy(ctx, verb)
    return usage(f"{script} does not exist in /etc/rc.d or the local startup")
