"""opstest: helpers for the tests of the parts an administrator touches
(man pages, pwless doctor, auth-test, systemd units, the Debian package).

The lists of options, config keys and commands are read from the C
sources, not written down here, so that a new option without
documentation fails a test.
"""

import os
import re
import subprocess

SRC = os.environ.get("PWL_SRCDIR", ".")


def source(rel):
    with open(os.path.join(SRC, rel)) as f:
        return f.read()


def block(text, start):
    """The text from the line containing start to the closing '};'."""
    i = text.index(start)
    return text[i:text.index("};", i)]


def module_options():
    """Every option pam_pwless.c parses: flags and name= options."""
    src = source("pam_pwless/pam_pwless.c")
    flags = re.findall(r'\{\s*"([a-z_]+)",\s*&o->', block(src, "opt_flag("))
    vals = set(re.findall(r'str(?:n)?cmp\(a,\s*"([a-z_]+)=', src))
    return sorted(set(flags)), sorted(vals)


def module_option_values():
    """Words the module accepts as values: methods and channels."""
    src = source("pam_pwless/pam_pwless.c")
    methods = re.findall(r'strncmp\(s,\s*"([a-z]+)",\s*n\)', src)
    channels = re.findall(r'strcmp\(a,\s*"channel=([a-z]+)"\)', src)
    return sorted(set(methods)), sorted(set(channels))


def config_keys():
    """(section, key) for every row of conf.c's key table."""
    src = block(source("pwlessd/conf.c"), "static const struct cfg_key keys[]")
    rows = re.findall(r'\b[A-Z]\("([a-z_]+)",\s*"([a-z_]+)"', src)
    rows += re.findall(r'\{\s*"([a-z_]+)",\s*"([a-z_]+)",\s*CT_', src)
    return sorted(set(rows))


def cli_commands():
    """(name, [--options]) for every row of pwless.c's command table."""
    src = block(source("pwless/pwless.c"), "static const struct cli_cmd cmds[]")
    out = []
    for m in re.finditer(r'\{\s*"([a-z -]+)",\s*cmd_\w+,\s*\d+,\s*'
                         r'((?:"[^"]*"\s*)+),', src):
        args = "".join(re.findall(r'"([^"]*)"', m.group(2)))
        out.append((m.group(1), sorted(set(re.findall(r"--[a-z][a-z-]*",
                                                      args)))))
    return out


def cli_global_options():
    """The --options pwless.c itself reads (before the command)."""
    src = source("pwless/pwless.c")
    body = src[src.index("global_opts("):]
    return sorted(set(re.findall(r'"(--[a-z][a-z-]*)"', body)))


def pwlessd_options():
    """pwlessd's long options and the short letters of its getopt string."""
    src = source("pwlessd/main.c")
    longs = re.findall(r'\{\s*"([a-z-]+)",\s*(?:no|required|optional)_'
                       r'argument', src)
    short = re.search(r'getopt_long\(argc, argv, "([^"]+)"', src).group(1)
    return sorted(set(longs)), sorted(set(short.replace(":", "")))


def doctor_known_options():
    """The option list pwless doctor checks module lines against."""
    src = block(source("pwless/doctor_pam.c"), "known_opts[] = {")
    return sorted(o.rstrip("=") for o in re.findall(r'"([a-z_]+=?)"', src))


def render(page, width=100):
    """A man page as plain text; (text, stderr of man --warnings)."""
    env = dict(os.environ, LC_ALL="C", MANWIDTH=str(width))
    r = subprocess.run(["man", "--warnings", "-l", page], env=env,
                       capture_output=True, text=True, timeout=60)
    text = subprocess.run(["col", "-b"], input=r.stdout, capture_output=True,
                          text=True, timeout=60).stdout
    return text, r.stderr


def sshd_ready(tmp):
    """A host key for 'sshd -T' in tmp; returns its path.

    sshd -T also wants its privilege separation directory, which the sshd
    service normally creates; tests that run this are root tests."""
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    key = os.path.join(tmp, "ssh_host_ed25519_key")
    if not os.path.exists(key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                        "-f", key], check=True, timeout=60)
    return key
