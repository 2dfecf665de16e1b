#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Tests of the verbs of auteur-qualityctl that talk to the daemon: status, health, resolve, tiers, render,
# deploy, reload, rollback, history, and the exit codes when the daemon cannot be reached. Runs a private
# dbus-daemon and auteur-qualityd in a temporary directory.
# Usage: test-online.sh QUALITYCTL QUALITYD SOURCE_ROOT. Prints TAP; exits 77 without dbus-daemon.
set -euo pipefail

here=$(dirname "$(realpath "$0")")

if [ $# -ne 3 ]; then
        echo "Usage: $0 QUALITYCTL QUALITYD SOURCE_ROOT" >&2
        exit 2
fi
qualityctl=$(realpath "$1")
qualityd=$(realpath "$2")
source_root=$(realpath "$3")

dbus_daemon=$(command -v dbus-daemon || true)
if [ -z "$dbus_daemon" ]; then
        echo "1..0 # SKIP dbus-daemon is missing"
        exit 77
fi
if ! command -v python3 >/dev/null; then
        echo "1..0 # SKIP python3 is missing (it reads the JSON answers)"
        exit 77
fi

tmp=$(mktemp -d /tmp/test-online-XXXXXX)
bus_pid=
daemon_pid=

stop_daemon() {
        if [ -n "$daemon_pid" ]; then
                kill "$daemon_pid" 2>/dev/null || true
                wait "$daemon_pid" 2>/dev/null || true
                daemon_pid=
        fi
}

cleanup() {
        stop_daemon
        if [ -n "$bus_pid" ]; then
                kill "$bus_pid" 2>/dev/null || true
                wait "$bus_pid" 2>/dev/null || true
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT

unset QUALITY_CONFIG_PATH QUALITY_ENVIRONMENTS_DIR COMFYUI_WORKFLOWS_ROOT
mkdir "$tmp/etc" "$tmp/state" "$tmp/cwd"
cp "$source_root/etc/environments/production.yaml" "$tmp/etc/quality_mappings.yaml"
cp -r "$source_root/etc/environments" "$tmp/environments"
cp -r "$source_root/etc/workflows" "$tmp/workflows"
# Deploy by name looks for a file of that name in the working directory first: work where there is none.
cd "$tmp/cwd"

# The TAP helpers: check, run, exits, stdout_has, stderr_has.
# shellcheck source=tests/cli/tap-lib.sh
. "$here/tap-lib.sh"

# json_true EXPRESSION: a Python expression over d, the JSON on stdout, that must be true. It may span lines.
json_true() {
        python3 -c 'import json, sys; d = json.loads(sys.stdin.read()); sys.exit(0 if eval("(" + sys.argv[1] + ")") else 1)' \
                "$1" <<<"$out"
}

# wait_for SECONDS COMMAND...: retries the command every 0.2 s until it succeeds or time runs out.
wait_for() {
        local tries=$(($1 * 5))
        shift
        while [ "$tries" -gt 0 ]; do
                if "$@" >/dev/null 2>&1; then
                        return 0
                fi
                sleep 0.2
                tries=$((tries - 1))
        done
        return 1
}

start_daemon() {
        "$qualityd" --config "$tmp/etc/quality_mappings.yaml" --workflows-root "$tmp/workflows" \
                --state-dir "$tmp/state" --log-target console --check-interval 1 \
                --admin-group "$(id -gn)" >>"$tmp/daemon.log" 2>&1 &
        daemon_pid=$!
        wait_for 10 "$qualityctl" status
}

ctl() {
        run "$qualityctl" "$@"
}

# ---- nothing to talk to ----

python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$tmp/dead.sock"
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/dead.sock" run "$qualityctl" status
check "status, socket with nothing behind it: exit 3" exits 3
check "status, socket with nothing behind it: says it cannot connect" stderr_has "Failed to connect"

DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/no-such.sock" run "$qualityctl" health
check "health, no bus socket: exit 3" exits 3

sed -e "s|@SOCKET@|$tmp/bus.sock|" -e "s|@DAEMON_USER@|$(id -un)|" \
        -e "s|@POLICY@|$source_root/dbus/org.auteur.QualityTier.conf|" \
        "$source_root/tests/integration/system-bus.conf.in" >"$tmp/bus.conf"
"$dbus_daemon" --config-file="$tmp/bus.conf" --nofork --nopidfile >"$tmp/bus.log" 2>&1 &
bus_pid=$!
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/bus.sock"
if ! wait_for 10 test -S "$tmp/bus.sock"; then
        echo "Bail out! dbus-daemon did not start: $(cat "$tmp/bus.log")"
        exit 1
fi

ctl status
check "status, bus without the daemon: exit 3" exits 3
check "status, bus without the daemon: the error names the service" stderr_has "auteur-quality.service"

ctl deploy staging --environments-dir "$tmp/environments"
check "deploy, bus without the daemon: exit 3" exits 3

# ---- usage ----

ctl resolve character_portrait
check "resolve with one argument: exit 2" exits 2
check "resolve with one argument: says how many it takes" stderr_has "takes 2 arguments"
ctl tiers
check "tiers without an argument: exit 2" exits 2
ctl render a b c
check "render with three arguments: exit 2" exits 2
ctl deploy
check "deploy without an argument: exit 2" exits 2
ctl status extra
check "status with an argument: exit 2" exits 2
ctl rollback 1 2
check "rollback with two arguments: exit 2" exits 2
ctl rollback abc
check "rollback of a generation that is not a number: exit 2" exits 2
ctl -H host -M machine status
check "-H and -M together: exit 2" exits 2
ctl --help
check "--help lists every verb" bash -c 'for v in status health history validate deploy reload rollback resolve \
        tiers render; do grep -qE "^  $v( |$)" <<<"$1" || exit 1; done' _ "$out"
check "--help lists -H" stdout_has "-H --host=\[USER@\]HOST"
check "--help lists -M" stdout_has "-M --machine=MACHINE"

# ---- status and health ----

if ! start_daemon; then
        echo "Bail out! auteur-qualityd did not start: $(cat "$tmp/daemon.log")"
        exit 1
fi

ctl status
check "status: exit 0" exits 0
check "status: environment production" stdout_has "Environment: production$"
check "status: generation 1" stdout_has "Generation: 1$"
check "status: healthy" stdout_has "Status: healthy$"
check "status: the config path" stdout_has "Config path: $tmp/etc/quality_mappings.yaml$"
check "status: the workflows root" stdout_has "Workflows root: $tmp/workflows$"
check "status: the last reload in human time" stdout_has "Last reload: [A-Z][a-z]{2} [0-9]{4}-[0-9]{2}-[0-9]{2} "
check "status: not changed on disk" stdout_has "Changed on disk: no$"
check "status: the version" stdout_has "Version: [0-9]+\.[0-9]+"

ctl status --json
check "status --json: exit 0" exits 0
check "status --json: the properties" json_true 'd["environment"] == "production" and d["generation"] == 1 and
        d["status"] == "healthy" and d["mappings"] == 6 and d["config_changed_on_disk"] is False and
        d["workflows_root"].endswith("/workflows") and d["last_reload_usec"] > 0 and d["version"]'

ctl health
check "health, all workflows present: exit 0" exits 0
check "health: the status" stdout_has "^Status: healthy$"
check "health: every check" bash -c 'grep -q configuration <<<"$1" && grep -q workflows <<<"$1" &&
        grep -q permissions <<<"$1"' _ "$out"

ctl health --json
check "health --json: exit 0" exits 0
check "health --json: the daemon's JSON" json_true 'd["status"] == "healthy" and
        set(d["checks"]) == {"configuration", "workflows", "permissions"} and d["failed_checks"] == []'

# ---- resolve, tiers, render ----

ctl resolve character_portrait high
check "resolve: exit 0" exits 0
check "resolve: the workflow path" stdout_has "Workflow path: library/image_generation/character_portrait/high_v1$"
check "resolve: the workflow file beneath the root" \
        stdout_has "Workflow file: $tmp/workflows/library/image_generation/character_portrait/high_v1/workflow_api.json$"
check "resolve: the parameters" stdout_has "steps=[0-9]+"

ctl resolve character_portrait high --json
check "resolve --json: exit 0" exits 0
check "resolve --json: typed parameters" json_true 'd["tier"] == "high" and
        isinstance(d["parameters"]["steps"], int) and isinstance(d["parameters"]["cfg_scale"], float)'
steps=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["parameters"]["steps"])' <<<"$out")

ctl resolve no_such_task high
check "resolve of an unknown task type: exit 1" exits 1
check "resolve of an unknown task type: the daemon's message" stderr_has "no task type 'no_such_task'"

ctl resolve character_portrait ultra
check "resolve of an unknown tier: exit 1" exits 1

ctl tiers character_portrait
check "tiers: exit 0" exits 0
check "tiers: every tier" bash -c 'grep -q "^low: " <<<"$1" && grep -q "^standard: " <<<"$1" &&
        grep -q "^high: " <<<"$1"' _ "$out"

ctl tiers character_portrait --json
check "tiers --json: three tiers" json_true 'd["task_type"] == "character_portrait" and
        sorted(d["available_tiers"]) == ["high", "low", "standard"]'

ctl render character_portrait high
check "render: exit 0" exits 0
check "render: a prompt with the tier's steps in its sampler" json_true "any(
        n.get('class_type') in ('KSampler', 'KSamplerAdvanced') and n['inputs'].get('steps') == $steps
        for n in d['prompt'].values())"

