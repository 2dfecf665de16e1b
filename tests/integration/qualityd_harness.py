# SPDX-License-Identifier: LGPL-2.1-or-later
"""The harness of the daemon's integration tests (test-daemon-api.py, test-daemon-apply.py,
test-daemon-lifecycle.py): the generated configuration, daemons in their own temporary directories, an
sd_notify receiver, the console log lines of structured events, and run(), the skeleton each test shares
(skip without dbus-daemon or busctl, one private bus, the groups of checks, the checks at the end).

qualityd_tap.py has the TAP output and the process bookkeeping, qualityd_bus.py the private bus and
busctl; their names are re-exported here, so a test needs one import. Python standard library only.
"""

import grp
import hashlib
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from qualityd_tap import *  # noqa: F401,F403 (re-exported: the tests' vocabulary)
from qualityd_tap import _on_signal
from qualityd_bus import *  # noqa: F401,F403

NOBODY = 65534
TEST_ADMIN_GROUP = "auteur-quality-test-admin"
WATCHDOG_USEC = 2000000
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer")

# Every metric of SPEC section 4.
METRICS = ("quality_config_last_modified", "quality_config_valid", "quality_config_generation",
           "quality_workflow_missing_total", "quality_tier_selection_total", "quality_reload_total",
           "quality_mappings", "quality_health_status")

TASKS = ("character_portrait", "scene_generation")
TIERS = ("low", "standard", "high")

# Parameters of the generated test configuration: values that differ from what the sample workflows
# hold, so that Render shows that they were written. cfg_scale 7 is an integer literal the daemon must
# still serve as a double; clip_skip is an unknown key (a warning) that keeps its type.
TIER_PARAMETERS = {
    "low": [("steps", "21"), ("cfg_scale", "7"), ("sampler_name", "euler_ancestral"),
            ("scheduler", "exponential"), ("width", "640"), ("height", "960"), ("clip_skip", "2")],
    "standard": [("steps", "33"), ("cfg_scale", "6.5"), ("sampler_name", "dpmpp_2m"),
                 ("scheduler", "karras"), ("width", "832"), ("height", "1216"), ("batch_size", "2")],
    "high": [("steps", "61"), ("cfg_scale", "8.5"), ("sampler_name", "dpmpp_3m_sde"),
             ("scheduler", "sgm_uniform"), ("width", "1000"), ("height", "1504"), ("seed", "12345"),
             ("denoise", "0.75")],
}
PARAMETER_TYPES = {"steps": "x", "cfg_scale": "d", "sampler_name": "s", "scheduler": "s", "width": "x",
                   "height": "x", "clip_skip": "x", "batch_size": "x", "seed": "x", "denoise": "d"}


def workflow_path(task, tier):
    return "library/image_generation/%s/%s_v1" % (task, tier)


def make_config(environment="itest", disabled=(), omit=(), steps_bump=0, comment=None, workflow_paths=None,
                root_path=None):
    """An environment-shape configuration over the sample workflows. disabled: tiers with enabled: false;
    omit: (task, tier) pairs left unmapped; steps_bump: added to every steps value; comment: a first line
    that makes the text (and its sha256) distinct without changing what it means."""
    lines = []
    if comment:
        lines.append("# %s" % comment)
    lines += ["environment: %s" % environment, "", "quality_system:", "  enabled: true", "  tiers:"]
    for tier in TIERS:
        lines.append('    - {name: %s, description: "Tier %s", enabled: %s}'
                     % (tier, tier, "false" if tier in disabled else "true"))
    lines += ["", "workflows:"]
    if root_path:
        lines.append("  root_path: %s" % root_path)
    lines.append("  mappings:")
    for task in TASKS:
        lines.append("    %s:" % task)
        for tier in TIERS:
            if (task, tier) in omit:
                continue
            path = (workflow_paths or {}).get((task, tier), workflow_path(task, tier))
            lines += ["      %s:" % tier,
                      "        workflow_path: %s" % path,
                      '        description: "%s at tier %s"' % (task, tier),
                      "        parameters:"]
            for key, value in TIER_PARAMETERS[tier]:
                if key == "steps":
                    value = str(int(value) + steps_bump)
                lines.append("          %s: %s" % (key, value))
    lines += ["", "monitoring:", "  health_check_enabled: true", "  metrics_collection: true",
              "  alerting: {enabled: true, thresholds: {workflow_missing: critical, config_invalid: critical}}",
              ""]
    return "\n".join(lines)


