"""What each SLA tier may hold in jails (count and disk). Pure data and arithmetic: the
placement preview and the request form read it; nothing here touches the database."""

from dataclasses import dataclass

from customers.choices import SlaTier


@dataclass(frozen=True)
class TierLimit:
    jails: int
    disk_gb: int
    max_jail_gb: int


TIER_LIMITS = {
    SlaTier.BRONZE: TierLimit(jails=2, disk_gb=40, max_jail_gb=20),
    SlaTier.SILVER: TierLimit(jails=5, disk_gb=200, max_jail_gb=50),
    SlaTier.GOLD: TierLimit(jails=10, disk_gb=500, max_jail_gb=100),
    SlaTier.PLATINUM: TierLimit(jails=25, disk_gb=2000, max_jail_gb=250),
}


def limit_for(tier: str) -> TierLimit:
    return TIER_LIMITS.get(tier, TIER_LIMITS[SlaTier.BRONZE])