# ---- deploy ----

ctl deploy staging --environments-dir "$tmp/environments"
check "deploy staging by name: exit 0" exits 0
check "deploy staging by name: prints the new generation" stdout_has "generation 2"
check "deploy staging by name: names the environment and its file" \
        stdout_has "environment 'staging' from $tmp/environments/staging.yaml"
ctl status --json
check "deploy staging: Environment is staging, Generation 2" json_true 'd["environment"] == "staging" and
        d["generation"] == 2'

ctl deploy staging --environments-dir "$tmp/environments"
check "deploy of the active content again: exit 0" exits 0
check "deploy of the active content again: nothing changed" stdout_has "nothing changed"

sed 's/^workflows:/workflows:\n  mapings: {}/' "$tmp/environments/production.yaml" >"$tmp/broken.yaml"
ctl deploy "$tmp/broken.yaml"
check "deploy of a broken file: exit 1" exits 1
check "deploy of a broken file: the problem" stderr_has "error\[unknown-key\].*mapings"
check "deploy of a broken file: what stays active" \
        stderr_has "Generation 2 of environment 'staging' stays active\."
ctl status --json
check "deploy of a broken file: generation unchanged" json_true 'd["generation"] == 2 and d["environment"] == "staging"'

ctl deploy "$tmp/broken.yaml" --json
check "deploy --json of a broken file: exit 1" exits 1
check "deploy --json of a broken file: the report" json_true 'd["applied"] is False and d["generation"] == 2 and
        any(p["code"] == "unknown-key" for p in d["problems"])'

