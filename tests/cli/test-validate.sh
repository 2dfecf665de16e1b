#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Tests of "auteur-qualityctl validate": exit codes, the text and JSON forms of problems, where the
# configuration is found. Usage: test-validate.sh QUALITYCTL SOURCE_ROOT. Prints TAP.
set -euo pipefail

here=$(dirname "$(realpath "$0")")

if [ $# -ne 2 ]; then
        echo "Usage: $0 QUALITYCTL SOURCE_ROOT" >&2
        exit 2
fi
qualityctl=$(realpath "$1")
source_root=$(realpath "$2")
environments="$source_root/etc/environments"
workflows="$source_root/etc/workflows"

tmp=$(mktemp -d /tmp/test-validate-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The ENV form looks for a file of that name in the working directory first: work where there is none.
cd "$tmp"
unset QUALITY_CONFIG_PATH QUALITY_ENVIRONMENTS_DIR COMFYUI_WORKFLOWS_ROOT

# The TAP helpers: check, run, exits, stdout_has, stderr_has.
# shellcheck source=tests/cli/tap-lib.sh
. "$here/tap-lib.sh"

# Every line that is not the summary is one problem in compiler style.
problem_lines_well_formed() {
        local line
        while IFS= read -r line; do
                [ -n "$line" ] || continue
                case $line in
                *": valid, "* | *": invalid, "*) continue ;;
                esac
                grep -qE '^[^ ]+:[0-9]+:[0-9]+: (error|warning)\[[a-z0-9-]+\]: .+[.?]$' <<<"$line" || return 1
        done <<<"$out"
}

# json_check FILE PYTHON-EXPRESSION: the expression, on the parsed stdout bound to "d", is true.
json_check() {
        python3 -c '
import json, sys
try:
        d = json.loads(sys.stdin.read())
except ValueError as e:
        print("#   not JSON:", e)
        sys.exit(1)
file = sys.argv[1]
ok = isinstance(d, list) and all(
        isinstance(p, dict) and set(p) == {"severity", "code", "file", "line", "column", "message"}
        and p["severity"] in ("error", "warning") and isinstance(p["code"], str) and p["file"] == file
        and isinstance(p["line"], int) and isinstance(p["column"], int) and isinstance(p["message"], str)
        for p in d)
sys.exit(0 if ok and eval(sys.argv[2]) else 1)
' "$1" "$2" <<<"$out"
}

# ---- the workflows tree and configurations of this test ----

mkdir -p root/good root/nosampler
cat >root/good/workflow_api.json <<'EOF'
{"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0, "model": ["4", 0]}},
 "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}}}
EOF
cat >root/nosampler/workflow_api.json <<'EOF'
{"1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
 "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}
EOF

cat >good.yaml <<'EOF'
version: "1.0"
mappings:
  portrait:
    low: {workflow_path: good, parameters: {steps: 10}}
    standard: {workflow_path: good}
    high: {workflow_path: good}
EOF

# out-of-range at 3:52, unknown-key at 6:1.
cat >invalid.yaml <<'EOF'
mappings:
  a:
    low: {workflow_path: good, parameters: {steps: 0}}
    standard: {workflow_path: good}
    high: {workflow_path: good}
versoin: "1.0"
EOF

# parameters-not-applicable (a warning) at 3:26.
cat >warnings.yaml <<'EOF'
mappings:
  a:
    low: {workflow_path: nosampler, parameters: {steps: 20}}
    standard: {workflow_path: good}
    high: {workflow_path: good}
EOF

# ---- the bundled environments ----

for environment in development production staging; do
        run "$qualityctl" validate "$environments/$environment.yaml" --workflows-root "$workflows"
        check "bundled $environment.yaml by file: exit 0" exits 0
        check "bundled $environment.yaml by file: summary" \
                stdout_has "^$environments/$environment\.yaml: valid, 0 errors, 0 warnings\.$"

        run "$qualityctl" validate --environments-dir "$environments" --workflows-root "$workflows" "$environment"
        check "bundled $environment by ENV name (--environments-dir): exit 0" exits 0
        check "bundled $environment by ENV name: the file is named" \
                stdout_has "^$environments/$environment\.yaml: valid, 0 errors, 0 warnings\.$"

        run env QUALITY_ENVIRONMENTS_DIR="$environments" "$qualityctl" validate --workflows-root "$workflows" \
                "$environment"
        check "bundled $environment by ENV name (\$QUALITY_ENVIRONMENTS_DIR): exit 0" exits 0
done

run "$qualityctl" validate --environments-dir "$environments" --workflows-root "$workflows" nosuchenv
check "unknown ENV name: exit 1" exits 1
check "unknown ENV name: config-unreadable naming the environment file" \
        stdout_has "^$environments/nosuchenv\.yaml:0:0: error\[config-unreadable\]: "

# ---- an invalid file ----

run "$qualityctl" validate invalid.yaml --workflows-root root
check "invalid file: exit 1" exits 1
check "invalid file: out-of-range in FILE:LINE:COLUMN: error[CODE]: message form" \
        stdout_has "^invalid\.yaml:3:52: error\[out-of-range\]: Parameter 'steps' is 0, but must be between 1 and 10000\.$"
check "invalid file: unknown-key with a suggestion" \
        stdout_has "^invalid\.yaml:6:1: error\[unknown-key\]: .*did you mean 'version'\?$"
check "invalid file: problems in file order" \
        test "$(grep -nE '^invalid\.yaml:3:52:' <<<"$out" | cut -d: -f1)" -lt \
             "$(grep -nE '^invalid\.yaml:6:1:' <<<"$out" | cut -d: -f1)"
check "invalid file: every problem line well-formed" problem_lines_well_formed
check "invalid file: summary line" stdout_has "^invalid\.yaml: invalid, 2 errors, 0 warnings\.$"
check "invalid file: summary is the last line" test "$(tail -n 1 <<<"$out")" = "invalid.yaml: invalid, 2 errors, 0 warnings."
check "invalid file: nothing on stderr" test -z "$err"

run "$qualityctl" validate "$tmp/invalid.yaml" --workflows-root root
check "invalid file by absolute path: problems name it" \
        stdout_has "^$tmp/invalid\.yaml:3:52: error\[out-of-range\]: "

run "$qualityctl" --json validate invalid.yaml --workflows-root root
check "--json invalid file: exit 1" exits 1
check "--json invalid file: an array of two well-formed problems" json_check invalid.yaml 'len(d) == 2'
check "--json invalid file: the out-of-range problem" json_check invalid.yaml \
        'd[0] == {"severity": "error", "code": "out-of-range", "file": "invalid.yaml", "line": 3, "column": 52,
                  "message": "Parameter '"'steps'"' is 0, but must be between 1 and 10000."}'
check "--json invalid file: the unknown-key problem" json_check invalid.yaml \
        'd[1]["code"] == "unknown-key" and (d[1]["line"], d[1]["column"]) == (6, 1)'
check "--json invalid file: no summary line" test "$(grep -c 'invalid, ' <<<"$out")" -eq 0

run "$qualityctl" validate invalid.yaml --json --workflows-root root
check "--json after the file: exit 1" exits 1
check "--json after the file: JSON" json_check invalid.yaml 'len(d) == 2'

# A problem from the workflow checker is reported at the workflow_path and names the file.
cat >missing.yaml <<'EOF'
mappings:
  a:
    low: {workflow_path: library/gone_v1}
    standard: {workflow_path: good}
    high: {workflow_path: good}
EOF
run "$qualityctl" validate missing.yaml --workflows-root root
check "missing workflow: exit 1" exits 1
check "missing workflow: workflow-missing at the workflow_path, naming the file" \
        stdout_has "^missing\.yaml:3:26: error\[workflow-missing\]: .*library/gone_v1/workflow_api\.json"

# ---- warnings only ----

run "$qualityctl" validate warnings.yaml --workflows-root root
check "warnings only: exit 0" exits 0
check "warnings only: the warning" \
        stdout_has "^warnings\.yaml:3:26: warning\[parameters-not-applicable\]: .*nosampler/workflow_api\.json"
check "warnings only: summary" stdout_has "^warnings\.yaml: valid, 0 errors, 1 warning\.$"
check "warnings only: every problem line well-formed" problem_lines_well_formed

run "$qualityctl" validate warnings.yaml --workflows-root root --json
check "--json warnings only: exit 0" exits 0
check "--json warnings only: one warning" json_check warnings.yaml \
        'len(d) == 1 and d[0]["severity"] == "warning" and d[0]["code"] == "parameters-not-applicable"'

run "$qualityctl" validate good.yaml --workflows-root root
check "valid file: exit 0" exits 0
check "valid file: only the summary" test "$out" = "good.yaml: valid, 0 errors, 0 warnings."

run "$qualityctl" validate good.yaml --workflows-root root --json
check "--json valid file: exit 0" exits 0
check "--json valid file: an empty array" json_check good.yaml 'd == []'

# The file's own root_path is the workflows root when none is given, taken from the file's directory.
mkdir -p sub
cat >sub/env.yaml <<'EOF'
environment: test
workflows:
  root_path: ../root
  mappings:
    portrait: {low: {workflow_path: good}, standard: {workflow_path: good}, high: {workflow_path: good}}
EOF
run "$qualityctl" validate sub/env.yaml
check "root_path relative to the file's directory: exit 0" exits 0

run "$qualityctl" validate good.yaml --workflows-root "$tmp/nonexistent"
check "missing workflows root: exit 1" exits 1
check "missing workflows root: workflows-root-missing" \
        stdout_has "^good\.yaml:0:0: error\[workflows-root-missing\]: "

# ---- unreadable configurations ----

run "$qualityctl" validate "$tmp/nonexistent.yaml" --workflows-root root
check "missing file: exit 1" exits 1
check "missing file: config-unreadable at 0:0" \
        stdout_has "^$tmp/nonexistent\.yaml:0:0: error\[config-unreadable\]: .+"
check "missing file: summary" stdout_has "^$tmp/nonexistent\.yaml: invalid, 1 error, 0 warnings\.$"

run "$qualityctl" validate "$tmp/root" --workflows-root root
check "directory as the file: exit 1" exits 1
check "directory as the file: config-unreadable" stdout_has "^$tmp/root:0:0: error\[config-unreadable\]: "

# ---- where the configuration comes from ----

run env QUALITY_CONFIG_PATH="$tmp/good.yaml" "$qualityctl" validate --workflows-root root
check "\$QUALITY_CONFIG_PATH without an argument: exit 0" exits 0
check "\$QUALITY_CONFIG_PATH without an argument: that file is validated" \
        stdout_has "^$tmp/good\.yaml: valid, "

run env QUALITY_CONFIG_PATH="$tmp/invalid.yaml" "$qualityctl" validate --workflows-root root
check "\$QUALITY_CONFIG_PATH naming an invalid file: exit 1" exits 1
check "\$QUALITY_CONFIG_PATH naming an invalid file: its problems" \
        stdout_has "^$tmp/invalid\.yaml:3:52: error\[out-of-range\]: "

run env QUALITY_CONFIG_PATH="$tmp/good.yaml" "$qualityctl" validate --config "$tmp/invalid.yaml" \
        --workflows-root root
check "--config overrides \$QUALITY_CONFIG_PATH: exit 1" exits 1
check "--config overrides \$QUALITY_CONFIG_PATH: the --config file is validated" \
        stdout_has "^$tmp/invalid\.yaml: invalid, "
check "--config overrides \$QUALITY_CONFIG_PATH: the variable's file is not" \
        test "$(grep -c "good\.yaml" <<<"$out")" -eq 0

run env QUALITY_CONFIG_PATH="$tmp/invalid.yaml" "$qualityctl" validate --config "$tmp/good.yaml" \
        --workflows-root root
check "--config (valid) overrides \$QUALITY_CONFIG_PATH (invalid): exit 0" exits 0

# ---- usage ----

run "$qualityctl" frobnicate
check "unknown verb: exit 2" exits 2
check "unknown verb: says so on stderr" stderr_has "frobnicate"
check "unknown verb: nothing on stdout" test -z "$out"

run "$qualityctl" validate --no-such-option good.yaml
check "unknown option: exit 2" exits 2
check "unknown option: says so on stderr" stderr_has "no-such-option"

run "$qualityctl" validate good.yaml other.yaml
check "too many arguments: exit 2" exits 2
check "too many arguments: says so on stderr" stderr_has "at most 1 argument"

run "$qualityctl"
check "no verb: exit 2" exits 2

run "$qualityctl" --config
check "option without its argument: exit 2" exits 2

run "$qualityctl" --help
check "--help: exit 0" exits 0
check "--help: mentions validate" stdout_has "validate"
check "--help: mentions --workflows-root" stdout_has "--workflows-root"

run "$qualityctl" -h
check "-h: exit 0" exits 0
check "-h: the same text as --help" test -n "$out"

run "$qualityctl" --version
check "--version: exit 0" exits 0
check "--version: name and version" stdout_has '^auteur-qualityctl [0-9]+\.[0-9]+\.[0-9]+'

echo "1..$n"
[ "$failed" -eq 0 ] || exit 1
