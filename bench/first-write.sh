#!/usr/bin/env bash
# Time to the first writes of a freshly started Host: from the first 200 on /_matrix/client/versions to the answers of
# the first register, createRoom, invite and send (each message type's first use: the cost of a handler that is
# compiled at runtime, or of one loaded from the committed generated code). RUNS times (default 5), median; several
# DLLs are measured in alternation. As bench/startup.sh, a first Host keeps the PostgreSQL cluster running.
# Usage: bench/first-write.sh [Matrix.Rooms.Host.dll ...]   (default: the built src/Host; runs in Production, the default)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
dlls=("$@")
[ ${#dlls[@]} -eq 0 ] && dlls=(src/Host/bin/Debug/net10.0/Matrix.Rooms.Host.dll)
source bench/host-runs.sh
json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
first_writes() { # base url
  local api=$1/_matrix/client/v3 name=fw$RANDOM$RANDOM token room
  token=$(curl -sf -X POST "$api/register" -d "{\"username\":\"$name\",\"password\":\"long enough pw\",\"auth\":{\"type\":\"m.login.dummy\"}}" | json access_token)
  room=$(curl -sf -X POST "$api/createRoom" -H "Authorization: Bearer $token" -d '{}' | json room_id)
  curl -sf -o /dev/null -X POST "$api/rooms/$room/invite" -H "Authorization: Bearer $token" -d "{\"user_id\":\"@x$name:localhost\"}"
  curl -sf -o /dev/null -X PUT "$api/rooms/$room/send/m.room.message/t1" -H "Authorization: Bearer $token" -d '{"msgtype":"m.text","body":"hi"}'
}

start_keeper "${dlls[0]}"
for ((run = 1; run <= runs; run++)); do
  for dll in "${dlls[@]}"; do
    port=$(free_port)
    ASPNETCORE_URLS="http://127.0.0.1:$port" dotnet "$dll" >/dev/null 2>&1 &
    pid=$!
    wait_ready "http://127.0.0.1:$port/_matrix/client/versions" $pid 120
    start=$(date +%s%N)
    first_writes "http://127.0.0.1:$port"
    ms=$((($(date +%s%N) - start) / 1000000))
    kill -TERM $pid; wait $pid 2>/dev/null || true
    record $run "$dll" $ms
  done
done
report_medians "${dlls[@]}"
