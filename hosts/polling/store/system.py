"""Store the host's FreeBSD version and uname into HostFacts."""

from __future__ import annotations

from hosts.polling.plan import Section
from hosts.polling.store.common import PollContext, read


def store_system(ctx: PollContext, sections: dict[str, Section]) -> None:
    version = read(ctx, "system", sections.get("freebsd-version"))
    uname = read(ctx, "system", sections.get("uname"))
    if version is not None and version.versions:
        # freebsd-version prints the userland version (the first line without -k/-u).
        text = version.versions[0].text
        ctx.change("host", ctx.host.name, "freebsd_version", ctx.facts.freebsd_version, text)
        ctx.facts.freebsd_version = text
    if uname is not None and uname.sysname:
        ctx.facts.uname = sections["uname"].output.strip()[:300]
