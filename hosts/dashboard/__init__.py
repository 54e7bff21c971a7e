"""Read side of the NOC pages: one builder module per overview widget (hosts, findings,
clusters, storage, backups), the drill-down pages (`detail`), search and SVG charts.

Every builder runs a fixed number of queries whatever the fleet size (joins, subqueries and
aggregates; never a query per row) and returns plain frozen dataclasses, so a widget's
`version` is a digest of exactly what its template shows: a poll that finds nothing new
leaves the digest unchanged and the partial view answers 204 without rendering. Ages are
not part of the digest (static/js/live.js keeps them current); staleness is, because it
changes what the widget says. Each takes `known`, the version the client holds: the cluster
widgets, the costly ones, compare it before building any view; the others are cheap enough
to build and compare after.

Must not: write anything, or judge anything itself: tones and verdicts come from
hosts/health/verdicts.py, the judge the health rules use too."""
