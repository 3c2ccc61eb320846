# Shared by bench/startup.sh and bench/first-write.sh (sourced, not run): Hosts on free loopback ports, a first Host
# that keeps the PostgreSQL cluster running, and the median per DLL of the runs recorded.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # url, pid, deadline in seconds
  local end=$((SECONDS + $3))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ]; do
    kill -0 "$2" 2>/dev/null || { echo "the Host (pid $2) exited before answering" >&2; return 1; }
    [ $SECONDS -lt $end ] || { echo "no 200 from $1 within $3 s" >&2; return 1; }
    sleep 0.01
  done
}
start_keeper() { # dll: a first Host, stopped with SIGTERM when the script exits
  local port
  port=$(free_port)
  ASPNETCORE_URLS="http://127.0.0.1:$port" dotnet "$1" >/dev/null 2>&1 &
  keeper=$!
  trap 'kill -TERM $keeper 2>/dev/null; wait $keeper 2>/dev/null || true' EXIT
  wait_ready "http://127.0.0.1:$port/_matrix/client/versions" $keeper 120
}
declare -A times
record() { # run, dll, ms
  times[$2]="${times[$2]:-} $3"
  echo "run $1 $2: $3 ms"
}
report_medians() { # dll...
  local dll median
  for dll in "$@"; do
    median=$(printf '%s\n' ${times[$dll]} | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$dll: median $median ms over $runs runs (${times[$dll]# } ms)"
  done
}
