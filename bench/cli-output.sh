#!/usr/bin/env bash
# Runs every command of the Host's command line once and shows, per command, its exit code, what it wrote to standard
# output and what it wrote to standard error (the "quiet command line" check: results on stdout, nothing else).
# Usage: bench/cli-output.sh [output-folder]   (default: a new temporary folder; needs a built solution)
# Uses the Host's default database (the embedded cluster under .data/), seeding rooms with a fresh --seed.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
mkdir -p "$out"
host=(dotnet run --project src/Host --no-build --)
seed=$((RANDOM * 32768 + RANDOM))

run() { # name, args...
  local name=$1; shift
  "${host[@]}" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr"
  local rc=$?
  echo "=== $name: dotnet run --project src/Host -- $* (exit $rc)"
  echo "--- stdout ($(wc -l <"$out/$name.stdout") lines)"; head -n 25 "$out/$name.stdout"
  echo "--- stderr ($(wc -l <"$out/$name.stderr") lines)"; head -n 25 "$out/$name.stderr"
}

run help help
run auth-check auth-check tests/Matrix.Rooms.Domain.Tests/Conformance/gomatrixserverlib-eventauth.json
run visibility-check visibility-check tests/Matrix.Rooms.Domain.Tests/Visibility/visibility-vectors.json
run demo demo
run demo-3pid demo-3pid
run seed seed --rooms 3 --members 4 --events 30 --seed "$seed"
room=$(grep -oE '![A-Za-z]+:[A-Za-z0-9.-]+' "$out/seed.stdout" | head -n 1)
run room-state room-state "$room" --at-version 3 --compact
run export export --room "$room" --output "$out/room.jsonl"
run rebuild rebuild --verify 2
# Import the exported room into a schema of its own, so it does not clash with the room it came from.
MatrixRooms__Schema="import_$seed" run import import "$out/room.jsonl"
echo "outputs in $out"
