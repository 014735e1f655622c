# Sourced by the test service scripts (pg-test.sh, redis-test.sh).
#
# free_port NAME: prints a loopback TCP port nobody listens on, below the kernel's ephemeral
# range: a port inside it can be taken by an outgoing connection (or by a client's TCP
# self-connect while it retries) during an outage, and a restart on the same port then fails with
# "address already in use". NAME prefixes the error message.
free_port() {
  local p lo
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "${lo:-0}" -gt 11000 ] 2>/dev/null || lo=32768
  for _ in $(seq 100); do
    p=$((10000 + RANDOM % (lo - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "$1: no free port found" >&2; return 1
}
