"""File commands on the host's virtual filesystem: cat, cp, mv, rm, mkdir, rmdir, touch,
chmod, ls, tee, test/[, sha256 — with the messages FreeBSD's tools print.

Owns only the command-line behaviour; what exists and the errno texts come from
``fleetsim.vfs``. Must not bypass the View (so the host is marked for saving).
"""

from __future__ import annotations

import hashlib
import posixpath

from ..vfs import EISDIR, ENOENT, FsError, View
from .registry import command, usage


def fs(ctx) -> View:
    return View(ctx.fleet, ctx.name)


def split(args: list[str]) -> tuple[str, list[str]]:
    """(flag letters, operands); `--` ends the options."""
    flags, ops, i = "", [], 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        if args[i] == "--":
            i += 1
            break
        flags += args[i][1:]
        i += 1
    return flags, ops + args[i:]


@command("cat")
def cat(ctx, args, stdin):
    _flags, names = split(args)
    if not names:
        return stdin, "", 0
    view, out, err = fs(ctx), [], []
    for a in names:
        if a == "-":
            out.append(stdin)
            continue
        try:
            out.append(view.read(a))
        except FsError as exc:
            err.append(f"cat: {a}: {exc}\n")
    return "".join(out), "".join(err), 1 if err else 0


@command("tee")
def tee(ctx, args, stdin):
    flags, names = split(args)
    view, err = fs(ctx), []
    for a in names:
        try:
            view.write(a, stdin, append="a" in flags)
        except FsError as exc:
            err.append(f"tee: {a}: {exc}\n")
    return stdin, "".join(err), 1 if err else 0


def _target(view: View, src: str, dst: str) -> str:
    return posixpath.join(dst, posixpath.basename(src)) if view.is_dir(dst) else dst


@command("cp")
def cp(ctx, args, stdin):
    _flags, names = split(args)
    if len(names) < 2:
        return usage(
            "usage: cp [-R [-H | -L | -P]] [-f | -i | -n] [-alNpsvx] source_file target_file\n"
            "       cp [-R [-H | -L | -P]] [-f | -i | -n] [-alNpsvx] source_file ... "
            "target_directory"
        )
    view, err = fs(ctx), []
    *srcs, dst = names
    if len(srcs) > 1 and not view.is_dir(dst):
        return usage(f"cp: {dst} is not a directory")
    for src in srcs:
        if view.is_dir(src):
            err.append(f"cp: {src} is a directory (not copied).\n")
            continue
        try:
            text = view.read(src)
        except FsError as exc:
            err.append(f"cp: {src}: {exc}\n")
            continue
        target = _target(view, src, dst)
        try:
            view.write(target, text)
        except FsError as exc:
            err.append(f"cp: {target}: {exc}\n")
    return "", "".join(err), 1 if err else 0


@command("mv")
def mv(ctx, args, stdin):
    _flags, names = split(args)
    if len(names) != 2:
        return usage(
            "usage: mv [-f | -i | -n] [-hv] source target\n"
            "       mv [-f | -i | -n] [-v] source ... directory"
        )
    view = fs(ctx)
    src, dst = names
    target = _target(view, src, dst)
    try:
        text = view.read(src)
        view.write(target, text)
        view.remove(src)
    except FsError as exc:
        return usage(f"mv: rename {src} to {target}: {exc}")
    return "", "", 0


@command("rm")
def rm(ctx, args, stdin):
    flags, names = split(args)
    force, recursive = "f" in flags, bool({"r", "R"} & set(flags))
    if not names:
        if force:
            return "", "", 0
        return usage("usage: rm [-f | -i] [-dIPRrvWx] file ...\n       unlink [--] file")
    view, err = fs(ctx), []
    for a in names:
        try:
            if view.is_dir(a):
                if not recursive:
                    raise FsError(a, EISDIR.lower())
                _rm_tree(view, a)
            else:
                view.remove(a)
        except FsError as exc:
            if not (force and exc.reason == ENOENT):
                err.append(f"rm: {a}: {exc}\n")
    return "", "".join(err), 1 if err else 0


def _rm_tree(view: View, path: str) -> None:
    for child in view.listdir(path):
        sub = posixpath.join(path, child)
        if view.is_dir(sub):
            _rm_tree(view, sub)
        else:
            view.remove(sub)
    view.rmdir(path)


