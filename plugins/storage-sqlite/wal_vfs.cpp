#include "wal_vfs.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ordergate/sdk.hpp"
#include "sqlite_db.hpp"

namespace ordergate::storage_sqlite {

namespace {

WalCoalescingVfs::State* state_of(sqlite3_vfs* vfs) {
    return static_cast<WalCoalescingVfs::State*>(vfs->pAppData);
}
sqlite3_vfs* base_of(sqlite3_vfs* vfs) { return state_of(vfs)->base; }

// A WAL file: the default VFS's file object lives right after this header, in the memory SQLite
// allocated for it (szOsFile covers both).
struct WalFile {
    sqlite3_file base;   // pMethods = kWalMethods
    sqlite3_file* real;  // the default VFS's file
    std::atomic<uint64_t>* writes;  // the VFS's count of writes handed to `real`
    char* buffer;        // appends not yet written; kBufferBytes, allocated at the first append
    sqlite3_int64 start;  // file offset of buffer[0]
    int used;             // bytes in buffer
};

constexpr size_t kRealOffset = (sizeof(WalFile) + 15) & ~size_t{15};

WalFile* wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }

int write_through(WalFile* f, const void* data, int amount, sqlite3_int64 offset) {
    f->writes->fetch_add(1, std::memory_order_relaxed);
    return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

// The most the default VFS writes in one call: its unix write keeps the low 17 bits of the
// length (0x1ffff), so a longer write fails SQLITE_FULL after a partial one. Whole pages below it.
constexpr int kMaxWrite = 0x1ffff & ~4095;

// Writes out the buffer, in calls of kMaxWrite at most. On failure the buffer is dropped all the
// same (SQLite treats the failed write as never done and rolls its transaction back) and the
// error is returned.
int flush(WalFile* f) {
    const int n = f->used;
    f->used = 0;
    for (int done = 0; done < n;) {
        const int amount = std::min(kMaxWrite, n - done);
        int rc = write_through(f, f->buffer + done, amount, f->start + done);
        if (rc != SQLITE_OK) return rc;
        done += amount;
    }
    return SQLITE_OK;
}

int wal_close(sqlite3_file* file) {
    WalFile* f = wal(file);
    int rc = flush(f);
    int closed = f->real->pMethods->xClose(f->real);
    std::free(f->buffer);
    f->buffer = nullptr;
    return rc != SQLITE_OK ? rc : closed;
}

int wal_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
    WalFile* f = wal(file);
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int wal_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    WalFile* f = wal(file);
    if (f->used > 0 && (offset != f->start + f->used ||
                        amount > WalCoalescingVfs::kBufferBytes - f->used)) {
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
    }
    if (amount > kMaxWrite) return write_through(f, data, amount, offset);
    if (f->buffer == nullptr) {
        f->buffer = static_cast<char*>(std::malloc(WalCoalescingVfs::kBufferBytes));
        if (f->buffer == nullptr) return write_through(f, data, amount, offset);
    }
    if (f->used == 0) f->start = offset;
    std::memcpy(f->buffer + f->used, data, static_cast<size_t>(amount));
    f->used += amount;
    return SQLITE_OK;
}

int wal_truncate(sqlite3_file* file, sqlite3_int64 size) {
    WalFile* f = wal(file);
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xTruncate(f->real, size);
}

int wal_sync(sqlite3_file* file, int flags) {
    WalFile* f = wal(file);
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xSync(f->real, flags);
}

int wal_file_size(sqlite3_file* file, sqlite3_int64* size) {
    WalFile* f = wal(file);
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xFileSize(f->real, size);
}

int wal_lock(sqlite3_file* file, int level) {
    return wal(file)->real->pMethods->xLock(wal(file)->real, level);
}

int wal_unlock(sqlite3_file* file, int level) {
    return wal(file)->real->pMethods->xUnlock(wal(file)->real, level);
}

int wal_check_reserved_lock(sqlite3_file* file, int* out) {
    return wal(file)->real->pMethods->xCheckReservedLock(wal(file)->real, out);
}

int wal_file_control(sqlite3_file* file, int op, void* arg) {
    WalFile* f = wal(file);
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xFileControl(f->real, op, arg);
}

int wal_sector_size(sqlite3_file* file) {
    return wal(file)->real->pMethods->xSectorSize(wal(file)->real);
}

int wal_device_characteristics(sqlite3_file* file) {
    return wal(file)->real->pMethods->xDeviceCharacteristics(wal(file)->real);
}

// SQLite maps no shared memory and no pages of a WAL file, but a version-3 file must answer.
int wal_shm_map(sqlite3_file*, int, int, int, void volatile**) { return SQLITE_IOERR_SHMMAP; }
int wal_shm_lock(sqlite3_file*, int, int, int) { return SQLITE_IOERR_SHMLOCK; }
void wal_shm_barrier(sqlite3_file*) {}
int wal_shm_unmap(sqlite3_file*, int) { return SQLITE_OK; }
int wal_fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
    *out = nullptr;  // "read it instead": SQLite falls back to xRead
    return SQLITE_OK;
}
int wal_unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods kWalMethods = {
    3,
    wal_close,
    wal_read,
    wal_write,
    wal_truncate,
    wal_sync,
    wal_file_size,
    wal_lock,
    wal_unlock,
    wal_check_reserved_lock,
    wal_file_control,
    wal_sector_size,
    wal_device_characteristics,
    wal_shm_map,
    wal_shm_lock,
    wal_shm_barrier,
    wal_shm_unmap,
    wal_fetch,
    wal_unfetch,
};

