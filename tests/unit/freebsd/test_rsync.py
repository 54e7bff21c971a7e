"""rsync --stats."""

from __future__ import annotations

from hosts.freebsd import parse_rsync_stats

from .samples import read


def test_code23_error_only():
    r = parse_rsync_stats(read("rsync-error__code23-chgrp-operation-not-permitted.txt"))
    assert r.exit_code == 23
    assert len(r.error_lines) == 2
    assert r.error_lines[0].startswith("rsync: [generator] chgrp")
    assert r.files_total is None and r.bytes_sent is None


def test_dry_run_human_readable():
    r = parse_rsync_stats(read("rsync-stats__dry-run-human-readable.txt"))
    assert (r.files_total, r.files_created, r.files_deleted, r.files_transferred) == (
        89298, 4803, 0, 4349,
    )  # fmt: skip
    assert r.files_by_type == {"reg": 80773, "dir": 8525}
    assert r.total_file_size == 86_940_000_000 and r.total_transferred_size == 23_910_000_000
    assert (r.literal_data, r.matched_data) == (0, 0)
    assert r.bytes_sent == 26_160 and r.bytes_received == 4_570_000
    assert r.dry_run is True and r.sizes_approximate is True and r.exit_code is None
    assert r.speedup == 18934.93


def test_no_changes_comma_bytes():
    r = parse_rsync_stats(read("rsync-stats__no-changes-comma-bytes.txt"))
    assert (r.files_total, r.files_created, r.files_transferred) == (17, 0, 0)
    assert r.files_deleted is None  # no --delete: absent, not 0
    assert r.total_file_size == 478738 and r.total_transferred_size == 0
    assert (r.bytes_sent, r.bytes_received) == (73, 437)
    assert r.speedup == 938.7 and r.dry_run is False and r.sizes_approximate is False
    assert r.error_lines == () and r.exit_code is None


def test_stats_with_errors_and_terabytes():
    text = (
        'rsync: send_files failed to open "/a/b": Permission denied (13)\n'
        "Number of files: 3\nNumber of files transferred: 1\n"
        "Total file size: 6.17T bytes\nTotal transferred file size: 1.00K bytes\n"
        "Literal data: 1,024 bytes\nMatched data: 0 bytes\n"
        "Total bytes sent: 2,000\nTotal bytes received: 30\n\n"
        "sent 2,000 bytes  received 30 bytes  4,060.00 bytes/sec\n"
        "total size is 6.17T  speedup is 1.00\n"
        "rsync error: some files/attrs were not transferred (see previous errors) "
        "(code 23) at main.c(1338) [sender=3.1.3]\n"
    )
    r = parse_rsync_stats(text)
    assert r.total_file_size == 6_170_000_000_000 and r.literal_data == 1024
    assert r.files_transferred == 1 and r.exit_code == 23 and len(r.error_lines) == 2
