"""Deterministic randomness: one seeded generator per named thing, so the same fleet spec
always builds the same fleet and history. A leaf: both build and backups draw from it
(it used to live in build, which made backups and build import each other)."""

from __future__ import annotations

import hashlib
import random


def rng_for(*parts) -> random.Random:
    seed = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))
