"""The append-only audit trail: who changed what, when, with what before and after.
Imports no other app."""