# Offline the file is checked beneath another root, which has a workflow the daemon's root lacks: the
# daemon's own Validate must refuse it.
cp -r "$tmp/workflows" "$tmp/other-root"
cp -r "$tmp/other-root/library/image_generation/character_portrait/high_v1" \
        "$tmp/other-root/library/image_generation/character_portrait/high_v2"
sed 's|character_portrait/high_v1|character_portrait/high_v2|' "$tmp/environments/production.yaml" >"$tmp/v2.yaml"
ctl deploy "$tmp/v2.yaml" --workflows-root "$tmp/other-root"
check "deploy that only the daemon finds invalid: exit 1" exits 1
check "deploy that only the daemon finds invalid: the daemon's problem" stderr_has "error\[workflow-missing\]"
check "deploy that only the daemon finds invalid: what stays active" stderr_has "Generation 2 .* stays active"

ctl deploy "$tmp/v2.yaml"
check "deploy checks offline beneath the daemon's root: exit 1" exits 1
check "deploy checks offline beneath the daemon's root: the problem" stderr_has "high_v2"

ctl deploy no_such_environment --environments-dir "$tmp/environments"
check "deploy of an unknown environment: exit 1" exits 1
check "deploy of an unknown environment: names the file" stderr_has "$tmp/environments/no_such_environment.yaml"

# ---- reload ----

cp "$source_root/etc/environments/production.yaml" "$tmp/etc/quality_mappings.yaml"
check "a file edited on disk shows in status" wait_for 5 bash -c \
        '"$1" status --json | python3 -c "import json, sys; sys.exit(0 if json.load(sys.stdin)[\"config_changed_on_disk\"] else 1)"' \
        _ "$qualityctl"

ctl reload
check "reload: exit 0" exits 0
check "reload: prints the new generation" stdout_has "generation 3"
check "reload: what is active" stdout_has "Generation 3 of environment 'production' is active\."

