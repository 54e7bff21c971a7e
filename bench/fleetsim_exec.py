"""CPU cost of one exec string in fleetsim (shell + command table), no SSH, no server.

    .venv/bin/python bench/fleetsim_exec.py [--rounds 400] [--fleetsim PATH]

Builds the tests' small fleet in a temporary state directory and runs poll-shaped command
lines (what the poller sends through its `env LC_ALL=C timeout ... sh -c` wrapper) and
act-shaped ones (file write from stdin, sysctl demotion and back, a zfs create/destroy,
a HAProxy drain and ready), `--rounds` times each, best of three. Reports process CPU
time per exec (`time.process_time`), which a shared, loaded machine disturbs far less
than wall time. `--fleetsim PATH` measures another copy of the package (e.g. one exported
with `git archive main fleetsim | tar -x -C /tmp/main`) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WRAP = "env LC_ALL=C timeout -k 5 20 sh -c "
POLL = [
    ("fwa", WRAP + "'ifconfig -a; sysctl net.inet.carp; pfctl -si'"),
    ("nas", WRAP + "'zpool status -p; zpool list -Hp -o name,size,alloc,free,health'"),
    ("nas", WRAP + "'gmirror status; cat /var/log/nyiops-backup/acme-web.log'"),
    ("lba", WRAP + "'echo \"show stat\" | socat stdio /var/run/haproxy.sock'"),
    ("web", WRAP + "'jls -v --libxo json'"),
]
ACT = [
    ("fwa", WRAP + "'cat > /etc/sysctl.conf.local'", "net.inet.carp.demotion=240\n"),
    ("fwa", WRAP + "'sysctl net.inet.carp.demotion=240; sysctl net.inet.carp.demotion=-240'", ""),
    ("nas", WRAP + "'zfs create -o quota=10G tank/b1 && zfs destroy tank/b1'", ""),
    (
        "lba",
        WRAP + "'echo \"set server web/w1 state drain\" | socat stdio /var/run/haproxy.sock'",
        "",
    ),
    (
        "lba",
        WRAP + "'echo \"set server web/w1 state ready\" | socat stdio /var/run/haproxy.sock'",
        "",
    ),
]


def measure(run, cases, rounds: int) -> float:
    best = None
    for _ in range(3):
        t0 = time.process_time()
        for _ in range(rounds):
            for case in cases:
                run(*case)
        per = (time.process_time() - t0) / (rounds * len(cases))
        best = per if best is None else min(best, per)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=400)
    ap.add_argument("--fleetsim", help="directory holding the fleetsim package to measure")
    args = ap.parse_args()
    if args.fleetsim:
        sys.path.insert(0, args.fleetsim)
    sys.path.insert(1, str(REPO))
    import fleetsim
    from fleetsim import commands
    from fleetsim.spec import load_spec
    from fleetsim.state import Fleet
    from tests.fleetsim.conftest import small_spec

    with tempfile.TemporaryDirectory() as state:
        fleet = Fleet(load_spec(small_spec()), state)
        poll = measure(lambda h, line: commands.run(fleet, h, line), POLL, args.rounds)
        print(f"{Path(fleetsim.__file__).parent}: poll-shaped exec {poll * 1e6:.0f} us CPU")
        try:
            act = measure(lambda h, line, sin: commands.run(fleet, h, line, sin), ACT, args.rounds)
        except TypeError:  # a fleetsim without stdin
            return
        print(f"{Path(fleetsim.__file__).parent}: act-shaped exec {act * 1e6:.0f} us CPU")


if __name__ == "__main__":
    main()
