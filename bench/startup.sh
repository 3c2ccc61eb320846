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
source bench/host-runs.sh

start_keeper "${dlls[0]}"
for ((run = 1; run <= runs; run++)); do
  for dll in "${dlls[@]}"; do
    port=$(free_port)
    start=$(date +%s%N)
    ASPNETCORE_URLS="http://127.0.0.1:$port" dotnet "$dll" >/dev/null 2>&1 &
    pid=$!
    wait_ready "http://127.0.0.1:$port/_matrix/client/versions" $pid 120
    ms=$((($(date +%s%N) - start) / 1000000))
    kill -TERM $pid; wait $pid 2>/dev/null || true
    record $run "$dll" $ms
  done
done
report_medians "${dlls[@]}"
