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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # url, pid, deadline in seconds
  local end=$((SECONDS + $3))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ]; do
    kill -0 "$2" 2>/dev/null || { echo "the Host (pid $2) exited before answering" >&2; return 1; }
    [ $SECONDS -lt $end ] || { echo "no 200 from $1 within $3 s" >&2; return 1; }
    sleep 0.01
  done
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
first_writes() { # base url
  local api=$1/_matrix/client/v3 name=fw$RANDOM$RANDOM token room
  token=$(curl -sf -X POST "$api/register" -d "{\"username\":\"$name\",\"password\":\"long enough pw\",\"auth\":{\"type\":\"m.login.dummy\"}}" | json access_token)
  room=$(curl -sf -X POST "$api/createRoom" -H "Authorization: Bearer $token" -d '{}' | json room_id)
  curl -sf -o /dev/null -X POST "$api/rooms/$room/invite" -H "Authorization: Bearer $token" -d "{\"user_id\":\"@x$name:localhost\"}"
  curl -sf -o /dev/null -X PUT "$api/rooms/$room/send/m.room.message/t1" -H "Authorization: Bearer $token" -d '{"msgtype":"m.text","body":"hi"}'
}

keeper_port=$(free_port)
ASPNETCORE_URLS="http://127.0.0.1:$keeper_port" dotnet "${dlls[0]}" >/dev/null 2>&1 &
keeper=$!
trap 'kill -TERM $keeper 2>/dev/null; wait $keeper 2>/dev/null || true' EXIT
wait_ready "http://127.0.0.1:$keeper_port/_matrix/client/versions" $keeper 120

declare -A times
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
    times[$dll]="${times[$dll]:-} $ms"
    echo "run $run $dll: $ms ms"
  done
done
for dll in "${dlls[@]}"; do
  median=$(printf '%s\n' ${times[$dll]} | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$dll: median $median ms over $runs runs (${times[$dll]# } ms)"
done
