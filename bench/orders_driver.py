#!/usr/bin/python3
"""Sequential keyed POST /api/v1/orders over one keep-alive connection, for bench/callgrind.sh.

    orders_driver.py PORT COUNT [BEFORE_CMD [AFTER_CMD]]

Sends COUNT orders (each with its own Idempotency-Key and client_order_id, the body of
bench/orders.lua), one at a time on one connection. BEFORE_CMD runs (through the shell)
after the first request has opened the connection and before the measured requests, AFTER_CMD
right after the last answer; the measured requests are therefore exactly COUNT. Prints one line:
"sent=N non2xx=M wall_ms_per_order=T". Exits 1 when any answer was not 2xx.
"""
import http.client
import os
import subprocess
import sys
import time


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    before = sys.argv[3] if len(sys.argv) > 3 else ""
    after = sys.argv[4] if len(sys.argv) > 4 else ""
    run = "%d-%d" % (time.time(), os.getpid())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/health")  # opens the connection outside the measured window
    conn.getresponse().read()
    if before:
        subprocess.run(before, shell=True, check=True)
    bad = 0
    t0 = time.monotonic()
    for i in range(count):
        oid = "%s-%d" % (run, i)
        body = ('{"account_id":"ACC1","symbol":"INFY","exchange":"NSE","side":"BUY",'
                '"quantity":"10","order_type":"LIMIT","price":"1500.50","time_in_force":"DAY",'
                '"product":"CNC","client_order_id":"c-%s"}' % oid)
        conn.request("POST", "/api/v1/orders", body=body,
                     headers={"Content-Type": "application/json", "Idempotency-Key": "k-" + oid})
        r = conn.getresponse()
        r.read()
        if r.status < 200 or r.status > 299:
            bad += 1
    elapsed = time.monotonic() - t0
    if after:
        subprocess.run(after, shell=True, check=True)
    conn.close()
    print("sent=%d non2xx=%d wall_ms_per_order=%.3f" % (count, bad, elapsed * 1000 / count))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
