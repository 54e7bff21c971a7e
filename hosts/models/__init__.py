"""The hosts app's models, one module per subsystem; `from hosts.models import X` is the
way to import any of them. Must not: import a higher app (alerts, operations)."""

from hosts.models.backups import BackupJob, BackupRun
from hosts.models.carp import CarpVhid
from hosts.models.events import MetricSample, PollRun, StatusEvent
from hosts.models.findings import Finding, Severity
from hosts.models.generation import DashboardGeneration
from hosts.models.gmirror import Mirror, MirrorComponent
from hosts.models.haproxy import HaproxyBackend, HaproxyServer
from hosts.models.inventory import Cluster, ClusterMember, Host, Site, SSHCredential
from hosts.models.jails import Jail
from hosts.models.observed import HostFacts
from hosts.models.shards import PollShard
from hosts.models.zpool import ZPool, ZPoolDevice

__all__ = [
    "BackupJob",
    "BackupRun",
    "CarpVhid",
    "Cluster",
    "ClusterMember",
    "DashboardGeneration",
    "Finding",
    "HaproxyBackend",
    "HaproxyServer",
    "Host",
    "HostFacts",
    "Jail",
    "MetricSample",
    "Mirror",
    "MirrorComponent",
    "PollRun",
    "PollShard",
    "SSHCredential",
    "Severity",
    "Site",
    "StatusEvent",
    "ZPool",
    "ZPoolDevice",
]
