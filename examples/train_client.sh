#!/bin/sh
# A training client for Agora with curl (and sed): starts a session on a
# dataset, reports three rounds with metrics and log lines, uploads a model
# file for the last round, and finishes the session.
#
#   AGORA_URL=http://127.0.0.1:3000 AGORA_KEY=agk_... AGORA_DATASET=<id> sh examples/train_client.sh
#
# The key needs read-write access to the dataset (Settings → API keys).
set -eu
URL="${AGORA_URL:-http://127.0.0.1:3000}"
API="$URL/api/v1/datasets/$AGORA_DATASET"
NAME="${AGORA_RUN_NAME:-example run (shell)}"

# call METHOD PATH [JSON]: prints the answer; fails with Agora's message.
call() {
  if [ $# -ge 3 ]; then
    curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $AGORA_KEY" -H "Content-Type: application/json" -d "$3" "$API$2"
  else
    curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $AGORA_KEY" "$API$2"
  fi
}

# field NAME: the first "NAME": "value" in the JSON on standard input.
field() {
  sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -n 1
}

run=$(call POST /runs "{\"name\": \"$NAME\", \"params\": {\"learning_rate\": 0.01, \"epochs\": 3}}" | field id)
echo "session $run started"
for round in 1 2 3; do
  loss=$(awk "BEGIN { printf \"%.4f\", 1 / ($round + 1) }")
  call POST "/runs/$run/logs" "{\"lines\": [\"round $round started\", \"round $round: loss $loss\"]}" > /dev/null
  call POST "/runs/$run/rounds" "{\"round\": $round, \"metrics\": {\"loss\": $loss, \"accuracy\": $(awk "BEGIN { print 1 - $loss / 2 }")}}" > /dev/null
  call POST "/runs/$run/heartbeat" > /dev/null
  echo "round $round: loss $loss"
done

model=$(mktemp)
trap 'rm -f "$model"' EXIT
head -c 65536 /dev/urandom > "$model"
size=$(wc -c < "$model" | tr -d ' ')
# The MD5 is signed into the upload URL: storage takes these bytes only.
md5=$(openssl dgst -md5 -binary "$model" | base64)
ticket=$(call POST "/runs/$run/rounds/3/artifacts" "{\"name\": \"model.h5\", \"size\": $size, \"md5\": \"$md5\"}")
upload=$(printf '%s' "$ticket" | field upload_id)
put_url=$(printf '%s' "$ticket" | sed -n 's/.*"put":{"method":"PUT","url":"\([^"]*\)".*/\1/p')
# Small files take one presigned PUT (large ones parts: see train_client.py),
# sent with the signed Content-MD5.
curl -sS --fail-with-body -X PUT -H "Content-MD5: $md5" --data-binary "@$model" "$put_url" > /dev/null
call POST "/uploads/$upload/complete" '{}' > /dev/null
echo "uploaded model.h5 ($size bytes)"

call POST "/runs/$run/end" '{"status": "finished"}' > /dev/null
echo "session $run finished"