@command("mkdir")
def mkdir(ctx, args, stdin):
    flags, names = split([a for a in args if a not in ("-m",)])
    if not names:
        return usage("usage: mkdir [-pv] [-m mode] directory_name ...")
    view, err = fs(ctx), []
    for a in names:
        try:
            view.mkdir(a, parents="p" in flags)
        except FsError as exc:
            err.append(f"mkdir: {a}: {exc}\n")
    return "", "".join(err), 1 if err else 0


@command("rmdir")
def rmdir(ctx, args, stdin):
    _flags, names = split(args)
    view, err = fs(ctx), []
    for a in names:
        try:
            view.rmdir(a)
        except FsError as exc:
            err.append(f"rmdir: {a}: {exc}\n")
    return "", "".join(err), 1 if err else 0


@command("touch")
def touch(ctx, args, stdin):
    _flags, names = split(args)
    view, err = fs(ctx), []
    for a in names:
        try:
            if not view.exists(a):
                view.write(a, "")
        except FsError as exc:
            err.append(f"touch: {a}: {exc}\n")
    return "", "".join(err), 1 if err else 0


def _attrs(tool: str, ctx, args) -> tuple[str, str, int]:
    """chmod/chown MODE|OWNER PATH...: modes and owners are not modelled, existence is."""
    _flags, names = split(args)
    view = fs(ctx)
    err = [f"{tool}: {a}: {ENOENT}\n" for a in names[1:] if not view.exists(a)]
    return "", "".join(err), 1 if err else 0


@command("chmod")
def chmod(ctx, args, stdin):
    return _attrs("chmod", ctx, args)


@command("chown")
def chown(ctx, args, stdin):
    return _attrs("chown", ctx, args)


@command("ls")
def ls(ctx, args, stdin):
    _flags, names = split(args)
    view, out, err = fs(ctx), [], []
    for a in names or ["."]:
        if view.is_dir(a):
            out += [n + "\n" for n in view.listdir(a)]
        elif view.is_file(a):
            out.append(a + "\n")
        else:
            err.append(f"ls: {a}: {ENOENT}\n")
    return "".join(out), "".join(err), 1 if err else 0


@command("sha256", "sha256sum")
def sha256(ctx, args, stdin):
    flags, names = split(args)
    if not names:
        return hashlib.sha256(stdin.encode()).hexdigest() + "\n", "", 0
    view, out, err = fs(ctx), [], []
    for a in names:
        try:
            digest = hashlib.sha256(view.read(a).encode()).hexdigest()
        except FsError as exc:
            err.append(f"sha256: {a}: {exc}\n")
            continue
        out.append(f"{digest}\n" if "q" in flags else f"SHA256 ({a}) = {digest}\n")
    return "".join(out), "".join(err), 1 if err else 0


UNARY = {
    "-e": lambda v, p: v.exists(p),
    "-f": lambda v, p: v.is_file(p),
    "-d": lambda v, p: v.is_dir(p),
    "-s": lambda v, p: v.is_file(p) and bool(v.read(p)),
    "-r": lambda v, p: v.exists(p),
    "-w": lambda v, p: v.exists(p),
    "-x": lambda v, p: v.is_dir(p),
    "-L": lambda v, p: False,
    "-h": lambda v, p: False,
}


@command("test", "[")
def test(ctx, args, stdin):
    name = "test"
    if args and args[-1] == "]":
        args, name = args[:-1], "["
    try:
        ok = _test(fs(ctx), list(args))
    except ValueError as exc:
        return usage(f"{name}: {exc}", 2)
    return "", "", 0 if ok else 1


def _test(view: View, a: list[str]) -> bool:
    if not a:
        return False
    if a[0] == "!":
        return not _test(view, a[1:])
    if len(a) == 1:
        return a[0] != ""
    if len(a) == 2:
        if a[0] in UNARY:
            return bool(UNARY[a[0]](view, a[1]))
        if a[0] in ("-n", "-z"):
            return (a[1] != "") == (a[0] == "-n")
        raise ValueError(f"{a[0]}: unexpected operator")
    if len(a) == 3:
        left, op, right = a
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
        ints = {"-eq": "__eq__", "-ne": "__ne__", "-lt": "__lt__", "-le": "__le__"}
        ints |= {"-gt": "__gt__", "-ge": "__ge__"}
        if op in ints:
            try:
                return getattr(int(left), ints[op])(int(right))
            except ValueError:
                raise ValueError(f"{left}: bad number") from None
        raise ValueError(f"{op}: unexpected operator")
    raise ValueError("parameter list too long")
