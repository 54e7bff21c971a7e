"""The observe pipeline's moving part: `plan` (which commands, framed how), `run` (one poll
of one host over SSH) and `store/` (one module per subsystem writing observed rows). Health
judgement is not here: run calls hosts.health.store after storing."""
