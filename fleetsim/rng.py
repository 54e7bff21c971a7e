"""Deterministic randomness: one seeded generator per name, shared by the state builder and
the backup runs so a fleet rebuilt from the same spec looks the same. Imports nothing from
fleetsim, so any module may use it."""

from __future__ import annotations

import hashlib
import random


def rng_for(*parts) -> random.Random:
    seed = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))
