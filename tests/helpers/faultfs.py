"""faultfs: a small real filesystem for fault tests (root only).

An ext4 image in a file, loop-mounted with errors=remount-ro, so a test
can fill it up (ENOSPC) or turn it read-only under a running process the
way the kernel does after a disk error (EROFS), through
/sys/fs/ext4/DEV/trigger_fs_error.  Tests skip when loop devices or mounts
are not available.
"""

import errno
import os
import shutil
import subprocess
import tempfile

from pwltest import Skip, need_root


def _run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True)


class SmallFs:
    """An ext4 filesystem of size_mb MiB mounted at self.mnt."""

    def __init__(self, size_mb=8):
        need_root()
        for tool in ("mkfs.ext4", "losetup", "mount"):
            if shutil.which(tool) is None:
                raise Skip("needs %s (e2fsprogs, mount)" % tool)
        self.dir = tempfile.mkdtemp(prefix="pwlt-fs-")
        os.chmod(self.dir, 0o755)
        self.img = os.path.join(self.dir, "fs.img")
        self.mnt = os.path.join(self.dir, "mnt")
        self.filler = os.path.join(self.mnt, "filler")
        os.mkdir(self.mnt)
        with open(self.img, "wb") as f:
            f.truncate(size_mb << 20)
        r = _run("mkfs.ext4", "-q", "-F", "-m", "0", self.img)
        if r.returncode != 0:
            self._rm()
            raise Skip("mkfs.ext4 failed: %s" % r.stderr.strip())
        r = _run("mount", "-o", "loop,errors=remount-ro", self.img, self.mnt)
        if r.returncode != 0:
            self._rm()
            raise Skip("cannot loop-mount a filesystem here: %s" %
                       r.stderr.strip())
        os.chmod(self.mnt, 0o755)

    def device(self):
        src = _run("findmnt", "-n", "-o", "SOURCE", self.mnt).stdout.strip()
        return os.path.basename(os.path.realpath(src))

    def fill(self):
        """Writes a file until the filesystem is full; returns its size."""
        n = 0
        chunk = b"\0" * 4096
        with open(self.filler, "ab") as f:
            try:
                while True:
                    f.write(chunk)
                    f.flush()
                    n += len(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
        return n

    def unfill(self):
        os.unlink(self.filler)

    def free_bytes(self):
        st = os.statvfs(self.mnt)
        return st.f_bavail * st.f_frsize

    def make_readonly(self):
        """What the kernel does after a disk error: ext4 remounts the
        filesystem read-only under whoever has files open on it."""
        trig = "/sys/fs/ext4/%s/trigger_fs_error" % self.device()
        if not os.path.exists(trig):
            raise Skip("this kernel has no %s" % trig)
        with open(trig, "w") as f:
            f.write("pwless fault test\n")
        opts = _run("findmnt", "-n", "-o", "OPTIONS", self.mnt).stdout
        if not (opts.startswith("ro") or "emergency_ro" in opts):
            raise AssertionError("still writable after the error: " + opts)

    def _rm(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def close(self):
        if _run("umount", self.mnt).returncode != 0:
            _run("umount", "-l", self.mnt)
        self._rm()
