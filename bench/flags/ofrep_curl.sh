#!/usr/bin/env bash
# Evaluates flags over OFREP with curl — an OpenFeature remote-evaluation client that is not
# shipsafe's code — against a running `shipsafe flags serve --file bench/flags/flags.json`.
#
# usage: bench/flags/ofrep_curl.sh BASE_URL [ADMIN_TOKEN]
#   BASE_URL     e.g. http://127.0.0.1:8016
#   ADMIN_TOKEN  optional; when given, also changes a flag through the change API and
#                checks that the bulk ETag moves.
# Every check prints one line; the script exits non-zero on the first failed check and ends
# with "N passed, 0 failed".
set -euo pipefail

base="${1:?usage: $0 BASE_URL [ADMIN_TOKEN]}"
admin="${2:-}"
passed=0
body_file="$(mktemp)"
headers_file="$(mktemp)"
trap 'rm -f "$body_file" "$headers_file"' EXIT

# call METHOD PATH [DATA] [extra curl args...]: sets $status, $body, headers in $headers_file
call() {
  local method="$1" path="$2" data="${3:-}"
  shift 3 || shift $#
  local args=(-sS -X "$method" -o "$body_file" -D "$headers_file" -w '%{http_code}' --max-time 10
    -H 'Content-Type: application/json')
  if [ -n "$data" ]; then args+=(--data "$data"); fi
  status="$(curl "${args[@]}" "$@" "$base$path")"
  body="$(cat "$body_file")"
}

# check NAME WANT_STATUS [SUBSTRING...]
check() {
  local name="$1" want="$2"
  shift 2
  if [ "$status" != "$want" ]; then
    echo "FAIL $name: status $status, want $want; body: $body" >&2
    echo "$passed passed, 1 failed"
    exit 1
  fi
  for s in "$@"; do
    if [[ "$body" != *"$s"* ]]; then
      echo "FAIL $name: body lacks $s; body: $body" >&2
      echo "$passed passed, 1 failed"
      exit 1
    fi
  done
  passed=$((passed + 1))
  echo "ok   $name ($status)"
}

eval_flag() { call POST "/ofrep/v1/evaluate/flags/$1" "$2"; }

call GET /ofrep/v1/configuration ""
check "configuration" 200 '"name":"shipsafe"' '"supportedTypes"'

eval_flag show-heatmap '{"context":{"targetingKey":"p-1","email":"dr.a@radiology.example.org"}}'
check "boolean flag, \$ref targeting match" 200 '"value":true' '"reason":"TARGETING_MATCH"' '"variant":"on"'

eval_flag show-heatmap '{"context":{"targetingKey":"p-1","email":"gp@clinic.example.org"}}'
check "boolean flag, no match -> default" 200 '"value":false' '"reason":"DEFAULT"'

eval_flag model-selection '{"context":{"targetingKey":"patient-0042","email":"dr.b@radiology.example.org"}}'
check "fractional split" 200 '"reason":"SPLIT"' '"key":"model-selection"' '"owner":"ml-platform"'
first="$body"
eval_flag model-selection '{"context":{"targetingKey":"patient-0042","email":"dr.b@radiology.example.org"}}'
if [ "$body" != "$first" ]; then echo "FAIL sticky split: $first vs $body" >&2; echo "$passed passed, 1 failed"; exit 1; fi
check "fractional split is sticky" 200 '"reason":"SPLIT"'

eval_flag decision-threshold '{"context":{"targetingKey":"p-2","appVersion":"2.1.0"}}'
check "number flag, sem_ver" 200 '"value":0.35' '"variant":"strict"'

eval_flag viewer-config '{}'
check "object flag, static and cacheable" 200 '"window":"lung"' '"reason":"STATIC"' '"cacheable":true'

eval_flag legacy-report '{"context":{}}'
check "disabled flag" 200 '"reason":"DISABLED"'

eval_flag new-triage '{"context":{"targetingKey":"p-3","team":"qa","site":"icu"}}'
check "seed form: override condition" 200 '"variant":"off"' '"reason":"TARGETING_MATCH"'

eval_flag no-such-flag '{"context":{}}'
check "unknown flag -> 404" 404 '"errorCode":"FLAG_NOT_FOUND"'

eval_flag new-triage '{"context":{"team":"qa"}}'
check "rollout without targetingKey -> 400" 400 '"errorCode":"TARGETING_KEY_MISSING"'

eval_flag show-heatmap '{"context":"not-an-object"}'
check "invalid context -> 400" 400 '"errorCode":"INVALID_CONTEXT"'

ctx='{"context":{"targetingKey":"patient-0042","email":"dr.b@radiology.example.org"}}'
call POST /ofrep/v1/evaluate/flags "$ctx"
check "bulk evaluation" 200 '"flags":[' '"key":"viewer-config"' '"refreshConnections"'
etag="$(grep -i '^etag:' "$headers_file" | cut -d' ' -f2- | tr -d '\r')"
if [ -z "$etag" ]; then echo "FAIL bulk: no ETag header" >&2; echo "$passed passed, 1 failed"; exit 1; fi

call POST /ofrep/v1/evaluate/flags "$ctx" -H "If-None-Match: $etag"
check "bulk with If-None-Match -> 304" 304

if [ -n "$admin" ]; then
  call PUT /api/v1/flags/viewer-config '{"state":"ENABLED","variants":{"v2":{"window":"bone","zoom":2}},"defaultVariant":"v2"}' \
    -H "Authorization: Bearer $admin"
  check "change API: replace a flag" 200 '"version":'
  eval_flag viewer-config '{}'
  check "changed flag is served" 200 '"window":"bone"'
  call POST /ofrep/v1/evaluate/flags "$ctx" -H "If-None-Match: $etag"
  check "bulk after a change -> 200 with a new ETag" 200 '"window":"bone"'
  call PUT /api/v1/flags/viewer-config '{"state":"ENABLED","variants":{"v1":{"window":"lung","zoom":1}},"defaultVariant":"v1"}' \
    -H "Authorization: Bearer $admin"
  check "change API: restore the flag" 200
fi

echo "$passed passed, 0 failed"
