#!/usr/bin/env bash
# Start-up time of the Host: from process start to the first 200 answer on /_matrix/client/versions, RUNS times
# (default 5), then the median. The PostgreSQL cluster is kept running by a first Host started beforehand, so the
# figure is the Host's own start-up (the measured Hosts attach to the running cluster); that first Host is stopped
# with SIGTERM at the end.
# Usage: bench/startup.sh [Matrix.Rooms.Host.dll ...]   (default: the built src/Host; several DLLs are measured in
#        alternation, run by run, so a busy machine weighs on each alike). Needs a built solution and curl.
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

keeper_port=$(free_port)
ASPNETCORE_URLS="http://127.0.0.1:$keeper_port" dotnet "${dlls[0]}" >/dev/null 2>&1 &
keeper=$!
trap 'kill -TERM $keeper 2>/dev/null; wait $keeper 2>/dev/null || true' EXIT
wait_ready "http://127.0.0.1:$keeper_port/_matrix/client/versions" $keeper 120

declare -A times
for ((run = 1; run <= runs; run++)); do
  for dll in "${dlls[@]}"; do
    port=$(free_port)
    start=$(date +%s%N)
    ASPNETCORE_URLS="http://127.0.0.1:$port" dotnet "$dll" >/dev/null 2>&1 &
    pid=$!
    wait_ready "http://127.0.0.1:$port/_matrix/client/versions" $pid 120
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
