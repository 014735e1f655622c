// A SQLite VFS that writes each WAL commit to the file in one system call.
//
// SQLite appends a commit to the WAL one frame at a time, and each frame is two pwrite calls (its
// 24-byte header, then the page): a one-order commit of 24 pages is 48 system calls, about 20 per
// order under load, a fifth of the writer thread's time on this project's machines. This VFS
// wraps the default one and, for WAL files only, keeps consecutive writes in a buffer and hands
// them to the file in one write (one per 124 KiB: the default VFS writes at most 128 KiB in a
// call) at the next operation that is not an append: xSync at the commit, a read, a write
// elsewhere, xFileSize, xTruncate, a file control or xClose. Every other file
// (the database, its shared memory, temporary files) is the default VFS's own, untouched.
//
// Why it is safe. The order of the bytes in the file is the order of the writes: a write
// elsewhere or any read first writes out what is buffered, so this connection never reads back
// older bytes than it wrote. Other connections read only frames a commit published in the WAL
// index, and SQLite publishes them after xSync on the WAL, when the buffer is on disk. That last
// point holds only when every commit syncs the WAL, so the storage uses this VFS only with
// `synchronous` FULL or EXTRA. A crash loses at most what a crash before the write would have
// lost: frames of a commit that was never synced, which recovery ignores. A failed write drops
// the buffer and fails the operation that asked for it (the commit's xSync), so SQLite rolls the
// transaction back as after any failed write.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace ordergate::storage_sqlite {

class WalCoalescingVfs {
public:
    // Registers a VFS under a name of its own (not the default), over the default VFS.
    // Throws sdk::Error(Internal) when SQLite has no default VFS or refuses the registration.
    WalCoalescingVfs();
    // Unregisters it. Every connection opened through it must be closed first.
    ~WalCoalescingVfs();
    WalCoalescingVfs(const WalCoalescingVfs&) = delete;
    WalCoalescingVfs& operator=(const WalCoalescingVfs&) = delete;

    // The name to pass to sqlite3_open_v2.
    const char* name() const { return name_.c_str(); }

    // The largest run of appends kept before it is written out (bytes).
    static constexpr int kBufferBytes = 1 << 20;

    // Writes handed to the default VFS for WAL files so far (each one system call): what a test
    // counts, where the process's own count also holds the sanitizers' probes.
    uint64_t wal_writes() const { return state_.writes.load(std::memory_order_relaxed); }

    // What the VFS's functions reach through pAppData.
    struct State {
        sqlite3_vfs* base = nullptr;  // the default VFS
        std::atomic<uint64_t> writes{0};
    };

private:
    std::string name_;
    State state_;
    sqlite3_vfs vfs_{};
};

}  // namespace ordergate::storage_sqlite
