"""Each host's virtual filesystem: the files nyiops reads and writes, kept in the host state.

Owns: stored files (``host["files"]``: path -> text) and directories (``host["dirs"]``),
the files generated from the state (backup logs, /var/log/messages, /etc/jail.conf until
someone writes it), and the errno-style answers FreeBSD's tools print (`No such file or
directory`, `Is a directory`, `File exists`, `Not a directory`, `Permission denied`).
Directories also come from the state: dataset mountpoints, jail paths, mount points.

It must not print anything itself (callers format the message their tool prints) and it
never touches the real filesystem.
"""

from __future__ import annotations

import posixpath

from . import backups

ENOENT = "No such file or directory"
EISDIR = "Is a directory"
EEXIST = "File exists"
ENOTDIR = "Not a directory"
EACCES = "Permission denied"
ENOTEMPTY = "Directory not empty"
HOME = "/home/nyiops"
BASE_DIRS = (
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/etc/jail.conf.d",
    "/etc/rc.conf.d",
    "/home",
    HOME,
    "/mnt",
    "/root",
    "/sbin",
    "/tmp",  # noqa: S108 - a directory of the simulated host, not a temp file
    "/usr",
    "/usr/local",
    "/usr/local/etc",
    "/usr/local/jails",
    "/var",
    "/var/db",
    "/var/log",
    "/var/run",
)


class FsError(OSError):
    """``str(exc)`` is the errno text; ``exc.path`` the path it is about."""

    def __init__(self, path: str, reason: str):
        super().__init__(reason)
        self.path, self.reason = path, reason

    def __str__(self) -> str:
        return self.reason


def seed(host: dict) -> None:
    """Give a host built by an older fleetsim (or just built) its directories."""
    dirs = set(host.get("dirs") or BASE_DIRS)
    if host.get("haproxy"):
        dirs.add("/var/db/haproxy")
    host["dirs"] = sorted(dirs)
    host.setdefault("files", {})
    host.setdefault("mounts", [])


def norm(path: str, cwd: str = HOME) -> str:
    return posixpath.normpath(posixpath.join(cwd, path)) if path else ""


def jail_conf(host: dict) -> str:
    """/etc/jail.conf as the spec's jails imply (jails from jail.conf.d are not in it)."""
    conf = []
    for j in host["jails"]:
        if j.get("conf", True) is True:
            conf.append(
                f'{j["name"]} {{\n\thost.hostname = "{j["hostname"]}";\n'
                f'\tpath = "{j["path"]}";\n'
                + (f'\tip4.addr = "{j["ip4"]}";\n' if j["ip4"] else "")
                + "}\n"
            )
    return (
        'exec.start = "/bin/sh /etc/rc";\nexec.stop = "/bin/sh '
        '/etc/rc.shutdown";\nmount.devfs;\n\n' + "\n".join(conf)
    )


