from hosts.models.backups import BackupJob
from hosts.models.inventory import Cluster, ClusterMember, Host, Site, SSHCredential

__all__ = ["BackupJob", "Cluster", "ClusterMember", "Host", "SSHCredential", "Site"]
