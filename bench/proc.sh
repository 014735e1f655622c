# shellcheck shell=bash
# Sourced by bench/bench.sh and bench/stream.sh: the CPU processes have used, from /proc.
#
# ticks_of PID...  user + system clock ticks (clk of them a second) that the processes and all
#                  their descendants have used so far: a target with its workers (uvicorn's),
#                  PostgreSQL's postmaster with its backends. A process that ended takes its
#                  ticks with it; a pid that is gone counts 0.
# shellcheck disable=SC2034  # read by the scripts that source this one
clk=$(getconf CLK_TCK)
ticks_of() {
  local all=("$@") i=0 total=0 p t
  while [ "$i" -lt "${#all[@]}" ]; do
    for p in $(pgrep -P "${all[$i]}" 2>/dev/null); do all+=("$p"); done
    i=$((i + 1))
  done
  for p in "${all[@]}"; do
    # Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
    t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }' || true)
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
