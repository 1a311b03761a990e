"""alone: keeps the tests that measure time (or load the machine to
measure it) from running at the same time as each other under make -j."""

import contextlib
import fcntl
import os
import tempfile


@contextlib.contextmanager
def alone(name="timing"):
    """Holds an exclusive lock shared by every test that asks for it."""
    path = os.path.join(tempfile.gettempdir(),
                        "pwltest-%s-%d.lock" % (name, os.getuid()))
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
