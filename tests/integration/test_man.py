"""The man pages: they render without warnings, and every option the PAM
module parses, every pwlessd option, every config key of conf.c's table and
every pwless command and --option is documented.  The lists come from the
C sources (tests/helpers/opstest.py), so an undocumented addition fails."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from opstest import (SRC, cli_commands, cli_global_options, config_keys,
                     module_option_values, module_options, pwlessd_options,
                     render)
from pwltest import check, eq, run_tests

PAGES = ["pam_pwless.8", "pwlessd.8", "pwlessd.conf.5", "pwless.1"]


def page(name):
    return os.path.join(SRC, "man", name)


def missing_words(text, words):
    """Words that do not occur in text as whole words."""
    return [w for w in words
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(w), text)]


def test_render_without_warnings():
    """man --warnings -l prints nothing on stderr for any page"""
    for p in PAGES:
        for width in (80, 120):
            text, err = render(page(p), width)
            eq(err, "", "%s at %d columns" % (p, width))
            check(len(text.splitlines()) > 30, "%s rendered empty" % p)


def top_section(text, name):
    """The rendered text of one top-level section (NAME, OPTIONS...)."""
    m = re.search(r"^%s\n(.*?)(?=^[A-Z][A-Z ]+\n|\Z)" % name, text,
                  re.M | re.S)
    return m.group(1) if m else ""


def test_module_options_documented():
    """every option pam_pwless.c parses has its entry under OPTIONS in
    pam_pwless(8)"""
    text, _ = render(page("pam_pwless.8"), 200)
    opts = top_section(text, "OPTIONS")
    flags, values = module_options()
    check(len(flags) >= 5 and len(values) >= 4, "extraction found too "
          "little: %r %r" % (flags, values))
    eq([f for f in flags if not re.search(r"^ {7}%s(\s|$)" % f, opts, re.M)], [],
       "flags without an entry")
    eq([v for v in values if not re.search(r"^ {7}%s=" % v, opts, re.M)],
       [], "name= options without an entry")
    methods, channels = module_option_values()
    eq(missing_words(opts, methods + channels), [], "values missing")


def test_pwlessd_options_documented():
    """every pwlessd option of main.c is in pwlessd(8)"""
    text, _ = render(page("pwlessd.8"), 200)
    longs, shorts = pwlessd_options()
    check("init" in longs and "c" in shorts, "extraction: %r" % longs)
    eq(missing_words(text, ["--" + o for o in longs]), [], "long options")
    eq(missing_words(text, ["-" + o for o in shorts]), [], "short options")


def sections(text):
    """{section: text} of the rendered pwlessd.conf(5) subsections."""
    out = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"^ {2,3}\[([a-z_]+)\]\s*$", line)
        if m:
            cur = m.group(1)
            out[cur] = ""
        elif re.match(r"^[A-Z]", line):
            cur = None
        elif cur:
            out[cur] += line + "\n"
    return out


def test_config_keys_documented():
    """every key of conf.c's table is described under its [section] in
    pwlessd.conf(5)"""
    text, _ = render(page("pwlessd.conf.5"), 200)
    secs = sections(text)
    keys = config_keys()
    check(len(keys) >= 30, "extraction found %d keys" % len(keys))
    missing = [(s, k) for s, k in keys
               if not re.search(r"^ {7}%s = " % re.escape(k),
                                secs.get(s, ""), re.M)]
    eq(missing, [], "keys without their own entry")


def test_cli_commands_documented():
    """every command of pwless.c's table, with its --options, is in
    pwless(1)"""
    text, _ = render(page("pwless.1"), 250)
    cmds = cli_commands()
    check(len(cmds) >= 15, "extraction found %d commands" % len(cmds))
    missing = [n for n, _ in cmds
               if not re.search(r"^ {7}%s\b" % re.escape(n), text, re.M)]
    eq(missing, [], "commands without their own entry")
    opts = sorted({o for _, os_ in cmds for o in os_} |
                  set(cli_global_options()))
    eq(missing_words(text, opts), [], "options missing")


def test_man_pages_installed():
    """make install puts the pages where man finds them"""
    import subprocess
    import tempfile
    build = os.environ.get("PWL_BUILDDIR", ".")
    dest = tempfile.mkdtemp(prefix="pwlt-inst-")
    r = subprocess.run(["make", "-C", build, "install-man",
                        "DESTDIR=" + dest], capture_output=True, text=True,
                       timeout=300)
    eq(r.returncode, 0, "make install-man: " + r.stderr)
    found = sorted(os.path.relpath(os.path.join(d, f), dest)
                   for d, _, fs in os.walk(dest) for f in fs)
    for p in PAGES:
        sec = p.rsplit(".", 1)[1]
        check(any(f.endswith("/man%s/%s" % (sec, p)) for f in found),
              "%s not installed: %r" % (p, found))


if __name__ == "__main__":
    run_tests([
        test_render_without_warnings,
        test_module_options_documented,
        test_pwlessd_options_documented,
        test_config_keys_documented,
        test_cli_commands_documented,
        test_man_pages_installed,
    ])
