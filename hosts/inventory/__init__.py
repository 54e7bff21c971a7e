"""Inventory: what the NOC declares (services that people call, the inventory file's
import/export, SSH key text). Writes here are audited; nothing here talks to a host."""
