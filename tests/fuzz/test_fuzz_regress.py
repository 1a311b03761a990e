"""Replays every kept fuzz input: tests/fuzz/regress/<harness>/ (crashes
found and fixed, and edge cases) and the seed corpora, each run once by its
libFuzzer harness.  Skipped when configure found no clang with libFuzzer."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("PWL_SRCDIR", "."),
                                "tests", "helpers"))
from pwltest import BUILD, SRC, Skip, check, run_tests  # noqa: E402


def replay(name):
    exe = os.path.join(BUILD, "tests", "fuzz", "fuzz_" + name)
    if not os.access(exe, os.X_OK):
        raise Skip("no %s: configure found no clang with libFuzzer" % exe)
    files = []
    for kind in ("regress", "corpus"):
        d = os.path.join(SRC, "tests", "fuzz", kind, name)
        if os.path.isdir(d):
            files += sorted(os.path.join(d, f) for f in os.listdir(d))
    check(files, "no inputs for fuzz_%s" % name)
    proc = subprocess.run([exe, "-timeout=30"] + files, capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError("fuzz_%s failed (%d) on its kept inputs:\n%s" %
                             (name, proc.returncode, proc.stderr[-4000:]))
    check(proc.stderr.count("Executed ") == len(files),
          "fuzz_%s ran %d of %d inputs" %
          (name, proc.stderr.count("Executed "), len(files)))


def test_proto():
    """the frame codec passes every kept input"""
    replay("proto")


def test_conf():
    """the config parser passes every kept input"""
    replay("conf")


def test_keyfmt():
    """the key and token parser passes every kept input"""
    replay("keyfmt")


def test_module_reply():
    """the PAM module, fed kept daemon replies, passes every check"""
    replay("module_reply")


def test_auditrec():
    """the audit journal's record decoder passes every kept input"""
    replay("auditrec")


if __name__ == "__main__":
    run_tests([test_proto, test_conf, test_keyfmt, test_module_reply,
               test_auditrec])
