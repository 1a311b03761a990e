"""The Debian packages: dpkg-buildpackage -us -uc -b builds them from a copy
of the tree, and their files land where Debian expects them once unpacked
into a clean directory; the postinst enables the socket and leaves
/etc/pam.d alone.  Root only (CI runs as root); slow, bounded to 20 min."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import SRC, Skip, check, eq, run_tests

BUILD_TIMEOUT = 1200
PACKAGES = ("libpam-pwless", "pwlessd", "pwless", "libpwless0",
            "libpwless-dev")
STATE = {}


def multiarch():
    return subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"],
                          capture_output=True, text=True,
                          check=True).stdout.strip()


def build():
    """Builds once; returns {package: .deb path}."""
    if "debs" in STATE:
        return STATE["debs"]
    if "error" in STATE:
        raise AssertionError(STATE["error"])
    if os.geteuid() != 0:
        raise Skip("needs root: builds and unpacks Debian packages "
                   "(CI runs as root)")
    if os.environ.get("PWL_DEB_BUILD"):
        raise Skip("inside a package build already")
    for tool in ("dpkg-buildpackage", "dh", "fakeroot"):
        if shutil.which(tool) is None:
            raise Skip("%s not installed (debhelper, dpkg-dev, fakeroot)" %
                       tool)
    top = tempfile.mkdtemp(prefix="pwlt-deb-")
    STATE["top"] = top
    tree = os.path.join(top, "pwless-0.1.0")
    shutil.copytree(SRC, tree, symlinks=True, ignore=shutil.ignore_patterns(
        "build*", ".git", "*.o", "*.lo", "*.la", ".libs", ".deps",
        "__pycache__", "autom4te.cache"))
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2",
               DEB_BUILD_PROFILES="nocheck")
    log = os.path.join(top, "build.log")
    with open(log, "w") as f:
        try:
            r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"],
                               cwd=tree, env=env, stdout=f,
                               stderr=subprocess.STDOUT,
                               timeout=BUILD_TIMEOUT)
            rc = r.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout after %d s" % BUILD_TIMEOUT
    if rc != 0:
        with open(log) as f:
            STATE["error"] = "dpkg-buildpackage: %s\n%s" % (
                rc, f.read()[-4000:])
        raise AssertionError(STATE["error"])
    debs = {}
    for name in os.listdir(top):
        if name.endswith(".deb"):
            debs[name.split("_")[0]] = os.path.join(top, name)
    STATE["debs"] = debs
    return debs


def unpack(deb):
    root = tempfile.mkdtemp(prefix="root-", dir=STATE["top"])
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True, timeout=120)
    return root


def files(root):
    return sorted("/" + os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)


def control(deb, member):
    d = tempfile.mkdtemp(prefix="ctl-", dir=STATE["top"])
    subprocess.run(["dpkg-deb", "-e", deb, d], check=True, timeout=120)
    p = os.path.join(d, member)
    if not os.path.exists(p):
        return ""
    with open(p) as f:
        return f.read()


def test_packages_build():
    """dpkg-buildpackage -us -uc -b makes the five packages"""
    debs = build()
    eq(sorted(debs), sorted(PACKAGES), "packages built")


def test_files_land_where_debian_expects():
    """module in the multiarch security dir, daemon in /usr/sbin, CLI in
    /usr/bin, units in /lib/systemd/system, man pages, conffile"""
    debs = build()
    want = {
        "libpam-pwless": ["/lib/%s/security/pam_pwless.so" % multiarch(),
                          "/usr/share/man/man8/pam_pwless.8.gz"],
        "pwlessd": ["/usr/sbin/pwlessd", "/lib/systemd/system/pwlessd.socket",
                    "/lib/systemd/system/pwlessd.service",
                    "/usr/lib/sysusers.d/pwless.conf",
                    "/usr/share/man/man8/pwlessd.8.gz",
                    "/usr/share/man/man5/pwlessd.conf.5.gz",
                    "/etc/pwless/pwlessd.conf"],
        "pwless": ["/usr/bin/pwless", "/usr/bin/pwless-askpass",
                   "/usr/share/man/man1/pwless.1.gz"],
        "libpwless0": ["/usr/lib/%s/libpwless.so.0" % multiarch()],
        "libpwless-dev": ["/usr/include/pwless/client.h",
                          "/usr/lib/%s/libpwless.so" % multiarch(),
                          "/usr/lib/%s/pkgconfig/libpwless.pc" % multiarch()],
    }
    for pkg, paths in want.items():
        root = unpack(debs[pkg])
        got = files(root)
        for p in paths:
            check(p in got, "%s: %s missing from %r" % (pkg, p, got))
        check(not any(f.startswith("/etc/pam.d") for f in got),
              "%s ships a PAM configuration" % pkg)
        if pkg == "pwlessd":
            with open(root + "/lib/systemd/system/pwlessd.service") as f:
                svc = f.read()
            check("\nExecStart=/usr/sbin/pwlessd -f\n" in svc, svc)
            check("LoadCredential=secret:/etc/pwless/credentials" in svc,
                  svc)
            st = os.stat(root + "/etc/pwless/credentials")
            eq(oct(st.st_mode & 0o777), "0o700", "credentials directory")


def test_maintainer_scripts():
    """postinst creates the user and state directory and enables the
    socket (not the service), touching no PAM file; the config is a
    conffile"""
    debs = build()
    post = control(debs["pwlessd"], "postinst")
    check("adduser --system" in post, post)
    check("/var/lib/pwless" in post, post)
    check("deb-systemd-helper enable 'pwlessd.socket'" in post or
          "deb-systemd-helper enable pwlessd.socket" in post, post)
    check("enable 'pwlessd.service'" not in post, "service enabled")
    code = "\n".join(l for l in post.splitlines()
                     if not l.lstrip().startswith("#"))
    check("pam.d" not in code and "pam-auth-update" not in code,
          "postinst touches the PAM configuration")
    eq(control(debs["pwlessd"], "conffiles").split(),
       ["/etc/pwless/pwlessd.conf"], "conffiles")
    deps = subprocess.run(["dpkg-deb", "-f", debs["pwlessd"], "Depends"],
                          capture_output=True, text=True).stdout
    check("adduser" in deps, deps)


def test_cleanup():
    """(removes the build tree)"""
    if "top" in STATE:
        shutil.rmtree(STATE["top"], ignore_errors=True)


if __name__ == "__main__":
    run_tests([
        test_packages_build,
        test_files_land_where_debian_expects,
        test_maintainer_scripts,
        test_cleanup,
    ])
