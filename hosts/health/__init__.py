"""Health: pure rules per subsystem (host, gmirror, zpool, haproxy, carp, backups, polls)
over plain snapshots of observed state (`state`), judged by the one judge (`verdicts`:
severities, tones, thresholds, staleness); `store` is the one module that loads the
snapshots from the database and stores what the rules found as Finding rows.
Must not: talk to hosts (that is polling/) or render anything (that is dashboard/)."""
