from hosts.models.backups import BackupJob, BackupRun
from hosts.models.events import Finding, MetricSample, PollRun, Severity, StatusEvent
from hosts.models.inventory import Cluster, ClusterMember, Host, Site, SSHCredential
from hosts.models.observed import (
    CarpVhid,
    HaproxyBackend,
    HaproxyServer,
    HostFacts,
    Jail,
    Mirror,
    MirrorComponent,
    ZPool,
    ZPoolDevice,
)

__all__ = [
    "BackupJob",
    "BackupRun",
    "CarpVhid",
    "Cluster",
    "ClusterMember",
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
    "SSHCredential",
    "Severity",
    "Site",
    "StatusEvent",
    "ZPool",
    "ZPoolDevice",
]
