"""The fleet: inventory, observed state, the SSH layer, FreeBSD parsers, polling, health rules
and the NOC's read side. Layout and import rules: docs/architecture.md."""
