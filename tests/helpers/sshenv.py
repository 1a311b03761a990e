"""sshenv: a real sshd for the end-to-end tests (root only).

sshd always uses the PAM service "sshd", and sudo the service "sudo", so
the test stacks cannot live in a private directory: sshd runs inside a
private mount namespace (unshare --mount --propagation private) where test
copies of /etc/pam.d/sshd, /etc/pam.d/sudo and /etc/sudoers are bind
mounted over the real ones.  The host's files are never changed; sessions
and the sudo they run inherit the namespace.  sshd listens on 127.0.0.1 on
a free port, with its own config and a host key made for the test.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from pwltest import MODULE, Skip

SSHD = "/usr/sbin/sshd"
TOOLS = (SSHD, "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/sudo",
         "/usr/bin/unshare", "/usr/bin/sshpass")
STACKS = ("/etc/pam.d/sshd", "/etc/pam.d/sudo", "/etc/sudoers")


def skip_unless_ready():
    """Skips (with the reason) when this machine cannot run the tests."""
    if os.geteuid() != 0:
        raise Skip("needs root: starts sshd in a mount namespace, creates "
                   "a login user and runs sudo (CI runs as root)")
    missing = [t for t in TOOLS + STACKS if not os.path.exists(t)]
    if missing:
        raise Skip("needs %s (apt-get install openssh-server "
                   "openssh-client sudo sshpass python3-pexpect)"
                   % ", ".join(missing))
    try:
        import pexpect  # noqa: F401
    except ImportError:
        raise Skip("needs python3-pexpect")
    needed = subprocess.run(["readelf", "-d", MODULE], capture_output=True,
                            text=True).stdout
    if "libasan" in needed or "libubsan" in needed:
        raise Skip("the module is built with sanitizers; sshd and sudo "
                   "cannot load it (run the plain build)")
    r = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        "true"], capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip("cannot make a mount namespace here: " + r.stderr)


def ensure_login_user(name):
    """A real account with a shell and a home, as sshd wants one."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh",
                        name], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        pw = pwd.getpwnam(name)
    if not os.path.isdir(pw.pw_dir):
        os.makedirs(pw.pw_dir, 0o755)
        os.chown(pw.pw_dir, pw.pw_uid, pw.pw_gid)
    return pw


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


SSHD_CONFIG = """\
Port {port}
ListenAddress 127.0.0.1
HostKey {dir}/host_ed25519
PidFile {dir}/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication yes
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
AllowUsers {user}
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitUserEnvironment no
MaxAuthTries 3
LoginGraceTime 60
LogLevel VERBOSE
"""

PAM_SSHD = """\
auth     required {module} socket={sock} methods=key,code,token
account  required {module} socket={sock}
session  optional {module} socket={sock}
password required pam_deny.so
"""

# sudo accepts only session tokens: no keys, no codes.
PAM_SUDO = """\
auth     required {module} socket={sock} methods=token
account  required {module} socket={sock}
session  required pam_permit.so
password required pam_deny.so
"""

SUDOERS = """\
Defaults env_reset
Defaults timestamp_timeout=0
Defaults passwd_tries=1
Defaults lecture=never
root ALL=(ALL:ALL) ALL
{user} ALL=(ALL:ALL) ALL
"""

START = ('set -e; mkdir -p /run/sshd; '
         'mount --bind "$1" /etc/pam.d/sshd; '
         'mount --bind "$2" /etc/pam.d/sudo; '
         'mount --bind "$3" /etc/sudoers; '
         'exec /usr/sbin/sshd -D -e -f "$4"')


class SshEnv:
    """A real sshd serving user, wired to the pwlessd of daemon."""

    def __init__(self, daemon, user):
        self.user = user
        self.dir = tempfile.mkdtemp(prefix="pwle2e-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.log = os.path.join(self.dir, "sshd.log")
        self.proc = None
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        os.path.join(self.dir, "host_ed25519")], check=True)
        v = dict(port=self.port, dir=self.dir, user=user, module=MODULE,
                 sock=daemon.sock)
        self.files = [self._write("pam-sshd", PAM_SSHD, v, 0o644),
                      self._write("pam-sudo", PAM_SUDO, v, 0o644),
                      self._write("sudoers", SUDOERS, v, 0o440),
                      self._write("sshd_config", SSHD_CONFIG, v, 0o644)]

    def _write(self, name, text, v, mode):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text.format(**v))
        os.chmod(path, mode)
        return path

    def start(self, timeout=20.0):
        logf = open(self.log, "a")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--",
             "/bin/sh", "-c", START, "sh"] + self.files,
            stdout=logf, stderr=logf)
        logf.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("sshd exited: " + self.logtext())
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              timeout=2) as s:
                    if s.recv(64).startswith(b"SSH-2.0-"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("sshd did not start: " + self.logtext())

    def logtext(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def client_args(self, method):
        return ["-F", "/dev/null", "-p", str(self.port),
                "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null",
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "PreferredAuthentications=" + method,
                "-o", "PubkeyAuthentication=no",
                "-o", "GSSAPIAuthentication=no",
                "-o", "NumberOfPasswordPrompts=1",
                "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR",
                "%s@127.0.0.1" % self.user]

    def client_env(self):
        return {"PATH": "/usr/bin:/bin", "HOME": self.dir,
                "LANG": "C.UTF-8"}

    def ssh_kbdint(self, secret, command, timeout=90):
        """ssh with keyboard-interactive auth, answering the pwless
        prompt with secret (pexpect); returns (exit status, output)."""
        import pexpect
        child = pexpect.spawn("/usr/bin/ssh",
                              self.client_args("keyboard-interactive") +
                              [command], env=self.client_env(),
                              encoding="utf-8", timeout=timeout)
        try:
            if child.expect(["pwless key", pexpect.EOF]) != 0:
                raise AssertionError("no pwless prompt: %r\n%s" %
                                     (child.before, self.logtext()))
            child.sendline(secret)
            child.expect(pexpect.EOF)
            out = child.before
        finally:
            child.close(force=True)
        return child.exitstatus, out.replace("\r\n", "\n")

    def ssh_password(self, secret, command, timeout=90):
        """ssh with password auth, the secret typed by sshpass."""
        env = dict(self.client_env(), SSHPASS=secret)
        r = subprocess.run(["sshpass", "-e", "/usr/bin/ssh"] +
                           self.client_args("password") + [command],
                           env=env, capture_output=True, text=True,
                           timeout=timeout)
        return r.returncode, r.stdout + r.stderr

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
