#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration test of auteur-qualityd as a process on a private system bus, with TAP output.

Usage: test-daemon-lifecycle.py PATH-TO-auteur-qualityd SOURCE-ROOT

Start-up and its failure, the sd_notify messages (READY=1 with STATUS=, WATCHDOG=1, STOPPING=1), who
may call what (nobody, members of --admin-group), and hostile callers the daemon must outlive without
its event loop stalling past the watchdog. Each group of checks starts a daemon in a fresh temporary
directory; qualityd_harness.py beside this file has the machinery. test-daemon-api.py tests the
answers, test-daemon-apply.py what changes the configuration.

Run as root for every check; without root, those that need it (setpriv, unshare, groupadd) are skipped.
Set QUALITY_TEST_KEEP_TMP=1 to keep the temporary directory.

Exit status: 0 when every check passed, 1 otherwise, 77 when dbus-daemon or busctl is missing (with
"1..0 # SKIP ..."; $TAP_SKIP_EXIT_STATUS replaces the 77, since a TAP harness such as meson's counts any
non-zero status as an error).
"""

import grp
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qualityd_harness import *  # noqa: E402,F401,F403 (the harness's names are the test's vocabulary)


# ---- one long-lived daemon: start-up, hostile callers, authorisation, the watchdog throughout ----

def tests_process(ctx):
    bus = ctx.bus
    config = make_config()
    a = ctx.daemon("process", config_text=config)

    with TAP.case("start-up: READY=1 with STATUS= is the first state notification, the name is owned then"):
        a.start()
        msgs = [m[2] for m in a.notify.since()]
        ready = [i for i, m in enumerate(msgs) if "READY=1" in m.split("\n")]
        check(ready, "no READY=1: %r" % msgs)
        check(not any(k in m for m in msgs[:ready[0]] for k in ("RELOADING=", "STOPPING=", "ERRNO=")),
              "notifications before READY=1: %r" % msgs[:ready[0]])
        f = notify_fields(msgs[ready[0]])
        check(f.get("STATUS"), "READY=1 without STATUS=: %r" % msgs[ready[0]])
        for word in ("itest", "1", "6", "healthy"):
            check(word in f["STATUS"], "STATUS= does not mention %r: %r" % (word, f["STATUS"]))
        check(a.unique_name, "nobody owns %s after READY=1" % BUS_NAME)

    with TAP.case("start-up failure (bus name taken): ERRNO=, no READY=1, non-zero exit, clean stderr"):
        z = ctx.daemon("second", config_text=config)
        z.start(wait_ready=False)
        try:
            rc = z.process.wait(30)
        except subprocess.TimeoutExpired:
            z.process.kill()
            raise Failure("a second daemon kept running while %s is owned" % BUS_NAME)
        finally:
            z.log.close()
            time.sleep(0.1)
            z.notify.close()
        msgs = [m[2] for m in z.notify.since()]
        check(rc != 0, "exit status 0")
        check(any(re.match(r"^ERRNO=\d+$", line) for m in msgs for line in m.split("\n")), "no ERRNO=: %r" % msgs)
        check(not any("READY=1" in m.split("\n") for m in msgs), "READY=1 sent: %r" % msgs)
        check_eq(bus.name_owner(), a.unique_name, "owner of the name")
        check_resolve(bus, "character_portrait", "low", a.workflows)

    # -- hostile callers --
    with TAP.case("hostile: wrong signatures get InvalidArgs and the daemon lives on"):
        for member, args in (("Resolve", ("s", "character_portrait")), ("Resolve", ("su", "character_portrait", 1)),
                             ("Validate", ("u", 3)), ("Rollback", ("s", "1")), ("Deploy", ("s", config)),
                             ("Health", ("s", "x")), ("ListTiers", ("as", 2, "a", "b")),
                             ("Render", ("sss", "a", "b", "c"))):
            r = bus.call(member, *args)
            check_eq(r.error, INVALID_ARGS, "%s%r" % (member, args[:1]))
        check(a.alive(), "the daemon died")
        check_resolve(bus, "character_portrait", "high", a.workflows)

    with TAP.case("hostile: unknown and odd task type names get NoSuchTaskType"):
        for name in ("x" * 5000, "../../etc/passwd", "Character_Portrait", "character_portrait\n", "%s%n",
                     "\u00e9t\u00e9", "character_portrait/low"):
            r = bus.call("Resolve", "ss", name, "low")
            check_eq(r.error, ERR + "NoSuchTaskType", "Resolve %r" % name[:40])
        check(a.alive(), "the daemon died")

    with TAP.case("hostile: a 20 MiB Validate text is too-large, the daemon keeps answering"):
        raw = RawBus(bus.socket)
        try:
            text = ("# " + "x" * 1021 + "\n") * (20 * 1024)
            t0, r0 = time.monotonic(), time.time()
            error, values = raw.call(BUS_NAME, BUS_PATH, BUS_IFACE, "Validate", "s", [text])
            elapsed = time.monotonic() - t0
            ctx.big_call_window = (r0, time.time())
        finally:
            raw.close()
        check(error is None, "Validate failed: %s" % error)
        ok, problems = values[0], [tuple(p) for p in values[1]]
        check(ok is False, "ok=%r" % ok)
        check(any(p[1] == "too-large" and p[0] == "error" and p[2:4] == (0, 0) for p in problems),
              "no too-large problem at 0:0: %r" % problems[:5])
        check(a.alive(), "the daemon died")
        check_resolve(bus, "scene_generation", "low", a.workflows)
        TAP.diag("20 MiB Validate answered in %.2f s" % elapsed)

    with TAP.case("hostile: garbage Validate texts get problems, not a crash"):
        garbage = ["\x01\x02\x7f{{{[[[::: - - ? !!binary &a *a <<: *a",
                   "[" * 10000, "{a: " * 3000, "- " * 20000, "\t\t: :\n\t- ]\n",
                   "environment: x\nenvironment: y\n", "%YAML 9.9\n---\nx: 1\n", "\ufeff\ufffd\u2028" * 100,
                   "a: &x [*x]\n", "workflows: {mappings: {t: {low: {workflow_path: /etc/passwd}}}}\n"]
        for text in garbage:
            r = bus.call("Validate", "s", text)
            check(r.ok, "Validate %r failed: %s" % (text[:30], r.describe()))
            ok, problems = problems_of(r.data)
            check(ok is False and errors_of(problems), "garbage %r: ok=%r %r" % (text[:30], ok, problems[:3]))
        check(a.alive(), "the daemon died")
        check_resolve(bus, "scene_generation", "high", a.workflows)

    with TAP.case("hostile: Deploy with control characters in the origin gets InvalidArgs, nothing changes"):
        before = a.read_config()
        for origin in ("evil\norigin", "tab\there", "esc\x1b[31m", "del\x7f", "o" * 5000):
            r = bus.call("Deploy", "ss", make_config(comment="origin test"), origin)
            check_eq(r.error, INVALID_ARGS, "origin %r" % origin[:20])
        check_eq(bus.get_property("Generation")["data"], 1, "Generation")
        check_eq(a.read_config(), before, "config file")
        check_eq(len(generations(bus)), 1, "number of generations")

    # -- authorisation --
    with TAP.case("authorisation: nobody gets AccessDenied from the daemon for Reload, Deploy, Rollback"):
        needs_root(ctx)
        mark = a.log_mark()
        for member, args in (("Reload", ()), ("Deploy", ("ss", make_config(comment="nobody"), "nobody")),
                             ("Rollback", ("t", 1))):
            r = bus.call(member, *args, user=NOBODY)
            check_eq(r.error, ACCESS_DENIED, member)
            check_eq(r.reply.get("sender"), a.unique_name, "sender of the refusal (must be the daemon, not the bus)")
        refusals = [e for e in a.events_since(mark, ctx.ids["UNAUTHORIZED_CALL"])
                    if e[1].get("QUALITY_CALLER_UID") == str(NOBODY)]
        check_eq(len(refusals), 3, "UNAUTHORIZED_CALL events with QUALITY_CALLER_UID=65534")
        check_eq(bus.get_property("Generation")["data"], 1, "Generation")

    with TAP.case("authorisation: nobody may call Health, Resolve, Validate and read properties"):
        needs_root(ctx)
        r = bus.call("Health", user=NOBODY)
        check(r.ok and r.data[0] == "healthy", "Health: " + r.describe())
        check_resolve(bus, "character_portrait", "standard", a.workflows, user=NOBODY)
        r = bus.call("Validate", "s", config, user=NOBODY)
        check(r.ok and r.data[0] is True, "Validate: " + r.describe())
        check_eq(bus.get_property("Status", user=NOBODY)["data"], "healthy", "Status as nobody")

    # -- notify --
    with TAP.case("sd_notify: WATCHDOG=1 at least every second or so with WATCHDOG_USEC=2s"):
        mark = a.notify.mark()
        time.sleep(3.2)
        pings = [m[0] for m in a.notify.since(mark) if "WATCHDOG=1" in m[2].split("\n")]
        check(len(pings) >= 2, "only %d WATCHDOG=1 in 3.2 s" % len(pings))
        gaps = [b - x for x, b in zip(pings, pings[1:])]
        check(all(g <= 1.8 for g in gaps), "gaps between pings %r" % gaps)
        # Over the whole life, hostile calls included, the loop never stalled past the watchdog. Under
        # ASan, libsystemd's read of a 20 MiB message is slow (sd-bus reallocs its read buffer to the same
        # size after every read, which ASan's realloc turns into a copy each time), so the gap across
        # that call is reported, not counted, in sanitizer builds.
        pings = [m[0] for m in a.notify.since() if "WATCHDOG=1" in m[2].split("\n")]
        stamps = [a.started_realtime] + pings + [time.time()]
        gaps = [(b - x, x, b) for x, b in zip(stamps, stamps[1:])]
        window = getattr(ctx, "big_call_window", None)
        if ctx.sanitized and window:
            for g in gaps:
                if g[1] < window[1] and g[2] > window[0] and g[0] >= WATCHDOG_USEC / 1e6:
                    TAP.diag("sanitizer build: %.2f s without WATCHDOG=1 across the 20 MiB call" % g[0])
            gaps = [g for g in gaps if not (g[1] < window[1] and g[2] > window[0])]
        worst = max(g[0] for g in gaps)
        check(worst < WATCHDOG_USEC / 1e6, "a gap of %.2f s without WATCHDOG=1 (watchdog would fire)" % worst)

    with TAP.case("sd_notify: STOPPING=1 on SIGTERM and exit status 0"):
        mark = a.notify.mark()
        proc = a.process
        a.process.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
        a.notify.wait(lambda t: "STOPPING=1" in t.split("\n"), mark, 2)
        msgs = [m[2] for m in a.notify.since(mark)]
        a.stop()
        check(any("STOPPING=1" in m.split("\n") for m in msgs), "no STOPPING=1: %r" % msgs)
        check_eq(rc, 0, "exit status")
        id_fields_check(ctx, a, "DAEMON_STOPPING", {"QUALITY_GENERATION": "1"})


# ---- a daemon with --admin-group ----

def tests_admin_group(ctx):
    bus = ctx.bus
    with TAP.case("authorisation: a member of --admin-group may Reload, Deploy and Rollback"):
        needs_root(ctx)
        try:
            gid = grp.getgrnam(TEST_ADMIN_GROUP).gr_gid
        except KeyError:
            p = subprocess.run(["groupadd", "--system", TEST_ADMIN_GROUP], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True)
            if p.returncode != 0:
                raise Skip("groupadd failed: " + p.stdout.strip())
            gid = grp.getgrnam(TEST_ADMIN_GROUP).gr_gid
        ctx.created_group = True
        f = ctx.daemon("admin", config_text=make_config(comment="admin"), admin_group=TEST_ADMIN_GROUP)
        f.start()
        try:
            r = bus.call("Reload", user=NOBODY, groups=[gid])
            check(r.ok and r.data == [1], "Reload: " + r.describe())
            r = bus.call("Deploy", "ss", make_config(comment="by an admin", steps_bump=3), "admin", user=NOBODY,
                         groups=[gid])
            check(r.ok and r.data == [2], "Deploy: " + r.describe())
            check_eq(file_mode(f.config_path), 0o644, "config file mode")
            r = bus.call("Rollback", "t", 0, user=NOBODY, groups=[gid])
            check(r.ok and r.data == [3], "Rollback: " + r.describe())
            lmark = f.log_mark()
            r = bus.call("Deploy", "ss", make_config(comment="not an admin"), "x", user=NOBODY)
            check_eq(r.error, ACCESS_DENIED, "Deploy without the group")
            check(f.events_since(lmark, ctx.ids["UNAUTHORIZED_CALL"]), "no UNAUTHORIZED_CALL event")
            r = bus.call("Deploy", "ss", make_config(comment="other group"), "x", user=NOBODY, groups=[gid + 1])
            check_eq(r.error, ACCESS_DENIED, "Deploy with another group")
        finally:
            f.stop()


if __name__ == "__main__":
    sys.exit(run([tests_process, tests_admin_group]))
