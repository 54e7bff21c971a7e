"""The sftp subsystem serves the host's virtual filesystem (and nothing of the real one)."""

from __future__ import annotations

import io

import paramiko
import pytest

pytestmark = pytest.mark.sim


def test_put_get_list_rename_remove_on_the_virtual_filesystem(fleet, ssh):
    conn = ssh.connect("web")
    sftp = conn.open_sftp()
    sftp.mkdir("/etc/jail.conf.d/sub")
    attrs = sftp.putfo(io.BytesIO(b"new { path = /x; }\n"), "/etc/jail.conf.d/new.conf")
    assert attrs.st_size == 19
    assert ssh.run("web", "cat /etc/jail.conf.d/new.conf") == ("new { path = /x; }\n", "", 0)
    assert sorted(sftp.listdir("/etc/jail.conf.d")) == ["new.conf", "sub"]
    got = io.BytesIO()
    sftp.getfo("/etc/pf.conf", got)
    assert got.getvalue().decode() == ssh.run("web", "cat /etc/pf.conf")[0]
    sftp.rename("/etc/jail.conf.d/new.conf", "/etc/jail.conf.d/web1.conf")
    assert ssh.run("web", "ls /etc/jail.conf.d") == ("sub\nweb1.conf\n", "", 0)
    sftp.remove("/etc/jail.conf.d/web1.conf")
    sftp.rmdir("/etc/jail.conf.d/sub")
    assert ssh.run("web", "ls /etc/jail.conf.d") == ("", "", 0)
    with pytest.raises(FileNotFoundError):
        sftp.stat("/etc/passwd-of-the-real-machine")
    with pytest.raises(FileNotFoundError):
        sftp.putfo(io.BytesIO(b"x"), "/nodir/file")
    with pytest.raises(OSError):
        sftp.putfo(io.BytesIO(b"x"), "/var/log/messages")  # the state defines it
    sftp.close()
    conn.close()


def test_other_subsystems_are_refused(fleet, ssh):
    conn = ssh.connect("web")
    chan = conn.get_transport().open_session()
    with pytest.raises(paramiko.SSHException):
        chan.invoke_subsystem("netconf")
    conn.close()
