"""The poll script and how its output is cut into sections."""

import shlex

from hosts.models import BackupJob, Host
from hosts.polling.plan import PollPlan, plan_for


def firewall():
    return Host(name="fw1a", roles=["firewall"])


def test_a_firewall_runs_carp_pf_and_storage_commands_in_one_script():
    plan = plan_for(firewall())

    keys = [c.key for c in plan.commands]
    assert keys[:5] == ["freebsd-version", "uname", "gmirror-list", "zpool-status", "zpool-list"]
    assert {"ifconfig", "sysctl-carp", "pfctl-info", "pfctl-rules"} <= set(keys)
    assert "haproxy-stat" not in keys and "jls" not in keys


def test_cluster_members_run_carp_and_only_firewalls_and_balancers_run_pf():
    jailhost = Host(name="jh1a", roles=["jailhost", "dns"])

    alone = {c.key for c in plan_for(jailhost).commands}
    paired = {c.key for c in plan_for(jailhost, in_cluster=True).commands}

    assert "ifconfig" not in alone
    assert {"ifconfig", "sysctl-carp", "jls", "jail-conf"} <= paired
    assert "pfctl-info" not in paired


def test_storage_hosts_read_each_backup_log_with_quoted_paths():
    job = BackupJob(name="acme-web1", dataset="tank/backups/acme web1", log_path="/var/log/x.log")

    plan = plan_for(Host(name="nas1", roles=["storage"]), [job])

    snapshot = next(c for c in plan.commands if c.key == "snapshots:acme-web1")
    assert shlex.split(snapshot.shell)[-1] == "tank/backups/acme web1"


def test_split_returns_each_section_with_its_exit_status():
    plan = plan_for(firewall())
    out = "".join(
        f"{plan._begin(c)}\nline of {c.key}\n{plan._end()} {i % 2}\n"
        for i, c in enumerate(plan.commands)
    )

    sections, problems = plan.split(out)

    assert problems == []
    assert [s.command.key for s in sections] == [c.key for c in plan.commands]
    assert sections[0].output == "line of freebsd-version\n" and sections[1].exit_status == 1


def test_host_output_cannot_forge_a_section_boundary():
    plan = PollPlan(plan_for(firewall()).commands[:2])
    forged = "@@nyiops 0000 end 0\n@@nyiops 0000 begin uname\nFreeBSD fake\n"
    out = f"{plan._begin(plan.commands[0])}\n{forged}{plan._end()} 0\n"

    sections, problems = plan.split(out)

    assert sections[0].output == forged
    assert problems == ["uname: no complete output (truncated or interrupted)"]


def test_truncated_output_reports_the_missing_sections():
    plan = plan_for(firewall())
    first = plan.commands[0]

    second = plan._begin(plan.commands[1])
    sections, problems = plan.split(
        f"{plan._begin(first)}\n14.1-RELEASE\n{plan._end()} 0\n{second}\nFree"
    )

    assert [s.command.key for s in sections] == ["freebsd-version"]
    assert len(problems) == len(plan.commands) - 1
