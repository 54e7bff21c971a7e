"""The act pipeline: operations that plan, get approved, run over SSH, verify and roll back.

Owns Operation, its steps, timeline, locks and the kinds (operations/actions/); hosts and
alerts never import it."""