def expected_parameters(tier, steps_bump=0):
    out = {}
    for key, value in TIER_PARAMETERS[tier]:
        t = PARAMETER_TYPES[key]
        if t == "x":
            v = int(value) + (steps_bump if key == "steps" else 0)
        elif t == "d":
            v = float(value)
        else:
            v = value
        out[key] = (t, v)
    return out


def sha256(text):
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def position_of(text, needle, nth=0):
    """1-based (line, column) of the nth occurrence of needle in text."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


# ---------------------------------------------------------------------------------------------------
# sd_notify receiver


class NotifySocket:
    SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, self.SO_TIMESTAMP, 1)
        self.sock.settimeout(0.1)
        self.messages = []  # (kernel CLOCK_REALTIME seconds, CLOCK_MONOTONIC when read, text)
        self.cond = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        tv = struct.calcsize("@ll")
        while not self.stopped:
            try:
                data, ancdata, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(tv))
            except socket.timeout:
                continue
            except OSError:
                break
            stamp = time.time()
            for level, kind, cdata in ancdata:
                if level == socket.SOL_SOCKET and kind == self.SO_TIMESTAMP and len(cdata) >= tv:
                    sec, usec = struct.unpack("@ll", cdata[:tv])
                    stamp = sec + usec / 1e6
            with self.cond:
                self.messages.append((stamp, time.monotonic(), data.decode(errors="replace")))
                self.cond.notify_all()

    def close(self):
        self.stopped = True
        self.thread.join(2)
        self.sock.close()

    def mark(self):
        with self.cond:
            return len(self.messages)

    def since(self, mark=0):
        with self.cond:
            return list(self.messages[mark:])

    def wait(self, predicate, mark=0, timeout=10):
        deadline = time.monotonic() + timeout
        with self.cond:
            i = mark
            while True:
                while i < len(self.messages):
                    if predicate(self.messages[i][2]):
                        return self.messages[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def check_notify_around_apply(daemon, nmark, result):
    """Since nmark: RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC during the call), then READY=1, both
    queued on the notify socket before the reply was sent (the monitor saw the reply no earlier than the
    daemon sent it)."""
    daemon.notify.wait(lambda t: "READY=1" in t.split("\n"), nmark, 2)
    msgs = [m for m in daemon.notify.since(nmark) if m[2].split("\n") != ["WATCHDOG=1"]]
    shown = [m[2] for m in msgs]
    check(len(msgs) >= 2, "expected RELOADING=1 and READY=1, got %r" % shown)
    # STATUS= updates may come in between (a health change during the apply); READY=1 ends it.
    ready = [i for i, m in enumerate(msgs) if "READY=1" in m[2].split("\n")]
    check(ready, "no READY=1: %r" % shown)
    msgs = [msgs[0], msgs[ready[0]]]
    first, second = notify_fields(msgs[0][2]), notify_fields(msgs[1][2])
    check(first.get("RELOADING") == "1", "first notification is not RELOADING=1: %r" % shown)
    check(re.match(r"^\d+$", first.get("MONOTONIC_USEC", "")), "no MONOTONIC_USEC= with RELOADING=1: %r" % shown)
    mono = int(first["MONOTONIC_USEC"]) / 1e6
    check(result.started_monotonic - 0.01 <= mono <= result.returned_monotonic,
          "MONOTONIC_USEC=%s is not CLOCK_MONOTONIC during the call (%.6f..%.6f)"
          % (first["MONOTONIC_USEC"], result.started_monotonic, result.returned_monotonic))
    check(second.get("READY") == "1", "the notification after RELOADING=1 is not READY=1: %r" % shown)
    check(second.get("STATUS"), "READY=1 without STATUS=: %r" % shown)
    reply_at = result.reply["timestamp-realtime"] / 1e6 if result.reply and "timestamp-realtime" in result.reply \
        else result.returned_realtime
    check(msgs[0][0] <= reply_at and msgs[1][0] <= reply_at,
          "notifications queued after the reply: %.6f, %.6f > %.6f" % (msgs[0][0], msgs[1][0], reply_at))
    check(msgs[1][0] <= result.returned_realtime, "READY=1 after busctl returned")


def check_no_notify(daemon, nmark):
    """An apply of identical content sends no notification at all (watchdog pings aside)."""
    time.sleep(0.3)
    msgs = [m[2] for m in daemon.notify.since(nmark) if m[2].split("\n") != ["WATCHDOG=1"]]
    check_eq(msgs, [], "notifications")


def first_ready_notification(daemon):
    for _, _, text in daemon.notify.since():
        if "READY=1" in text.split("\n"):
            return text
    return ""


def notify_fields(text):
    out = {}
    for line in text.split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


# ---------------------------------------------------------------------------------------------------
# Console log lines of structured events: MESSAGE " MESSAGE_ID=" ID { " " NAME "=" VALUE }


def _unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x" and i + 3 < len(s):
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_event_line(line):
    """(message, {field: value}) or None for a plain message."""
    i = line.find(" MESSAGE_ID=")
    if i < 0:
        return None
    message, rest = line[:i], line[i + 1:]
    fields = {}
    pos = 0
    while pos < len(rest):
        eq = rest.index("=", pos)
        name = rest[pos:eq]
        pos = eq + 1
        if pos < len(rest) and rest[pos] == '"':
            j = pos + 1
            while rest[j] != '"':
                j += 2 if rest[j] == "\\" else 1
            value = _unescape(rest[pos + 1:j])
            pos = j + 1
        else:
            j = rest.find(" ", pos)
            j = len(rest) if j < 0 else j
            value = rest[pos:j]
            pos = j
        fields[name] = value
        if pos < len(rest) and rest[pos] == " ":
            pos += 1
    return message, fields


def load_message_ids(source_root):
    ids = {}
    with open(os.path.join(source_root, "src", "shared", "message-ids.h")) as f:
        for name, value in re.findall(r'#define\s+QUALITY_MESSAGE_(\w+)\s+"([0-9a-f]{32})"', f.read()):
            ids[name] = value
    return ids


# ---------------------------------------------------------------------------------------------------
# One daemon in its own directory


class Daemon:
    all_logs = []  # (name, path) of every daemon's stderr, checked for sanitizer reports at the end
    exit_problems = []

    def __init__(self, bus, base, daemon_path, source_root, name, config_text=None, state_from=None,
                 keep_generations=None, check_interval=None, admin_group=None, read_only_dirs=(),
                 watchdog=True, workflows_from=None, workflows_root_option=True, relative_paths=False):
        self.bus = bus
        self.name = name
        self.daemon_path = daemon_path
        self.dir = tempfile.mkdtemp(prefix=name + ".", dir=base)
        os.chmod(self.dir, 0o755)
        self.config_dir = os.path.join(self.dir, "etc")
        self.config_path = os.path.join(self.config_dir, "quality_mappings.yaml")
        self.workflows = workflows_from or os.path.join(self.dir, "workflows")
        self.state_dir = state_from or os.path.join(self.dir, "state")
        os.makedirs(self.config_dir, exist_ok=True)
        if not workflows_from:
            shutil.copytree(os.path.join(source_root, "etc", "workflows"), self.workflows)
        os.makedirs(self.state_dir, exist_ok=True)
        if config_text is not None:
            with open(self.config_path, "w") as f:
                f.write(config_text)
        # relative_paths: the daemon runs in its directory and is given paths relative to it.
        rel = (lambda p: os.path.relpath(p, self.dir)) if relative_paths else (lambda p: p)
        self.cwd = self.dir if relative_paths else None
        self.args = ["--config", rel(self.config_path), "--state-dir", rel(self.state_dir), "--log-target",
                     "console"]
        if workflows_root_option:
            self.args += ["--workflows-root", rel(self.workflows)]
        if keep_generations is not None:
            self.args += ["--keep-generations", str(keep_generations)]
        if check_interval is not None:
            self.args += ["--check-interval", str(check_interval)]
        if admin_group is not None:
            self.args += ["--admin-group", admin_group]
        self.read_only_dirs = list(read_only_dirs)  # read-only bind mounts in the daemon's mount namespace
        self.watchdog = watchdog
        self.process = None
        self.notify = None
        self.log_path = None
        self.generation_log_offset = 0
        self.starts = 0
        self.unique_name = None

    def start(self, timeout=30, wait_ready=True):
        self.starts += 1
        self.log_path = os.path.join(self.dir, "daemon.%d.log" % self.starts)
        Daemon.all_logs.append((self.name, self.log_path))
        sock = os.path.join(self.dir, "notify.%d.sock" % self.starts)
        self.notify = NotifySocket(sock)
        env = dict(self.bus.env, NOTIFY_SOCKET=sock, NO_COLOR="1", SYSTEMD_LOG_LEVEL="info")
        for k in ("STATE_DIRECTORY", "QUALITY_CONFIG_PATH", "COMFYUI_WORKFLOWS_ROOT", "QUALITY_LOG_TARGET",
                  "QUALITY_LOG_LEVEL", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
                  "LISTEN_PID", "INVOCATION_ID"):
            env.pop(k, None)
        if self.watchdog:
            env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
        # The daemon runs with umask 077, so that Deploy must set 0644 itself; WATCHDOG_PID is its own
        # PID because exec keeps the shell's.
        script = 'umask 077; export WATCHDOG_PID=$$; exec "$@"'
        argv = ["sh", "-c", script, "sh", self.daemon_path] + self.args
        if self.read_only_dirs:
            # Like a directory missing from ReadWritePaths= in the unit: a read-only bind mount in the
            # daemon's own mount namespace.
            script = ('for d in $RO_DIRS; do mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" || exit 1; '
                      'done; unset RO_DIRS; ' + script)
            env["RO_DIRS"] = " ".join(self.read_only_dirs)
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                    self.daemon_path] + self.args
        self.log = open(self.log_path, "w")
        self.started_realtime = time.time()
        self.process = spawn(argv, env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                             cwd=self.cwd)
        if not wait_ready:
            return self
        ready = self.notify.wait(lambda t: "READY=1" in t.split("\n"), 0, timeout)
        if not ready:
            raise Failure("daemon %s did not send READY=1 within %ds (exit %s); log:\n%s"
                          % (self.name, timeout, self.process.poll(), self.log_text()[-3000:]))
        self.unique_name = self.bus.name_owner()
        return self

    def stop(self, timeout=30):
        """SIGTERM; returns the exit status. A status other than 0 is recorded as a problem."""
        if not self.process or self.process.poll() is not None:
            rc = self.process.poll() if self.process else None
        else:
            self.process.send_signal(signal.SIGTERM)
            try:
                rc = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
                rc = "hung (killed)"
        self.log.close()
        if self.notify:
            self.notify.close()
        if rc != 0:
            Daemon.exit_problems.append("%s (start %d): exit status %s" % (self.name, self.starts, rc))
        return rc

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def log_lines(self):
        return self.log_text().splitlines()

    def events(self, message_id=None):
        out = []
        for line in self.log_lines():
            e = parse_event_line(line)
            if e and (message_id is None or e[1].get("MESSAGE_ID") == message_id):
                out.append((e[0], e[1], line))
        return out

    def log_mark(self):
        return len(self.log_lines())

    def events_since(self, mark, message_id):
        out = []
        for line in self.log_lines()[mark:]:
            e = parse_event_line(line)
            if e and e[1].get("MESSAGE_ID") == message_id:
                out.append((e[0], e[1], line))
        return out

    def wait_event(self, mark, message_id, predicate=lambda f: True, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events_since(mark, message_id):
                if predicate(e[1]):
                    return e
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def read_config(self):
        with open(self.config_path, "rb") as f:
            return f.read()

    def write_config(self, text):
        """Replaces the file as an editor would: a new file renamed over the old one."""
        tmp = self.config_path + ".edit"
        with open(tmp, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        os.rename(tmp, self.config_path)


# ---------------------------------------------------------------------------------------------------
# The run: its context, the checks the groups share, and the skeleton of every test-daemon-*.py


class Context:
    def __init__(self, daemon_path, source_root):
        self.daemon_path = os.path.abspath(daemon_path)
        self.source_root = os.path.abspath(source_root)
        self.base = tempfile.mkdtemp(prefix="auteur-quality-it.")
        os.chmod(self.base, 0o755)
        self.ids = load_message_ids(self.source_root)
        self.is_root = os.geteuid() == 0
        with open(self.daemon_path, "rb") as f:
            binary = f.read()
        self.sanitized = b"__asan_init" in binary or b"__ubsan_handle" in binary
        self.bus = Bus(self.base, self.source_root)
        self.daemons = []
        self.created_group = False
        # Without root, the admin methods are allowed through a group of the test's user (if the bus reports
        # the caller's groups); the checks that need root are skipped.
        self.default_admin_group = None
        if not self.is_root:
            for gid in os.getgroups() + [os.getgid()]:
                try:
                    self.default_admin_group = grp.getgrgid(gid).gr_name
                    break
                except KeyError:
                    continue

    def daemon(self, name, **kwargs):
        if self.default_admin_group and kwargs.get("admin_group") is None:
            kwargs["admin_group"] = self.default_admin_group
        d = Daemon(self.bus, self.base, self.daemon_path, self.source_root, name, **kwargs)
        self.daemons.append(d)
        return d

    def close(self):
        for d in self.daemons:
            if d.alive():
                d.stop()
        self.bus.stop()
        if self.created_group:
            subprocess.run(["groupdel", TEST_ADMIN_GROUP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.environ.get("QUALITY_TEST_KEEP_TMP"):
            TAP.diag("kept " + self.base)
        else:
            shutil.rmtree(self.base, ignore_errors=True)


def needs_root(ctx):
    if not ctx.is_root:
        raise Skip("needs root (setpriv, unshare, groupadd)")


def check_resolve(bus, task, tier, workflows, steps_bump=0, user=None):
    data = bus.must("Resolve", "ss", task, tier, user=user)
    check_eq(data[0], workflow_path(task, tier), "workflow_path")
    check_eq(data[1], os.path.join(workflows, workflow_path(task, tier), "workflow_api.json"), "workflow_file")
    check_eq(variant_dict(data[2]), expected_parameters(tier, steps_bump), "parameters")
    return data


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def id_fields_check(ctx, daemon, event, required):
    """The event named by its message-ids.h name is in the log with every field in required (a dict of
    name -> expected value or None for 'present'). Returns the matching entry."""
    mid = ctx.ids[event]
    entries = daemon.events(mid)
    check(entries, "no %s event (MESSAGE_ID=%s) in the log of %s" % (event, mid, daemon.name))
    for message, fields, line in entries:
        if all(k in fields and (v is None or fields[k] == v) for k, v in required.items()):
            return fields
    raise Failure("no %s event with fields %r; got:\n%s" % (event, required, "\n".join(e[2] for e in entries)))


def final_checks(ctx):
    with TAP.case("every daemon exited 0 on SIGTERM"):
        check(not Daemon.exit_problems, "\n".join(Daemon.exit_problems))
    with TAP.case("no sanitizer report in any daemon's stderr"):
        found = []
        for name, path in Daemon.all_logs:
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    i = text.index(marker)
                    found.append("%s (%s): %s" % (name, path, text[max(0, i - 200):i + 1500]))
                    break
        check(not found, "\n".join(found))


def run(groups):
    """The main() of each test-daemon-*.py: runs the groups of checks (functions of a Context) in order on
    one private bus, stopping any daemon a group left running, then the checks over every daemon of the
    run. Returns the exit status."""
    if len(sys.argv) != 3:
        sys.stderr.write("usage: %s PATH-TO-auteur-qualityd SOURCE-ROOT\n" % sys.argv[0])
        return 2
    for tool in ("dbus-daemon", "busctl"):
        if not shutil.which(tool):
            print("1..0 # SKIP %s is not installed" % tool)
            return int(os.environ.get("TAP_SKIP_EXIT_STATUS", "77"))
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    started = time.monotonic()
    ctx = Context(sys.argv[1], sys.argv[2])
    try:
        for group in groups:
            try:
                group(ctx)
            except Exception as e:
                TAP.result(False, "%s: setup" % group.__name__, "".join(traceback.format_exception(
                    type(e), e, e.__traceback__)))
            for d in ctx.daemons:
                if d.alive():
                    d.stop()
        final_checks(ctx)
    finally:
        ctx.close()
    TAP.diag("wall time %.1f s" % (time.monotonic() - started))
    return TAP.finish()
