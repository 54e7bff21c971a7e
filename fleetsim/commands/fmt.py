"""Number formatting shared by the zpool and zfs commands (a leaf: storage and zfs both
use it; it used to live in storage, which made storage and zfs import each other)."""

from __future__ import annotations


def nice(n: float) -> str:
    """zfs_nicenum: three significant digits and a unit, like `1.49T`, `641M`, `0B`."""
    for unit in ("B", "K", "M", "G", "T", "P"):
        if n < 1024:
            if unit == "B":
                return f"{int(n)}B"
            return f"{n:.2f}{unit}" if n < 10 else f"{n:.1f}{unit}" if n < 100 else f"{n:.0f}{unit}"
        n /= 1024
    return f"{n:.0f}E"
