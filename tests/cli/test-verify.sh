#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# auteur-qualityctl verify against the real HTTP shim and daemon on a private bus: the post-deploy check
# passes on a healthy host and fails, saying why, when health, the environment or a task type is wrong.
# Usage: test-verify.sh QUALITYCTL QUALITYD HTTPD SOURCE_ROOT
set -euo pipefail

ctl=$1 daemon=$2 httpd=$3 src=$4
n=0 failed=0

ok() {
        n=$((n + 1))
        if [ "$1" -eq 0 ]; then
                echo "ok $n - $2"
        else
                echo "not ok $n - $2"
                failed=$((failed + 1))
        fi
}

if ! command -v dbus-daemon >/dev/null; then
        echo "1..0 # SKIP dbus-daemon is missing"
        exit 0
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
        rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/etc/environments" "$tmp/state"
cp "$src"/etc/environments/*.yaml "$tmp/etc/environments/"
cp "$src/etc/environments/production.yaml" "$tmp/etc/quality_mappings.yaml"
cp -r "$src/etc/workflows" "$tmp/workflows"
sed -e "s|@SOCKET@|$tmp/bus|" -e "s|@DAEMON_USER@|$(id -un)|" -e "s|@POLICY@|$src/dbus/org.auteur.QualityTier.conf|" \
        "$src/tests/integration/system-bus.conf.in" >"$tmp/bus.conf"

dbus-daemon --config-file="$tmp/bus.conf" --nofork --nosyslog 2>/dev/null &
pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/bus"
for _ in $(seq 100); do [ -S "$tmp/bus" ] && break; sleep 0.05; done

"$daemon" --config "$tmp/etc/quality_mappings.yaml" --workflows-root "$tmp/workflows" --state-dir "$tmp/state" \
        --check-interval 1 --log-target console 2>"$tmp/daemon.log" &
pids+=($!)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$httpd" --listen "127.0.0.1:$port" --log-target console 2>"$tmp/httpd.log" &
pids+=($!)
url="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$url/health" >/dev/null 2>&1 && break; sleep 0.05; done

export QUALITY_ENVIRONMENTS_DIR="$tmp/etc/environments"

out=$("$ctl" verify --url "$url" --environment production) && rc=0 || rc=$?
ok "$rc" "verify of production on a healthy host exits 0"
echo "$out" | grep -q '^PASS health .*status healthy' && rc=0 || rc=1
ok "$rc" "health check passes"
[ "$(echo "$out" | grep -c '^PASS tiers ')" -eq 2 ] && rc=0 || rc=1
ok "$rc" "every task type of production lists low, standard and high"
echo "$out" | grep -q '^Verified: 5 checks passed, 0 failed' && rc=0 || rc=1
ok "$rc" "the summary counts the checks"

QUALITY_CONFIG_PATH="$tmp/etc/quality_mappings.yaml" "$ctl" verify --url "$url" >/dev/null && rc=0 || rc=$?
ok "$rc" "without --environment the configuration file's task types are verified"

"$ctl" verify --url "$url" --environment staging >"$tmp/out" && rc=1 || rc=0
ok "$rc" "verify of staging while production is served exits 1"
grep -q "^FAIL environment .*Serving 'production', expected 'staging'" "$tmp/out" && rc=0 || rc=1
ok "$rc" "the report says which environment is served"

"$ctl" --json verify --url "$url" --environment production >"$tmp/json" && rc=0 || rc=$?
python3 - "$tmp/json" <<'PY' && rc=0 || rc=1
import json, sys
v = json.load(open(sys.argv[1]))
assert v["ok"] is True and v["environment"] == "production"
assert {c["name"] for c in v["checks"]} >= {"health", "version", "tiers character_portrait", "tiers scene_generation"}
assert all(c["ok"] for c in v["checks"])
PY
ok "$rc" "--json prints the checks as JSON"

sed -e 's/^  mappings:/  mappings:\n    upscale_only:\n      low: {workflow_path: library\/image_generation\/scene_generation\/low_v1}/' \
        "$tmp/etc/environments/production.yaml" >"$tmp/etc/environments/extra.yaml"
"$ctl" verify --url "$url" --environment extra >"$tmp/out" && rc=1 || rc=0
ok "$rc" "a task type the host does not serve fails verify"
grep -q '^FAIL tiers upscale_only .*HTTP 404' "$tmp/out" && rc=0 || rc=1
ok "$rc" "the report names the task type and the HTTP status"

mv "$tmp/workflows/library/image_generation/scene_generation/high_v1/workflow_api.json" "$tmp/moved.json"
for _ in $(seq 60); do
        curl -s "$url/api/v1/quality/health" | grep -q '"status":"degraded"' && break
        sleep 0.1
done
"$ctl" verify --url "$url" --environment production >"$tmp/out" && rc=1 || rc=0
ok "$rc" "a degraded host fails verify"
grep -q '^FAIL health .*status degraded' "$tmp/out" && rc=0 || rc=1
ok "$rc" "the report says the status"
mv "$tmp/moved.json" "$tmp/workflows/library/image_generation/scene_generation/high_v1/workflow_api.json"

"$ctl" verify --url "http://127.0.0.1:1" --environment production >"$tmp/out" 2>&1 && rc=1 || rc=0
ok "$rc" "an unreachable shim fails verify"
grep -q 'Connection refused' "$tmp/out" && rc=0 || rc=1
ok "$rc" "the report says why it is unreachable"

"$ctl" verify --url "https://127.0.0.1:$port" --environment production >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" -eq 2 ] && rc=0 || rc=1
ok "$rc" "a URL other than http:// is a usage error (exit 2)"

"$ctl" verify extra-argument >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" -eq 2 ] && rc=0 || rc=1
ok "$rc" "verify takes no arguments (exit 2)"

echo "1..$n"
[ "$failed" -eq 0 ]