class View:
    """One host's filesystem as one command sees it."""

    def __init__(self, fleet, name: str):
        self.fleet, self.name = fleet, name
        self.host = fleet.hosts[name]

    # --- what exists ----------------------------------------------------------------

    def generated(self) -> dict[str, str]:
        """Files whose text the state defines; writing them is refused (not /etc/jail.conf)."""
        host, out = self.host, {}
        for job_name, rec in host["backups"].items():
            job = self.fleet.jobs.get(job_name)
            if job is not None:
                out[job["log_path"]] = backups.log_text(rec, job_name)
        out["/var/log/messages"] = "".join(line + "\n" for line in host["log"])
        return out

    def files(self) -> dict[str, str]:
        out = {"/etc/jail.conf": jail_conf(self.host)}
        out.update(self.host["files"])
        out.update(self.generated())
        return out

    def dirs(self) -> set[str]:
        host = self.host
        dirs = set(host.get("dirs", BASE_DIRS))
        extra = [d[3] for d in host["datasets"] if d[3].startswith("/")]
        extra += [j["path"] for j in host["jails"] if j.get("path")]
        extra += [m["point"] for m in host.get("mounts", [])]
        extra += [posixpath.dirname(p) for p in self.files()]
        for d in extra:
            while d not in dirs:
                dirs.add(d)
                d = posixpath.dirname(d)
        return dirs

    def devices(self) -> set[str]:
        host = self.host
        devs = set(host.get("disks", []))
        devs |= {c["disk"] for m in host["mirrors"] for c in m["components"] if c["present"]}
        devs |= {f"mirror/{m['name']}" for m in host["mirrors"]}
        devs |= {d["name"] for p in host["pools"] for v in p["vdevs"] for d in v["devices"]}
        devs |= set(host.get("free", {}))
        devs |= {"null", "zero", "random", "pfsync0" if host.get("pfsync") else "null"}
        return {f"/dev/{d}" for d in devs}

    def is_dir(self, path: str) -> bool:
        return norm(path) in self.dirs()

    def is_file(self, path: str) -> bool:
        p = norm(path)
        return p in self.files() or p in self.devices()

    def exists(self, path: str) -> bool:
        return self.is_file(path) or self.is_dir(path)

    def listdir(self, path: str) -> list[str]:
        p = norm(path)
        prefix = p.rstrip("/") + "/"
        names = {
            x[len(prefix) :].split("/")[0]
            for x in (*self.files(), *self.dirs())
            if x.startswith(prefix) and x != p
        }
        return sorted(names)

    # --- reading and writing --------------------------------------------------------

    def read(self, path: str) -> str:
        p = norm(path)
        files = self.files()
        if p in files:
            return files[p]
        if p in self.devices():
            return ""
        if p in self.dirs():
            raise FsError(p, EISDIR)
        self._parent_ok(p)
        raise FsError(p, ENOENT)

    def _parent_ok(self, p: str) -> None:
        parent = posixpath.dirname(p)
        if parent in self.dirs():
            return
        while parent != "/" and parent not in self.dirs():
            if parent in self.files():
                raise FsError(p, ENOTDIR)
            parent = posixpath.dirname(parent)
        raise FsError(p, ENOENT)

    def write(self, path: str, text: str, append: bool = False) -> None:
        p = norm(path)
        if p in self.devices():
            return  # /dev/null and friends swallow what is written
        if p in self.dirs():
            raise FsError(p, EISDIR)
        self._parent_ok(p)
        if p in self.generated():
            raise FsError(p, EACCES)
        old = self.files().get(p, "") if append else ""
        self.host["files"][p] = old + text
        self.fleet.mark(self.name)

    def remove(self, path: str) -> None:
        p = norm(path)
        if p in self.dirs():
            raise FsError(p, EISDIR)
        if p not in self.files():
            raise FsError(p, ENOENT)
        if p not in self.host["files"] or p in self.generated():
            raise FsError(p, EACCES)  # the state defines this file: it cannot go away
        del self.host["files"][p]
        self.fleet.mark(self.name)

    def rmdir(self, path: str) -> None:
        p = norm(path)
        if p not in self.dirs():
            raise FsError(p, ENOENT)
        if self.listdir(p):
            raise FsError(p, ENOTEMPTY)
        self.host["dirs"] = [d for d in self.host["dirs"] if d != p]
        self.fleet.mark(self.name)

    def mkdir(self, path: str, parents: bool = False) -> None:
        p = norm(path)
        if p in self.dirs() or p in self.files():
            if parents and p in self.dirs():
                return
            raise FsError(p, EEXIST)
        if not parents:
            self._parent_ok(p)
        todo = []
        while p not in self.dirs():
            if p in self.files():
                raise FsError(p, ENOTDIR)
            todo.append(p)
            p = posixpath.dirname(p)
        self.host["dirs"] = sorted(set(self.host["dirs"]) | set(todo))
        self.fleet.mark(self.name)
