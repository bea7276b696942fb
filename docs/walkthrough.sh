#!/usr/bin/env bash
# The curl walk-through of docs/walkthrough.md as one script.
#
# It talks to an already running reference destination (or any implementation of the
# conformance API): start one first, for example with
#
#   cargo run -p kana-reference -- serve --listen 127.0.0.1:3400 --admin-token dev-admin-token
#
# Settings: KANA_URL (default http://127.0.0.1:3400) and KANA_ADMIN_TOKEN (default
# dev-admin-token). Every step uses `curl --fail-with-body`, so the script stops with a non-zero
# exit status at the first request that is not answered with a 2xx status.
# Needs bash, curl and python3 (to read JSON); jq is not used.

set -euo pipefail

KANA_URL="${KANA_URL:-http://127.0.0.1:3400}"
KANA_ADMIN_TOKEN="${KANA_ADMIN_TOKEN:-dev-admin-token}"

step() {
    printf '\n== %s\n' "$1"
}

step "3. create a workspace"
RESPONSE=$(curl --fail-with-body -sS -X POST \
    -H "Authorization: Bearer $KANA_ADMIN_TOKEN" \
    "$KANA_URL/conformance/workspaces") || { echo "$RESPONSE" >&2; false; }
echo "$RESPONSE"
WORKSPACE=$(printf '%s' "$RESPONSE" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["workspace"])')
API_KEY=$(printf '%s' "$RESPONSE" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["apiKey"])')
ADMIN="$KANA_URL/conformance/workspaces/$WORKSPACE"
echo "workspace: $WORKSPACE"

step "4. create the feature \`messages\`"
curl --fail-with-body -sS -w '\n' -X POST \
    -H "Authorization: Bearer $KANA_ADMIN_TOKEN" \
    -H 'Content-Type: application/json' \
    -d '{"id": "messages"}' \
    "$ADMIN/features"

step "5. map \`Message Sent\` events to \`messages\` with a rule"
curl --fail-with-body -sS -w '\n' -X POST \
    -H "Authorization: Bearer $KANA_ADMIN_TOKEN" \
    -H 'Content-Type: application/json' \
    -d '{"feature": "messages", "event": "Message Sent"}' \
    "$ADMIN/rules"

step "6. import a billing customer (a user without an id)"
curl --fail-with-body -sS -w '\n' -X POST \
    -H "Authorization: Bearer $KANA_ADMIN_TOKEN" \
    -H 'Content-Type: application/json' \
    -d '[{"billingId": "cus_1", "email": "ada@example.com", "name": "Ada Lovelace"}]' \
    "$ADMIN/billing-customers"

step "7. Identify ada: the imported customer is adopted"
curl --fail-with-body -sS -w '\n' -X POST -u "$API_KEY:" \
    -H 'Content-Type: application/json' \
    -d '{"type": "identify", "messageId": "msg-identify-1", "userId": "ada",
         "traits": {"email": "ada@example.com"}}' \
    "$KANA_URL/segment/events"

step "8. Track a \`Message Sent\` event with a delta of 2: the rule maps it"
curl --fail-with-body -sS -w '\n' -X POST -u "$API_KEY:" \
    -H 'Content-Type: application/json' \
    -d '{"type": "track", "messageId": "msg-track-1", "userId": "ada",
         "event": "Message Sent", "properties": {"delta": 2}}' \
    "$KANA_URL/segment/events"

step "9. Segment redelivers the same message: it changes nothing"
curl --fail-with-body -sS -w '\n' -X POST -u "$API_KEY:" \
    -H 'Content-Type: application/json' \
    -d '{"type": "track", "messageId": "msg-track-1", "userId": "ada",
         "event": "Message Sent", "properties": {"delta": 2}}' \
    "$KANA_URL/segment/events"

step "10. grace uses \`seats\`, which does not exist yet: stored, not mapped"
curl --fail-with-body -sS -w '\n' -X POST -u "$API_KEY:" \
    -H 'Content-Type: application/json' \
    -d '{"type": "track", "messageId": "msg-track-2", "userId": "grace",
         "event": "Seat Added", "properties": {"featureId": "seats"}}' \
    "$KANA_URL/segment/events"

step "11. read the canonical state"
curl --fail-with-body -sS \
    -H "Authorization: Bearer $KANA_ADMIN_TOKEN" \
    "$ADMIN/state" \
    | python3 -m json.tool
