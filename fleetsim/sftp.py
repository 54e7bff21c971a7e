"""The SFTP subsystem on a host's virtual filesystem (put/get/ls/mkdir/rm/rename).

Owns the mapping of asyncssh's SFTPServer calls onto ``vfs.View``: files are written when
the client closes them, as one write (what `cat > PATH` would leave). Must never touch
the real filesystem: every SFTPServer method that would (asyncssh's defaults use os.*)
is overridden here, and the ones fleetsim does not model answer "operation unsupported".
"""

from __future__ import annotations

import posixpath

import asyncssh
from asyncssh import (
    FXF_APPEND,
    FXF_CREAT,
    FXF_EXCL,
    FXF_TRUNC,
    FXF_WRITE,
    SFTPAttrs,
    SFTPFailure,
    SFTPName,
    SFTPNoSuchFile,
    SFTPOpUnsupported,
    SFTPPermissionDenied,
)

from .vfs import EACCES, ENOENT, FsError, View, norm

FILE_MODE = 0o100644
DIR_MODE = 0o040755


class _Handle:
    def __init__(self, path: str, data: bytes, writable: bool):
        self.path, self.data, self.writable = path, bytearray(data), writable


def _error(exc: FsError) -> Exception:
    if exc.reason == ENOENT:
        return SFTPNoSuchFile(f"{exc.path}: {exc.reason}")
    if exc.reason == EACCES:
        return SFTPPermissionDenied(f"{exc.path}: {exc.reason}")
    return SFTPFailure(f"{exc.path}: {exc.reason}")


class VfsSFTPServer(asyncssh.SFTPServer):
    def __init__(self, chan, fleet, name: str):
        super().__init__(chan)
        self.fleet, self.name = fleet, name

    def _view(self) -> View:
        return View(self.fleet, self.name)

    @staticmethod
    def _path(path: bytes) -> str:
        return norm(path.decode("utf-8", "replace") or ".")

    def _attrs(self, path: str) -> SFTPAttrs:
        view = self._view()
        now = int(self.fleet.now())
        if view.is_dir(path):
            return SFTPAttrs(size=512, uid=0, gid=0, permissions=DIR_MODE, atime=now, mtime=now)
        try:
            size = len(view.read(path).encode())
        except FsError as exc:
            raise _error(exc) from None
        return SFTPAttrs(size=size, uid=0, gid=0, permissions=FILE_MODE, atime=now, mtime=now)

    # --- names and attributes -------------------------------------------------------

    def realpath(self, path):
        return self._path(path).encode()

    def stat(self, path):
        return self._attrs(self._path(path))

    def lstat(self, path):
        return self._attrs(self._path(path))

    def fstat(self, file_obj):
        return SFTPAttrs(size=len(file_obj.data), uid=0, gid=0, permissions=FILE_MODE)

    def setstat(self, path, attrs):
        self._attrs(self._path(path))  # modes and times are not modelled; the path must exist

    def lsetstat(self, path, attrs):
        self.setstat(path, attrs)

    def fsetstat(self, file_obj, attrs):
        if attrs.size is not None:
            del file_obj.data[attrs.size :]

    def format_user(self, uid):
        return "root"

    def format_group(self, gid):
        return "wheel"

    async def scandir(self, path):
        p = self._path(path)
        view = self._view()
        if not view.is_dir(p):
            raise SFTPNoSuchFile(f"{p}: {ENOENT}")
        for name in [".", "..", *view.listdir(p)]:
            full = p if name == "." else posixpath.dirname(p) if name == ".." else f"{p}/{name}"
            yield SFTPName(name.encode(), attrs=self._attrs(norm(full)))

    # --- files ----------------------------------------------------------------------

    def open(self, path, pflags, attrs):
        p = self._path(path)
        view = self._view()
        writable = bool(pflags & (FXF_WRITE | FXF_APPEND))
        exists = view.is_file(p)
        if view.is_dir(p):
            raise SFTPFailure(f"{p}: Is a directory")
        if pflags & FXF_EXCL and exists:
            raise SFTPFailure(f"{p}: File exists")
        if not exists and not (writable and pflags & FXF_CREAT):
            raise SFTPNoSuchFile(f"{p}: {ENOENT}")
        try:
            data = b"" if (pflags & FXF_TRUNC or not exists) else view.read(p).encode()
            if writable:
                view.write(p, data.decode(), append=False)  # created (or truncated) at open
        except FsError as exc:
            raise _error(exc) from None
        return _Handle(p, data, writable)

    def read(self, file_obj, offset, size):
        return bytes(file_obj.data[offset : offset + size])

    def write(self, file_obj, offset, data):
        if not file_obj.writable:
            raise SFTPPermissionDenied(f"{file_obj.path}: opened read-only")
        end = offset + len(data)
        if end > len(file_obj.data):
            file_obj.data.extend(b"\0" * (end - len(file_obj.data)))
        file_obj.data[offset:end] = data
        return len(data)

    def close(self, file_obj):
        if isinstance(file_obj, _Handle) and file_obj.writable:
            try:
                self._view().write(file_obj.path, file_obj.data.decode("utf-8", "replace"))
            except FsError as exc:
                raise _error(exc) from None

    def fsync(self, file_obj):
        self.close(file_obj)

    # --- directories and names ------------------------------------------------------

    def remove(self, path):
        try:
            self._view().remove(self._path(path))
        except FsError as exc:
            raise _error(exc) from None

    def mkdir(self, path, attrs):
        try:
            self._view().mkdir(self._path(path))
        except FsError as exc:
            raise _error(exc) from None

    def rmdir(self, path):
        try:
            self._view().rmdir(self._path(path))
        except FsError as exc:
            raise _error(exc) from None

    def rename(self, oldpath, newpath):
        new = self._path(newpath)
        if self._view().exists(new):
            raise SFTPFailure(f"{new}: File exists")  # SFTPv3 rename does not overwrite
        self.posix_rename(oldpath, newpath)

    def posix_rename(self, oldpath, newpath):
        old, new = self._path(oldpath), self._path(newpath)
        view = self._view()
        try:
            text = view.read(old)
            view.write(new, text)
            view.remove(old)
        except FsError as exc:
            raise _error(exc) from None

    # --- what fleetsim does not model -----------------------------------------------

    def _unsupported(self, *args, **kwargs):
        raise SFTPOpUnsupported("not supported by fleetsim")

    open56 = readlink = symlink = link = statvfs = fstatvfs = lock = unlock = _unsupported
