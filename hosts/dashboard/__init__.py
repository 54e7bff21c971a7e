"""Read side of the NOC pages: one builder module per overview widget (hosts, findings,
clusters, storage, backups), the drill-down pages (`detail`), search and SVG charts. No
writes; a fixed number of queries per widget whatever the fleet size."""
