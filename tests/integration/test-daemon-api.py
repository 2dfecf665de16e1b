#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration test of auteur-qualityd's answers on a private system bus, with TAP output.

Usage: test-daemon-api.py PATH-TO-auteur-qualityd SOURCE-ROOT

Every method, error and property of org.auteur.QualityTier through the real busctl, the introspection
data against dbus/org.auteur.QualityTier.xml, and where the workflows root comes from. Each group of
checks starts a daemon in a fresh temporary directory (config file, workflows copied from etc/workflows,
state directory, notify socket, stderr log); qualityd_harness.py beside this file has the machinery.
test-daemon-apply.py tests what changes the configuration, test-daemon-lifecycle.py the process and
its callers.

Run as root for every check; without root, those that need it (setpriv, unshare, groupadd) are skipped.
Set QUALITY_TEST_KEEP_TMP=1 to keep the temporary directory.

Exit status: 0 when every check passed, 1 otherwise, 77 when dbus-daemon or busctl is missing (with
"1..0 # SKIP ..."; $TAP_SKIP_EXIT_STATUS replaces the 77, since a TAP harness such as meson's counts any
non-zero status as an error).
"""

import json
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qualityd_harness import *  # noqa: E402,F401,F403 (the harness's names are the test's vocabulary)


# ---- one long-lived daemon for the methods, errors and properties ----

def tests_methods(ctx):
    bus = ctx.bus
    config = make_config()
    a = ctx.daemon("methods", config_text=config)
    a.start()

    # -- methods --
    with TAP.case("Validate: a good text is ok with no errors (and the shipped production sample too)"):
        ok, problems = problems_of(bus.must("Validate", "s", config))
        check(ok is True and not errors_of(problems), "ok=%r problems=%r" % (ok, problems))
        warnings = {p[1] for p in problems}
        check("parameters-not-applicable" not in warnings, "unexpected warnings %r" % problems)
        check(any(p[1] == "unknown-key" or "clip_skip" in p[4] for p in problems if p[0] == "warning"),
              "the unknown parameter key clip_skip got no warning: %r" % problems)
        with open(os.path.join(ctx.source_root, "etc", "environments", "production.yaml")) as f:
            ok, problems = problems_of(bus.must("Validate", "s", f.read()))
        check(ok is True and not errors_of(problems), "production.yaml: ok=%r problems=%r" % (ok, problems))
        for p in problems:
            check(len(p) == 5 and p[0] in ("error", "warning") and isinstance(p[2], int)
                  and isinstance(p[3], int), "malformed problem %r" % (p,))

    with TAP.case("Validate: yaml-syntax error at its exact line:column"):
        text = 'version: "1.0"\nmappings: a: b\n'
        ok, problems = problems_of(bus.must("Validate", "s", text))
        check(ok is False, "ok=%r" % ok)
        hits = [p for p in problems if p[1] == "yaml-syntax"]
        check(hits, "no yaml-syntax problem: %r" % problems)
        check_eq((hits[0][0], hits[0][2], hits[0][3]), ("error", 2, 12), "severity, line, column")
        check(hits[0][4], "empty message")

    with TAP.case("Validate: unknown-key at its exact line:column with a suggestion"):
        text = config.replace("  mappings:", "  mapings:", 1)
        line, column = position_of(text, "mapings:")
        ok, problems = problems_of(bus.must("Validate", "s", text))
        check(ok is False, "ok=%r" % ok)
        hits = [p for p in problems if p[1] == "unknown-key"]
        check(hits, "no unknown-key problem: %r" % problems)
        check_eq((hits[0][0], hits[0][2], hits[0][3]), ("error", line, column), "severity, line, column")
        check("did you mean 'mappings'" in hits[0][4], "no suggestion in %r" % hits[0][4])

    with TAP.case("Validate: positions with CRLF line ends and multi-byte characters count characters"):
        text = 'version: "1.0"\r\nmapings:\r\n  t: {}\r\n'
        ok, problems = problems_of(bus.must("Validate", "s", text))
        hits = [p for p in problems if p[1] == "unknown-key"]
        check(hits and hits[0][2:4] == (2, 1), "unknown-key not at 2:1: %r" % problems)
        text = ('version: "1.0"\nmappings:\n  character_portrait:\n    low: {description: "\u00e9\u00e9\u00e9 \u2014 '
                'draft", bogus_key: 1, workflow_path: %s}\n' % workflow_path("character_portrait", "low"))
        line, column = position_of(text, "bogus_key")
        ok, problems = problems_of(bus.must("Validate", "s", text))
        hits = [p for p in problems if p[1] in ("unknown-key", "yaml-syntax")]
        check(hits and hits[0][1] == "unknown-key" and hits[0][2:4] == (line, column),
              "unknown-key not at %d:%d (characters, not bytes): %r" % (line, column, problems))

    with TAP.case("Validate: bad-type (quoted number) and workflow-missing at the value's position"):
        text = config.replace("steps: 33", 'steps: "33"', 1)
        line, column = position_of(text, '"33"')
        ok, problems = problems_of(bus.must("Validate", "s", text))
        check(ok is False, "ok=%r" % ok)
        check(("error", "bad-type", line, column) in [p[:4] for p in problems],
              "no bad-type at %d:%d: %r" % (line, column, problems))
        text = config.replace(workflow_path("scene_generation", "standard"), "library/no/such_v9", 1)
        line, column = position_of(text, "library/no/such_v9")
        ok, problems = problems_of(bus.must("Validate", "s", text))
        check(ok is False, "ok=%r" % ok)
        hits = [p for p in problems if p[1] == "workflow-missing"]
        check(hits and hits[0][:4] == ("error", "workflow-missing", line, column),
              "no workflow-missing at %d:%d: %r" % (line, column, problems))
        check("workflow_api.json" in hits[0][4], "message does not name the workflow file: %r" % hits[0][4])

    with TAP.case('Validate "": validates the file at the config path'):
        ok, problems = problems_of(bus.must("Validate", "s", ""))
        check(ok is True and not errors_of(problems), "good file: ok=%r %r" % (ok, problems))
        original = a.read_config()
        try:
            a.write_config("environment: itest\nworkflows: [\n")
            ok, problems = problems_of(bus.must("Validate", "s", ""))
            check(ok is False and any(p[1] == "yaml-syntax" for p in problems),
                  "broken file: ok=%r %r" % (ok, problems))
        finally:
            a.write_config(original)

    with TAP.case("Health: status and JSON shape"):
        status, text = bus.must("Health")
        check_eq(status, "healthy", "status")
        h = json.loads(text)
        check_eq(h.get("status"), "healthy", "json status")
        check(isinstance(h.get("timestamp"), str) and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", h["timestamp"]),
              "timestamp %r" % h.get("timestamp"))
        check(isinstance(h.get("checks"), dict), "checks %r" % h.get("checks"))
        for name in ("configuration", "workflows", "permissions"):
            c = h["checks"].get(name)
            check(isinstance(c, dict) and isinstance(c.get("status"), str) and isinstance(c.get("details"), str),
                  "checks.%s = %r" % (name, c))
            check_eq(c["status"], "healthy", "checks.%s.status" % name)
        check_eq(h.get("failed_checks"), [], "failed_checks")

    with TAP.case("Resolve: workflow_path, absolute workflow_file, parameters typed x/d/s"):
        for task in TASKS:
            for tier in TIERS:
                check_resolve(bus, task, tier, a.workflows)

    with TAP.case("ListTaskTypes"):
        check_eq(sorted(bus.must("ListTaskTypes")[0]), sorted(TASKS), "task types")

    with TAP.case("ListTiers: (tier, workflow_path, parameters) in tier order"):
        tiers = bus.must("ListTiers", "s", "scene_generation")[0]
        check_eq([t[0] for t in tiers], list(TIERS), "tiers")
        for t in tiers:
            check_eq(t[1], workflow_path("scene_generation", t[0]), "workflow_path of " + t[0])
            check_eq(variant_dict(t[2]), expected_parameters(t[0]), "parameters of " + t[0])

    with TAP.case("DescribeTaskType: JSON shape"):
        d = json.loads(bus.must("DescribeTaskType", "s", "character_portrait")[0])
        check_eq(d.get("task_type"), "character_portrait", "task_type")
        tiers = d.get("available_tiers")
        check(isinstance(tiers, dict) and sorted(tiers) == sorted(TIERS), "available_tiers %r" % tiers)
        for tier, v in tiers.items():
            check_eq(v.get("workflow_path"), workflow_path("character_portrait", tier), tier + " workflow_path")
            check_eq(v.get("description"), "character_portrait at tier %s" % tier, tier + " description")
            params = v.get("parameters")
            check(isinstance(params, dict), "parameters %r" % params)
            for key, (t, value) in expected_parameters(tier).items():
                check(key in params and params[key] == value and isinstance(params[key], float if t == "d"
                                                                            else int if t == "x" else str),
                      "%s parameters[%s] = %r, expected %r" % (tier, key, params.get(key), value))

    with TAP.case("ListGenerations: (generation, applied usec, sha256, origin, environment)"):
        g = generations(bus)
        check_eq(len(g), 1, "number of generations")
        num, applied, sha, origin, env = g[0]
        check_eq((num, sha, origin, env), (1, sha256(config), "startup", "itest"), "generation 1")
        check(abs(applied / 1e6 - a.started_realtime) < 60, "applied %d is not about now" % applied)

    with TAP.case("GetMetrics: every metric of SPEC section 4 with HELP and TYPE"):
        bus.must("Resolve", "ss", "character_portrait", "low")
        text = bus.must("GetMetrics")[0]
        for name in METRICS:
            check(re.search(r"^# HELP %s \S" % name, text, re.M), "no HELP for " + name, text)
            check(re.search(r"^# TYPE %s (gauge|counter)$" % name, text, re.M), "no TYPE for " + name, text)
        check(re.search(r'^quality_tier_selection_total\{task_type="character_portrait",tier="low"\} \d+$', text,
                        re.M), "no selection sample", text)
        check(re.search(r"^quality_config_generation 1$", text, re.M), "quality_config_generation", text)
        check(re.search(r"^quality_mappings 6$", text, re.M), "quality_mappings", text)

    with TAP.case("Render: the tier's parameters written into KSampler and EmptyLatentImage"):
        for task in TASKS:
            for tier in TIERS:
                prompt = json.loads(bus.must("Render", "ss", task, tier)[0])
                check(isinstance(prompt.get("prompt"), dict), "no prompt object")
                with open(os.path.join(a.workflows, workflow_path(task, tier), "workflow_api.json")) as f:
                    original = json.load(f)
                check_eq(sorted(prompt["prompt"]), sorted(original), "node ids")
                params = {k: v for k, (t, v) in expected_parameters(tier).items()}
                seen = set()
                for node_id, node in prompt["prompt"].items():
                    inputs, before = node["inputs"], original[node_id]["inputs"]
                    if node["class_type"] == "KSampler":
                        seen.add("KSampler")
                        for p, i in (("steps", "steps"), ("cfg_scale", "cfg"), ("sampler_name", "sampler_name"),
                                     ("scheduler", "scheduler"), ("seed", "seed"), ("denoise", "denoise")):
                            check_eq(inputs.get(i), params.get(p, before.get(i)),
                                     "%s/%s KSampler %s" % (task, tier, i))
                        check(isinstance(inputs["cfg"], float), "cfg is not a number with a fraction")
                    elif node["class_type"] == "EmptyLatentImage":
                        seen.add("EmptyLatentImage")
                        for p in ("width", "height", "batch_size"):
                            check_eq(inputs.get(p), params.get(p, before.get(p)),
                                     "%s/%s EmptyLatentImage %s" % (task, tier, p))
                    else:
                        check_eq(inputs, before, "%s/%s node %s" % (task, tier, node_id))
                check_eq(seen, {"KSampler", "EmptyLatentImage"}, "nodes seen")

    # -- errors --
    with TAP.case("NoSuchTaskType from Resolve, Render, ListTiers, DescribeTaskType"):
        for member, args in (("Resolve", ("ss", "no_such_task", "low")), ("Render", ("ss", "no_such_task", "low")),
                             ("ListTiers", ("s", "no_such_task")), ("DescribeTaskType", ("s", "no_such_task"))):
            r = bus.call(member, *args)
            check_eq(r.error, ERR + "NoSuchTaskType", member)

    with TAP.case("NoSuchTier: an unknown tier name"):
        for tier in ("ultra", "", "LOW", "low "):
            r = bus.call("Resolve", "ss", "character_portrait", tier)
            check_eq(r.error, ERR + "NoSuchTier", "Resolve tier %r" % tier)
        r = bus.call("Render", "ss", "character_portrait", "ultra")
        check_eq(r.error, ERR + "NoSuchTier", "Render")

    with TAP.case("Validate: root_path elsewhere is a warning when the root came from --workflows-root"):
        ok, problems = problems_of(bus.must("Validate", "s", make_config(root_path="/tmp")))
        check(ok is True, "ok=%r %r" % (ok, problems))
        check(("warning", "root-path-mismatch") in [p[:2] for p in problems], "no warning: %r" % problems)
        ok, problems = problems_of(bus.must("Validate", "s", make_config(root_path="../workflows")))
        check(ok is True and "root-path-mismatch" not in [p[1] for p in problems],
              "a relative root_path naming the daemon's root: ok=%r %r" % (ok, problems))

    # -- properties --
    with TAP.case("properties: Version, Environment, Generation, Status, ConfigPath, WorkflowsRoot, Mappings, "
                  "LastReloadUSec, ConfigChangedOnDisk"):
        expected = {"Environment": "itest", "Generation": 1, "Status": "healthy", "ConfigPath": a.config_path,
                    "WorkflowsRoot": a.workflows, "Mappings": 6, "ConfigChangedOnDisk": False}
        types = {"Version": "s", "Environment": "s", "Generation": "t", "Status": "s", "ConfigPath": "s",
                 "WorkflowsRoot": "s", "Mappings": "u", "LastReloadUSec": "t", "ConfigChangedOnDisk": "b"}
        for name, t in types.items():
            got = bus.get_property(name)
            check_eq(got["type"], t, name + " type")
            if name in expected:
                check_eq(got["data"], expected[name], name)
        version = bus.get_property("Version")["data"]
        check(re.match(r"^\d+\.\d+", version), "Version %r" % version)
        last = bus.get_property("LastReloadUSec")["data"]
        check_eq(last, generations(bus)[-1][1], "LastReloadUSec vs. generation 1's applied time")

    with TAP.case("introspection matches dbus/org.auteur.QualityTier.xml"):
        test_introspection(ctx)

    a.stop()


def test_introspection(ctx):
    path = os.path.join(ctx.source_root, "dbus", "org.auteur.QualityTier.xml")
    if not os.path.exists(path):
        raise Skip("dbus/org.auteur.QualityTier.xml does not exist yet")
    p = ctx.bus.busctl(["introspect", BUS_NAME, BUS_PATH], options=["--xml-interface"])
    check(p.returncode == 0, "busctl introspect failed: " + p.stderr)

    def describe(root):
        iface = None
        for i in root.iter("interface"):
            if i.get("name") == BUS_IFACE:
                iface = i
        check(iface is not None, "no interface %s" % BUS_IFACE)
        methods = {m.get("name"): [(a.get("name"), a.get("type"), a.get("direction", "in"))
                                   for a in m.findall("arg")] for m in iface.findall("method")}
        props = {x.get("name"): (x.get("type"), x.get("access")) for x in iface.findall("property")}
        sigs = {s.get("name"): [(a.get("name"), a.get("type")) for a in s.findall("arg")]
                for s in iface.findall("signal")}
        return methods, props, sigs

    live = describe(ET.fromstring(p.stdout))
    with open(path) as f:
        text = f.read()
    # The DOCTYPE is fine for ElementTree; an external entity would not be.
    shipped = describe(ET.fromstring(text))
    for what, l, s in zip(("methods", "properties", "signals"), live, shipped):
        if l != s:
            diff = ["%s: live %r, file %r" % (k, l.get(k), s.get(k)) for k in sorted(set(l) | set(s))
                    if l.get(k) != s.get(k)]
            raise Failure("%s differ:\n%s" % (what, "\n".join(diff)))
    # The SPEC's table, independently of both.
    methods = live[0]
    check_eq(sorted(methods), sorted(["Validate", "Reload", "Deploy", "Rollback", "Health", "Resolve",
                                      "ListTaskTypes", "ListTiers", "DescribeTaskType", "ListGenerations",
                                      "GetMetrics", "Render"]), "method names")
    sig = {m: ("".join(a[1] for a in args if a[2] == "in"), "".join(a[1] for a in args if a[2] == "out"))
           for m, args in methods.items()}
    for m, expected in {"Validate": ("s", "ba(ssuus)"), "Reload": ("", "t"), "Deploy": ("ss", "t"),
                        "Rollback": ("t", "t"), "Health": ("", "ss"), "Resolve": ("ss", "ssa{sv}"),
                        "ListTaskTypes": ("", "as"), "ListTiers": ("s", "a(ssa{sv})"),
                        "DescribeTaskType": ("s", "s"), "ListGenerations": ("", "a(ttsss)"),
                        "GetMetrics": ("", "s"), "Render": ("ss", "s")}.items():
        check_eq(sig[m], expected, m + " signature")
    check_eq(live[1], {"Version": ("s", "read"), "Environment": ("s", "read"), "Generation": ("t", "read"),
                       "Status": ("s", "read"), "ConfigPath": ("s", "read"), "WorkflowsRoot": ("s", "read"),
                       "Mappings": ("u", "read"), "LastReloadUSec": ("t", "read"),
                       "ConfigChangedOnDisk": ("b", "read")}, "properties")
    check_eq(live[2], {"Reloaded": [("generation", "t"), ("sha256", "s")]}, "signals")


# ---- the workflows root from the file; relative paths on the command line ----

def tests_roots(ctx):
    bus = ctx.bus
    g = ctx.daemon("rootfromfile", config_text=make_config(root_path="../workflows"), workflows_root_option=False)
    g.start()
    with TAP.case("workflows root from the file's root_path (relative to the config's directory)"):
        root = bus.get_property("WorkflowsRoot")["data"]
        check(os.path.isabs(root) and os.path.realpath(root) == os.path.realpath(g.workflows),
              "WorkflowsRoot %r is not %r" % (root, g.workflows))
        data = bus.must("Resolve", "ss", "scene_generation", "high")
        check(os.path.isabs(data[1]) and os.path.isfile(data[1]), "workflow_file %r" % data[1])
        check_eq(os.path.realpath(data[1]), os.path.realpath(os.path.join(
            g.workflows, workflow_path("scene_generation", "high"), "workflow_api.json")), "workflow_file")
    with TAP.case("root_path naming another directory is root-path-mismatch (an error) when the root came from "
                  "the file"):
        text = make_config(root_path=os.path.dirname(g.workflows), comment="elsewhere")
        ok, problems = problems_of(bus.must("Validate", "s", text))
        check(ok is False and ("error", "root-path-mismatch") in [p[:2] for p in problems],
              "ok=%r %r" % (ok, problems))
        r = bus.call("Deploy", "ss", text, "elsewhere")
        check_eq(r.error, ERR + "InvalidConfig", "Deploy")
        ok, problems = problems_of(bus.must("Validate", "s", make_config(root_path=g.workflows)))
        check(ok is True and "root-path-mismatch" not in [p[1] for p in problems],
              "the same root, absolute: ok=%r %r" % (ok, problems))
        ok, problems = problems_of(bus.must("Validate", "s", make_config()))
        check(ok is True and "root-path-mismatch" not in [p[1] for p in problems],
              "no root_path: ok=%r %r" % (ok, problems))
    g.stop()

    h = ctx.daemon("relative", config_text=make_config(), relative_paths=True)
    with TAP.case("relative --config and --workflows-root: Resolve still answers an absolute workflow_file"):
        h.start()
        data = bus.must("Resolve", "ss", "character_portrait", "low")
        check(os.path.isabs(data[1]), "workflow_file %r is not absolute" % data[1])
        check_eq(os.path.realpath(os.path.join(h.dir, data[1])), os.path.realpath(os.path.join(
            h.workflows, workflow_path("character_portrait", "low"), "workflow_api.json")), "workflow_file")
    h.stop()


if __name__ == "__main__":
    sys.exit(run([tests_methods, tests_roots]))
