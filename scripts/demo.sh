#!/usr/bin/env bash
# The main job, end to end, on the embedded default (everything under ./.llara, no servers to
# install): generate a synthetic MPD sample, ingest it through the ETL function, train and
# evaluate, publish the QInt8 bundle as `production`, then serve it and ask for a cold-start
# recommendation. DEMO_PLAYLISTS sizes the sample; DEMO_SERVE=0 exits instead of serving on.
set -euo pipefail
cd "$(dirname "$0")/.."
LLARA=.venv/bin/llara
PLAYLISTS=${DEMO_PLAYLISTS:-5000}
PORT=${DEMO_PORT:-8000}
SLICES=${LLARA_HOME:-.llara}/demo-slices
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/6 Generate a synthetic MPD sample ($PLAYLISTS playlists) in $SLICES"
$LLARA generate --playlists "$PLAYLISTS" --out "$SLICES" --seed 7

step "2/6 Ingest: upload to raw/ and deliver the bucket events to the ETL function"
$LLARA ingest "$SLICES"
$LLARA status

step "3/6 Train: encoder, ALS, projector, LLaRA; evaluate against the baselines (MLflow: ${MLFLOW_TRACKING_URI:-sqlite under .llara})"
$LLARA train ${DEMO_TRAIN_CONFIG:+--config "$DEMO_TRAIN_CONFIG"}

step "4/6 Publish: ONNX QInt8 bundle, parity-gated, atomically, as production"
$LLARA publish --alias production

step "5/6 Serve the function routes on http://127.0.0.1:$PORT"
$LLARA serve --host 127.0.0.1 --port "$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -s "http://127.0.0.1:$PORT/health"; echo

step "6/6 A cold-start request: a title and two tracks, one of them unknown to the catalog"
KNOWN=$(.venv/bin/python - <<'PY'
import json, pathlib, glob, os
f = sorted(glob.glob(os.path.join(os.environ.get("LLARA_HOME", ".llara"), "demo-slices", "*.json")))[0]
t = json.loads(pathlib.Path(f).read_text())["playlists"][0]["tracks"][0]
print(json.dumps({"track_name": t["track_name"], "artist_name": t["artist_name"]}))
PY
)
BODY=$(printf '{"playlist_name": "late night chill", "tracks": [%s, {"track_name": "Midnight Rain Over Tokyo", "artist_name": "Nobody Knows Yet"}], "k": 10}' "$KNOWN")
echo "curl -s -X POST http://127.0.0.1:$PORT/predict -H 'content-type: application/json' -d '$BODY'"
curl -s -X POST "http://127.0.0.1:$PORT/predict" -H 'content-type: application/json' -d "$BODY" \
  | .venv/bin/python -m json.tool

if [ "${DEMO_SERVE:-1}" = "1" ]; then
  printf '\nThe function server keeps running on http://127.0.0.1:%s (Ctrl-C to stop). Try more with the curl above.\n' "$PORT"
  wait $SERVER
fi
