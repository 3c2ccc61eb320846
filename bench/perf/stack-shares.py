#!/usr/bin/env python3
"""Shares of a `perf record -g` sample of the bench process (docs/benchmarks.md, "Cutting the command's CPU").

    DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -F 999 -g --delay 35000 -o inv.data -- \
      dotnet bench/Matrix.Rooms.Bench/bin/Release/net10.0/Matrix.Rooms.Bench.dll profile 5000 invite 3000
    perf script -i inv.data -F comm,pid,ip,sym > inv.txt
    python3 bench/perf/stack-shares.py inv.txt

Prints, for the .NET process's samples, the share whose stack holds a frame of each group (inclusive: groups overlap),
then the share of the leaf frame's assembly (exclusive), then for PostgreSQL's samples the share per phase.
"""
import collections
import re
import sys

DOTNET = [
    ("Wolverine", r"\[Wolverine"), ("Marten", r"\[Marten\]"), ("Marten SaveChanges", r"SaveChangesAsync"),
    ("Polly (Marten's resilience pipeline)", r"\[Polly"), ("Npgsql", r"\[Npgsql\]"), ("System.Text.Json", r"\[System\.Text\.Json\]"),
    ("System.Text.Json reading", r"JsonSerializer::Deserialize|OnTryRead"), ("System.Text.Json writing", r"JsonSerializer::Serialize|OnTryWrite"),
    ("Matrix.Rooms.Domain", r"\[Matrix\.Rooms\.Domain\]"), ("PduChain (hashes, signature)", r"PduChain"), ("CanonicalJson", r"CanonicalJson"),
    ("Matrix.Rooms.Projections", r"\[Matrix\.Rooms\.Projections\]"), ("Matrix.Rooms.Host", r"\[Matrix\.Rooms\.Host\]"),
    ("thread-pool worker spinning (sched_yield in LowLevelLifoSemaphore::Wait)", r"sched_yield"),
    ("kernel scheduler (finish_task_switch)", r"finish_task_switch"),
]
POSTGRES = [
    ("parse (raw_parser)", r"raw_parser"), ("analyse", r"parse_analyze|transformStmt"), ("plan", r"pg_plan_queries|standard_planner"),
    ("PL/pgSQL", r"plpgsql"), ("executor", r"standard_ExecutorRun"), ("commit, WAL flush", r"XLogFlush|CommitTransaction"),
    ("jsonb input", r"jsonb_in|pg_parse_json"),
]


def samples(path):
    head, frames = None, []
    for line in open(path, errors="replace"):
        if line and not line[0].isspace():
            if head: yield head, frames
            head, frames = line.split()[0], []
        elif line.strip():
            frames.append(line.strip())
    if head: yield head, frames


def leaf_group(frame):
    m = re.search(r"\[([A-Za-z0-9_.]+)\] ", frame)
    return m.group(1) if m else ("[unknown] (runtime, JIT without symbols)" if "[unknown]" in frame else "native / kernel")


def main(path):
    net, pg = collections.Counter(), collections.Counter()
    leaves = collections.Counter()
    n_net = n_pg = 0
    for comm, frames in samples(path):
        text = "\n".join(frames)
        if comm.startswith("postgres"):
            n_pg += 1
            for name, pattern in POSTGRES:
                if re.search(pattern, text): pg[name] += 1
        else:
            n_net += 1
            if frames: leaves[leaf_group(frames[0])] += 1
            for name, pattern in DOTNET:
                if re.search(pattern, text): net[name] += 1
    print(f".NET process: {n_net} samples; PostgreSQL: {n_pg} samples")
    print("\n.NET, inclusive")
    for name, _ in DOTNET: print(f"  {100 * net[name] / max(n_net, 1):5.1f} %  {name}")
    print("\n.NET, leaf frame's assembly")
    for name, v in leaves.most_common(12): print(f"  {100 * v / max(n_net, 1):5.1f} %  {name}")
    print("\nPostgreSQL, inclusive")
    for name, _ in POSTGRES: print(f"  {100 * pg[name] / max(n_pg, 1):5.1f} %  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
