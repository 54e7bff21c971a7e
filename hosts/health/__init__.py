"""Health: pure rules per subsystem (host, gmirror, zpool, haproxy, carp, backups, polls)
over plain views (`state`), the thresholds and severities they judge by (`verdicts`), and
`store`, the one module that loads views from the database and stores findings."""
