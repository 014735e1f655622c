#!/usr/bin/python3
"""Which B-trees an order writes: the SQLite WAL's frames per commit, by table and index.

    wal_pages.py DB_COPY WAL_BEFORE WAL_AFTER ORDERS

DB_COPY is a copy of the database file and its -wal taken after the measured orders (the copy
is opened read-only to map page numbers to B-trees through SQLite's dbstat table); WAL_BEFORE
and WAL_AFTER are copies of the -wal file before and after the ORDERS measured orders. Both WAL
copies must hold the same WAL (no checkpoint restarted it in between: run the gateway with
checkpoint_pages: 100000000 and wal_restart_pages: 0). Prints the commits and frames per order and,
for each B-tree, the frames per order and how many of them were leaf, interior or overflow
pages. bench/wal_pages.sh drives it.
"""
import collections
import sqlite3
import struct
import sys


def frames(path):
    """(pgno, commit_size) of every valid frame of the WAL at path, in order."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 32:
        return []
    magic, _version, page_size, _ckpt, salt1, salt2 = struct.unpack(">IIIIII", data[:24])
    if magic not in (0x377F0682, 0x377F0683):
        raise SystemExit("%s: not a WAL file" % path)
    out = []
    at = 32
    while at + 24 + page_size <= len(data):
        pgno, commit, s1, s2 = struct.unpack(">IIII", data[at:at + 16])
        if (s1, s2) != (salt1, salt2):
            break  # a frame of an earlier generation: the WAL ends here
        out.append((pgno, commit))
        at += 24 + page_size
    return out


def main():
    db, before, after, orders = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    first = frames(before)
    last = frames(after)
    if last[:len(first)] != first:
        raise SystemExit("the WAL was restarted between the two copies: no checkpoints please")
    measured = last[len(first):]
    commits = sum(1 for _, c in measured if c)
    conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    kind = {}
    for name, pageno, pagetype in conn.execute("SELECT name, pageno, pagetype FROM dbstat"):
        kind[pageno] = (name, pagetype)
    by_tree = collections.Counter()
    by_type = collections.defaultdict(collections.Counter)
    for pgno, _ in measured:
        name, pagetype = kind.get(pgno, ("(free or new)", "?"))
        if pgno == 1:
            name = "page 1 (header, sqlite_schema)"
        by_tree[name] += 1
        by_type[name][pagetype] += 1
    print("orders=%d commits=%d (%.2f per order) frames=%d (%.2f per order, %.1f per commit)" %
          (orders, commits, commits / orders, len(measured), len(measured) / orders,
           len(measured) / max(commits, 1)))
    for name, n in by_tree.most_common():
        types = ", ".join("%s %d" % (t, c) for t, c in sorted(by_type[name].items()))
        print("  %-40s %6.2f per order  (%s)" % (name, n / orders, types))


if __name__ == "__main__":
    main()
