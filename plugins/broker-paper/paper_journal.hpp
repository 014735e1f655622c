// The paper venue's journal: an append-only text file, one line per venue event, replayed when a
// venue is constructed so its orders, fills, positions, cash and id counters survive a restart.
//
// Line format (UTF-8 text, '\n'-terminated):
//     <type> TAB <key>=<value> TAB <key>=<value> ...
// Values are percent-escaped: '%' -> %25, TAB -> %09, LF -> %0A, CR -> %0D; nothing else is
// escaped, so the file stays readable with grep. Keys never contain '=' or TAB. The record types
// and their keys are the venue's business (paper_venue.cpp); this file only stores lines.
//
// Durability: every append is one write(2) of the whole line on an O_APPEND descriptor, so a line
// is in the kernel when append() returns and survives a crash of the process. With `fsync` set, the
// line is also fdatasync'ed before append() returns (survives a power loss, costs a disk flush).
// A crash in the middle of a write can leave a torn last line without its '\n': open() cuts it off
// (and says so through `warn`) before appending more. Any other malformed line is corruption and
// open() throws.
//
// One writer: open() takes an exclusive flock on the file, so a second venue (in this or another
// process) on the same journal fails loudly instead of interleaving lines.
//
// Reading back: every line has an offset (where it starts in the file), given to the replay
// callback and returned by append(); read_at() decodes the line at an offset again. The venue keeps
// only those offsets for the history it no longer holds in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ordergate::paper {

// A failure to open, read, parse or write the journal.
class JournalError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// One line: a type tag and ordered key/value fields.
struct JournalRecord {
    std::string type;
    std::vector<std::pair<std::string, std::string>> fields;

    JournalRecord& add(std::string key, std::string value) {
        fields.emplace_back(std::move(key), std::move(value));
        return *this;
    }
    // The value of `key`, or nullptr when the record lacks it.
    const std::string* find(std::string_view key) const;
    // The value of `key`; throws JournalError naming the key and the type when absent.
    const std::string& at(std::string_view key) const;
};

// Encodes a record as one line (with its trailing '\n').
std::string encode_journal_line(const JournalRecord& record);
// Decodes one line (without its '\n'); throws JournalError on a malformed line.
JournalRecord decode_journal_line(std::string_view line);

// The open journal file. Not thread-safe: the venue calls it under its own mutex.
class JournalFile {
  public:
    JournalFile() = default;
    ~JournalFile();
    JournalFile(const JournalFile&) = delete;
    JournalFile& operator=(const JournalFile&) = delete;

    // Opens (creating when absent) `path`, locks it, cuts a torn last line (reported through
    // `warn`), and calls `replay` with every record and its line's offset, in file order, before
    // returning. The file is read in blocks, never whole. A line that does not decode, or a
    // JournalError thrown by `replay`, throws JournalError naming the file and the line number;
    // any other exception from `replay` propagates as it is. Either way the file is closed and
    // unlocked.
    using Replay = std::function<void(const JournalRecord& record, uint64_t offset)>;
    void open(const std::string& path, bool fsync, const Replay& replay,
              const std::function<void(const std::string&)>& warn);
    bool is_open() const { return fd_ >= 0; }
    const std::string& path() const { return path_; }

    // Appends one record (see Durability above) and returns its line's offset. Throws
    // JournalError on a failed write.
    uint64_t append(const JournalRecord& record);
    // The record of the line at `offset` (an offset replay or append gave). Throws JournalError
    // when the file cannot be read there or the line does not decode.
    JournalRecord read_at(uint64_t offset) const;
    // Releases the lock and closes the file. Idempotent.
    void close();

  private:
    // The line at `offset` when the block read last holds all of it, else a null view.
    std::string_view cached_line(uint64_t offset) const;

    int fd_ = -1;
    bool fsync_ = false;
    uint64_t size_ = 0;  // where the next line goes (this is the file's one writer)
    std::string path_;
    // read_at's last read: block_size_ of the file's bytes from block_from_ on, as written.
    static constexpr size_t kReadBlock = 64 * 1024;  // a read near the last one
    static constexpr size_t kLineRead = 1024;        // one far from it
    mutable std::unique_ptr<char[]> block_;          // kReadBlock bytes, from the first read
    mutable uint64_t block_from_ = 0;
    mutable size_t block_size_ = 0;
};

}  // namespace ordergate::paper
