"""fleetsim command line: serve | ctl (fault, heal, status) | exec | check."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from . import ctl
from .faults import FaultError
from .shell import needs_stdin
from .spec import SpecError, load_spec


class _NoServeError(Exception):
    """Stands in for server.ServeError when the server (and asyncssh) was not imported."""


def _serve(args) -> int:
    from .server import FleetServer  # asyncssh is slow to import; ctl and exec skip it

    async def main() -> None:
        server = FleetServer(
            args.spec,
            args.state,
            base_port=args.base_port,
            bind=args.bind,
            scale_n=args.scale,
            time_scale=args.time_scale,
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        await server.start()
        print(server.banner(), flush=True)
        try:
            await server.run_forever()
        finally:
            await server.shutdown()

    asyncio.run(main())
    return 0


def _ctl(args) -> int:
    if args.action == "fault":
        seq = ctl.inject_fault(args.state, args.target, args.kind, *args.args)
        print(f"fleetsim: fault {args.kind} on {args.target} (seq {seq})")
    elif args.action == "heal":
        seq = ctl.heal(args.state, args.target, args.kind)
        print(f"fleetsim: healed {args.kind or 'all faults'} on {args.target} (seq {seq})")
    else:
        print(ctl.dumps(ctl.status(args.state)))
    return 0


def _exec(args) -> int:
    command = (
        args.command if args.command is not None else os.environ.get("SSH_ORIGINAL_COMMAND", "")
    )
    stdin = sys.stdin.read() if needs_stdin(command) and not sys.stdin.isatty() else ""
    out, err, rc = ctl.exec_command(args.state, args.host, command, stdin)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return rc


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fleetsim")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve every host of the spec over SSH")
    s.add_argument("--spec", required=True)
    s.add_argument("--state", required=True)
    s.add_argument(
        "--base-port",
        type=int,
        default=22000,
        help="host N (1-based, spec order) listens on base+N; 0 = free ports",
    )
    s.add_argument("--scale", type=int, default=0, help="add N generated hosts")
    s.add_argument("--bind", default="127.0.0.1")
    s.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulated seconds per real second (dynamics only)",
    )
    c = sub.add_parser("ctl", help="inject/heal faults, show status")
    c.add_argument("--state", required=True)
    csub = c.add_subparsers(dest="action", required=True)
    f = csub.add_parser("fault")
    f.add_argument("target")
    f.add_argument("kind")
    f.add_argument("args", nargs="*")
    h = csub.add_parser("heal")
    h.add_argument("target")
    h.add_argument("kind", nargs="?")
    csub.add_parser("status")
    e = sub.add_parser("exec", help="run SSH_ORIGINAL_COMMAND on one host (sshd ForceCommand)")
    e.add_argument("--state", required=True)
    e.add_argument("--host", required=True)
    e.add_argument("--command")
    k = sub.add_parser("check", help="validate a spec")
    k.add_argument("--spec", required=True)
    return p


def _serve_error() -> type[Exception]:
    mod = sys.modules.get("fleetsim.server")
    return mod.ServeError if mod else _NoServeError


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.cmd == "serve":
            return _serve(args)
        if args.cmd == "ctl":
            return _ctl(args)
        if args.cmd == "exec":
            return _exec(args)
        spec = load_spec(args.spec)
        print(f"fleetsim: {args.spec}: {len(spec['hosts'])} hosts OK")
        return 0
    except (SpecError, FaultError, _serve_error()) as exc:
        print(f"fleetsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
