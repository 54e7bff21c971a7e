"""What to run on a host of each role, in one SSH round trip, and how to cut the output.

A poll is one exec of a shell script built only from fixed strings and validated values
(dataset names and log paths pass model validators, and are shlex-quoted anyway). Each
command's output is framed by marker lines carrying a per-poll nonce, so text printed by a
host can never forge a section boundary."""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass, field

from hosts.models import BackupJob, Host

# The -o columns the poller asks for; the parsers are told them because -H prints no header.
ZPOOL_LIST_COLUMNS = ("name", "size", "alloc", "free", "frag", "cap", "health")


ZFS_SNAPSHOT_COLUMNS = ("name", "creation", "used", "referenced")


HAPROXY_SOCKET = "/var/run/haproxy.sock"


@dataclass(frozen=True)
class Command:
    """One command of a poll: `key` names its section, `kind` the parser that reads it."""

    key: str
    shell: str
    kind: str | None
    columns: tuple[str, ...] | None = None
    subject: str = ""  # e.g. the backup job a log belongs to


@dataclass
class Section:
    command: Command
    output: str
    exit_status: int | None


@dataclass
class PollPlan:
    commands: list[Command]
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))

    def script(self) -> str:
        lines = []
        for cmd in self.commands:
            lines.append(f"echo {shlex.quote(self._begin(cmd))}")
            # stderr stays on its own stream; the section's exit status says what failed.
            lines.append(cmd.shell)
            lines.append(f'echo "{self._end()} $?"')
        return "; ".join(lines)

    def _begin(self, cmd: Command) -> str:
        return f"@@nyiops {self.nonce} begin {cmd.key}"

    def _end(self) -> str:
        return f"@@nyiops {self.nonce} end"

    def split(self, stdout: str) -> tuple[list[Section], list[str]]:
        """Cut stdout into one section per command. Missing sections (output truncated, the
        script killed) are reported, never invented."""
        by_key = {cmd.key: cmd for cmd in self.commands}
        sections: list[Section] = []
        problems: list[str] = []
        current: Command | None = None
        buffer: list[str] = []
        begin_prefix = f"@@nyiops {self.nonce} begin "
        end_prefix = f"{self._end()} "
        for line in stdout.splitlines():
            if line.startswith(begin_prefix):
                current = by_key.get(line[len(begin_prefix) :])
                buffer = []
            elif current is not None and line.startswith(end_prefix):
                status_text = line[len(end_prefix) :].strip()
                status = int(status_text) if status_text.isdigit() else None
                sections.append(Section(current, "\n".join(buffer) + "\n", status))
                current = None
            elif current is not None:
                buffer.append(line)
        seen = {s.command.key for s in sections}
        for cmd in self.commands:
            if cmd.key not in seen:
                problems.append(f"{cmd.key}: no complete output (truncated or interrupted)")
        return sections, problems


def _socat(request: str) -> str:
    return f"echo {shlex.quote(request)} | socat stdio {HAPROXY_SOCKET}"


BASE = [
    Command("freebsd-version", "freebsd-version", "freebsd-version"),
    Command("uname", "uname -a", "uname"),
    Command("gmirror-list", "gmirror list", "gmirror-list"),
    Command("zpool-status", "zpool status -p", "zpool-status"),
    Command(
        "zpool-list",
        "zpool list -Hp -o " + ",".join(ZPOOL_LIST_COLUMNS),
        "zpool-list",
        ZPOOL_LIST_COLUMNS,
    ),
]


CARP = [
    Command("ifconfig", "ifconfig -a", "ifconfig"),
    Command("sysctl-carp", "sysctl net.inet.carp", "sysctl"),
]


PF = [
    Command("pfctl-info", "pfctl -si", "pfctl-info"),
    Command("pfctl-rules", "pfctl -sr", None),
]


HAPROXY = [
    Command("haproxy-stat", _socat("show stat"), "haproxy-stat"),
    Command("haproxy-servers-state", _socat("show servers state"), "haproxy-servers-state"),
]


JAILS = [
    # -v: the default field set has no jail name (jls(8)); -v adds name, state and all IPs.
    Command("jls", "jls -v --libxo json", "jls"),
    Command("jail-conf", "cat /etc/jail.conf", None),
]


def plan_for(
    host: Host, backup_jobs: list[BackupJob] | None = None, *, in_cluster: bool = False
) -> PollPlan:
    """The commands a host's roles call for, in a fixed order. Any member of a cluster runs
    CARP (a jail-service pair holds its VIPs with CARP too); pf belongs to the firewall and
    load-balancer roles."""
    commands = list(BASE)
    pf_role = host.has_role("firewall") or host.has_role("loadbalancer")
    if pf_role or in_cluster:
        commands += CARP
    if pf_role:
        commands += PF
    if host.has_role("loadbalancer"):
        commands += HAPROXY
    if host.has_role("jailhost") or host.has_role("dns"):
        commands += JAILS
    if host.has_role("storage"):
        for job in backup_jobs or []:
            commands.append(
                Command(
                    f"backup-log:{job.name}",
                    f"cat {shlex.quote(job.log_path)}",
                    None,
                    subject=job.name,
                )
            )
            commands.append(
                Command(
                    f"snapshots:{job.name}",
                    "zfs list -Hp -t snapshot -o "
                    + ",".join(ZFS_SNAPSHOT_COLUMNS)
                    + f" -s creation -r {shlex.quote(job.dataset)}",
                    "zfs-list",
                    ZFS_SNAPSHOT_COLUMNS,
                    subject=job.name,
                )
            )
    return PollPlan(commands)