ctl reload
check "reload of an unchanged file: nothing changed" stdout_has "nothing changed"

cp "$tmp/etc/quality_mappings.yaml" "$tmp/good.yaml"
cp "$tmp/broken.yaml" "$tmp/etc/quality_mappings.yaml"
ctl reload
check "reload of a broken file: exit 1" exits 1
check "reload of a broken file: the problem lines" stderr_has "error\[unknown-key\]"
check "reload of a broken file: what stays active" stderr_has "Generation 3 of environment 'production' stays active\."
cp "$tmp/good.yaml" "$tmp/etc/quality_mappings.yaml"

# ---- a caller who is not an admin ----

# As root, the daemon's admin group is root's: user nobody is refused by the daemon, not by the bus.
chmod 0711 "$tmp"
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null && id nobody >/dev/null 2>&1 &&
        runuser -u nobody -- test -x "$qualityctl"; then
        run runuser -u nobody -- env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$qualityctl" reload
        check "reload by a caller who is not an admin: exit 1" exits 1
        check "reload by a caller who is not an admin: the daemon's refusal" stderr_has "Only root and members"
        check "reload by a caller who is not an admin: what stays active" stderr_has "Generation 3 .* stays active"
else
        for what in "exit 1" "the daemon's refusal" "what stays active"; do
                n=$((n + 1))
                echo "ok $n - reload by a caller who is not an admin: $what # SKIP needs root and user nobody"
        done
fi

# ---- rollback and history ----

ctl rollback
check "rollback to the previous generation: exit 0" exits 0
check "rollback to the previous generation: generation 2 as 4" stdout_has "generation 2 as generation 4"
check "rollback to the previous generation: staging is active" \
        stdout_has "Generation 4 of environment 'staging' is active\."

ctl rollback 1 --json
check "rollback 1 --json: exit 0" exits 0
check "rollback 1 --json: the report" json_true 'd["applied"] and d["changed"] and d["generation"] == 5 and
        d["previous_generation"] == 4 and d["environment"] == "production"'

ctl rollback 999
check "rollback to a generation that does not exist: exit 1" exits 1
check "rollback to a generation that does not exist: the daemon's message" stderr_has "999 does not exist"
check "rollback to a generation that does not exist: what stays active" stderr_has "Generation 5 .* stays active"

ctl history
check "history: exit 0" exits 0
check "history: every generation" bash -c '[ "$(grep -cE "^[ *] +[0-9]+  " <<<"$1")" -eq 5 ]' _ "$out"
check "history: the active one marked" stdout_has "^\* +5  .*rollback:1 +production"
check "history: origins" bash -c 'grep -q startup <<<"$1" && grep -q deploy:staging <<<"$1" &&
        grep -q reload <<<"$1" && grep -q rollback:2 <<<"$1"' _ "$out"

ctl history --json
check "history --json: an array of the generations" json_true '[g["generation"] for g in d] == [1, 2, 3, 4, 5] and
        [g["origin"] for g in d] == ["startup", "deploy:staging", "reload", "rollback:2", "rollback:1"] and
        [g["active"] for g in d] == [False] * 4 + [True] and all(len(g["sha256"]) == 64 for g in d)'

# ---- health when a workflow goes missing ----

workflow="$tmp/workflows/library/image_generation/character_portrait/low_v1/workflow_api.json"
mv "$workflow" "$workflow.away"
check "health after a workflow vanished: exit 1 (within the re-check)" wait_for 5 bash -c \
        '! "$1" health' _ "$qualityctl"
ctl health
check "health after a workflow vanished: exit 1" exits 1
check "health after a workflow vanished: degraded" stdout_has "^Status: degraded$"
check "health after a workflow vanished: the workflows check says why" stdout_has "workflows +degraded"
ctl health --json
check "health --json after a workflow vanished: exit 1" exits 1
check "health --json after a workflow vanished: failed check" json_true 'd["status"] == "degraded" and
        "workflows" in d["failed_checks"]'
mv "$workflow.away" "$workflow"
check "health after the workflow returned: exit 0 again" wait_for 5 "$qualityctl" health

# ---- the daemon goes away ----

stop_daemon
ctl status
check "status after the daemon stopped: exit 3" exits 3
ctl history --json
check "history after the daemon stopped: exit 3" exits 3

echo "1..$n"
[ "$failed" -eq 0 ] || exit 1
