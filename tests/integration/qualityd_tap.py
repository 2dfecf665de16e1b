# SPDX-License-Identifier: LGPL-2.1-or-later
"""TAP output, checks and process bookkeeping for the daemon's integration tests (test-daemon-*.py):
results numbered as they come, a case per check, and every process the harness starts stopped by its PID,
also when the driver dies early. Python standard library only.
"""

import atexit
import signal
import subprocess
import sys
import time
import traceback


# ---------------------------------------------------------------------------------------------------
# TAP


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(condition, message, *details):
    if not condition:
        raise Failure(message + "".join("\n" + str(d) for d in details))


def check_eq(got, expected, what):
    if got != expected:
        raise Failure("%s: expected %r, got %r" % (what, expected, got))


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = []
        self.diagnostics = []

    def _emit(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            self._emit("# " + line)

    def result(self, ok, name, detail=None, directive=None):
        self.count += 1
        line = "%s %d - %s" % ("ok" if ok else "not ok", self.count, name)
        if directive:
            line += " # " + directive
        self._emit(line)
        if detail:
            self.diag(detail)
        if not ok:
            self.failed.append(name)

    def case(self, name):
        return _Case(self, name)

    def finish(self):
        self._emit("1..%d" % self.count)
        if self.failed:
            self.diag("%d of %d checks failed:" % (len(self.failed), self.count))
            for name in self.failed:
                self.diag("  " + name)
        return 1 if self.failed else 0


class _Case:
    def __init__(self, tap, name):
        self.tap = tap
        self.name = name

    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.tap.result(True, self.name)
        elif issubclass(kind, Skip):
            self.tap.result(True, self.name, directive="SKIP " + str(value))
        elif issubclass(kind, Failure):
            self.tap.result(False, self.name, str(value))
        elif issubclass(kind, Exception):
            self.tap.result(False, self.name, "".join(traceback.format_exception(kind, value, tb)))
        else:
            return False
        return True


TAP = Tap()


# ---------------------------------------------------------------------------------------------------
# Process bookkeeping: everything started is stopped by its PID, also when the driver dies early.

_started = []  # Popen objects


def _cleanup_processes():
    for p in reversed(_started):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGKILL)
                p.wait(5)
            except Exception:
                pass


atexit.register(_cleanup_processes)


def _on_signal(signum, frame):
    _cleanup_processes()
    sys.exit(1)


def spawn(argv, **kwargs):
    p = subprocess.Popen(argv, **kwargs)
    _started.append(p)
    return p