int vfs_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    sqlite3_vfs* base = base_of(vfs);
    // Any file but a WAL is the default VFS's own object, in the same memory.
    if ((flags & SQLITE_OPEN_WAL) == 0) return base->xOpen(base, name, file, flags, out_flags);
    WalFile* f = wal(file);
    f->base.pMethods = nullptr;  // SQLite calls no method of a file whose open failed
    f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
    f->writes = &state_of(vfs)->writes;
    f->buffer = nullptr;
    f->start = 0;
    f->used = 0;
    int rc = base->xOpen(base, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        // The default VFS may leave methods to call xClose on; SQLite will not call ours.
        if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
        return rc;
    }
    f->base.pMethods = &kWalMethods;
    return SQLITE_OK;
}

// Everything else the default VFS does as it is.
int vfs_delete(sqlite3_vfs* v, const char* n, int sync) {
    return base_of(v)->xDelete(base_of(v), n, sync);
}
int vfs_access(sqlite3_vfs* v, const char* n, int flags, int* out) {
    return base_of(v)->xAccess(base_of(v), n, flags, out);
}
int vfs_full_pathname(sqlite3_vfs* v, const char* n, int size, char* out) {
    return base_of(v)->xFullPathname(base_of(v), n, size, out);
}
void* vfs_dl_open(sqlite3_vfs* v, const char* n) { return base_of(v)->xDlOpen(base_of(v), n); }
void vfs_dl_error(sqlite3_vfs* v, int size, char* out) {
    base_of(v)->xDlError(base_of(v), size, out);
}
void (*vfs_dl_sym(sqlite3_vfs* v, void* h, const char* n))(void) {
    return base_of(v)->xDlSym(base_of(v), h, n);
}
void vfs_dl_close(sqlite3_vfs* v, void* h) { base_of(v)->xDlClose(base_of(v), h); }
int vfs_randomness(sqlite3_vfs* v, int size, char* out) {
    return base_of(v)->xRandomness(base_of(v), size, out);
}
int vfs_sleep(sqlite3_vfs* v, int us) { return base_of(v)->xSleep(base_of(v), us); }
int vfs_current_time(sqlite3_vfs* v, double* out) {
    return base_of(v)->xCurrentTime(base_of(v), out);
}
int vfs_get_last_error(sqlite3_vfs* v, int size, char* out) {
    return base_of(v)->xGetLastError(base_of(v), size, out);
}
int vfs_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
    return base_of(v)->xCurrentTimeInt64(base_of(v), out);
}
int vfs_set_system_call(sqlite3_vfs* v, const char* n, sqlite3_syscall_ptr p) {
    return base_of(v)->xSetSystemCall(base_of(v), n, p);
}
sqlite3_syscall_ptr vfs_get_system_call(sqlite3_vfs* v, const char* n) {
    return base_of(v)->xGetSystemCall(base_of(v), n);
}
const char* vfs_next_system_call(sqlite3_vfs* v, const char* n) {
    return base_of(v)->xNextSystemCall(base_of(v), n);
}

std::atomic<uint64_t> next_vfs_id{0};

}  // namespace

WalCoalescingVfs::WalCoalescingVfs() {
    configure_sqlite_library();  // before sqlite3_vfs_find initialises the library
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    if (base == nullptr) throw sdk::Error(Status::Internal, "sqlite: no default VFS");
    if (base->iVersion < 3)
        throw sdk::Error(Status::Internal, "sqlite: the default VFS is older than version 3");
    // One name per instance: two storages in a process (tests, two plugin configurations)
    // register and unregister theirs independently.
    name_ = "ordergate-wal-" + std::to_string(next_vfs_id.fetch_add(1));
    vfs_.iVersion = 3;
    vfs_.szOsFile = static_cast<int>(kRealOffset) + base->szOsFile;
    vfs_.mxPathname = base->mxPathname;
    vfs_.zName = name_.c_str();
    state_.base = base;
    vfs_.pAppData = &state_;
    vfs_.xOpen = vfs_open;
    vfs_.xDelete = vfs_delete;
    vfs_.xAccess = vfs_access;
    vfs_.xFullPathname = vfs_full_pathname;
    vfs_.xDlOpen = vfs_dl_open;
    vfs_.xDlError = vfs_dl_error;
    vfs_.xDlSym = vfs_dl_sym;
    vfs_.xDlClose = vfs_dl_close;
    vfs_.xRandomness = vfs_randomness;
    vfs_.xSleep = vfs_sleep;
    vfs_.xCurrentTime = vfs_current_time;
    vfs_.xGetLastError = vfs_get_last_error;
    vfs_.xCurrentTimeInt64 = vfs_current_time_int64;
    vfs_.xSetSystemCall = vfs_set_system_call;
    vfs_.xGetSystemCall = vfs_get_system_call;
    vfs_.xNextSystemCall = vfs_next_system_call;
    int rc = sqlite3_vfs_register(&vfs_, 0);
    if (rc != SQLITE_OK)
        throw sdk::Error(Status::Internal,
                         std::string("sqlite: cannot register the WAL VFS: ") + sqlite3_errstr(rc));
}

WalCoalescingVfs::~WalCoalescingVfs() { sqlite3_vfs_unregister(&vfs_); }

}  // namespace ordergate::storage_sqlite
