#include "paper_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace ordergate::paper {

namespace {

std::string errno_text(int e) { return std::string(std::strerror(e)); }

void escape_into(std::string& out, std::string_view v) {
    for (char c : v) {
        switch (c) {
            case '%':
                out += "%25";
                break;
            case '\t':
                out += "%09";
                break;
            case '\n':
                out += "%0A";
                break;
            case '\r':
                out += "%0D";
                break;
            default:
                out.push_back(c);
        }
    }
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::string unescape(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] != '%') {
            out.push_back(v[i]);
            continue;
        }
        if (i + 2 >= v.size()) throw JournalError("truncated escape in journal value");
        int hi = hex_value(v[i + 1]), lo = hex_value(v[i + 2]);
        if (hi < 0 || lo < 0) throw JournalError("bad escape in journal value");
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

void write_all(int fd, const std::string& data, const std::string& path) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw JournalError("cannot write journal '" + path + "': " + errno_text(errno));
        }
        done += static_cast<size_t>(n);
    }
}

}  // namespace

const std::string* JournalRecord::find(std::string_view key) const {
    for (const auto& [k, v] : fields)
        if (k == key) return &v;
    return nullptr;
}

const std::string& JournalRecord::at(std::string_view key) const {
    const std::string* v = find(key);
    if (v == nullptr)
        throw JournalError("journal record '" + type + "' lacks key '" + std::string(key) + "'");
    return *v;
}

std::string encode_journal_line(const JournalRecord& record) {
    std::string out;
    escape_into(out, record.type);
    for (const auto& [k, v] : record.fields) {
        out.push_back('\t');
        out += k;
        out.push_back('=');
        escape_into(out, v);
    }
    out.push_back('\n');
    return out;
}

JournalRecord decode_journal_line(std::string_view line) {
    JournalRecord r;
    size_t pos = 0;
    bool first = true;
    while (pos <= line.size()) {
        size_t tab = line.find('\t', pos);
        std::string_view part =
            line.substr(pos, tab == std::string_view::npos ? std::string_view::npos : tab - pos);
        if (first) {
            if (part.empty()) throw JournalError("journal line without a record type");
            r.type = unescape(part);
            first = false;
        } else {
            size_t eq = part.find('=');
            if (eq == std::string_view::npos || eq == 0)
                throw JournalError("journal field without 'key=': '" + std::string(part) + "'");
            r.fields.emplace_back(std::string(part.substr(0, eq)), unescape(part.substr(eq + 1)));
        }
        if (tab == std::string_view::npos) break;
        pos = tab + 1;
    }
    return r;
}

JournalFile::~JournalFile() { close(); }

namespace {

// Reads up to `size` bytes at `offset`, retrying on EINTR; returns how many were read.
size_t read_some(int fd, char* into, size_t size, uint64_t offset, const std::string& path) {
    for (;;) {
        ssize_t n = ::pread(fd, into, size, static_cast<off_t>(offset));
        if (n >= 0) return static_cast<size_t>(n);
        if (errno != EINTR)
            throw JournalError("cannot read journal '" + path + "': " + errno_text(errno));
    }
}

// Where the file's last complete line ends: `end`, or just after the last '\n' before it.
uint64_t complete_end(int fd, uint64_t end, const std::string& path) {
    char block[4096];
    uint64_t to = end;
    while (to > 0) {
        const uint64_t from = to > sizeof block ? to - sizeof block : 0;
        const size_t want = static_cast<size_t>(to - from);
        if (read_some(fd, block, want, from, path) != want)
            throw JournalError("journal '" + path + "' shrank while it was read");
        for (size_t i = want; i > 0; --i)
            if (block[i - 1] == '\n') return from + i;
        to = from;
    }
    return 0;
}

}  // namespace

void JournalFile::open(const std::string& path, bool fsync, const Replay& replay,
                       const std::function<void(const std::string&)>& warn) {
    close();
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw JournalError("cannot open journal '" + path + "': " + errno_text(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ::close(fd);
        throw JournalError("journal '" + path + "' is in use by another venue instance (" +
                           errno_text(e) + ")");
    }
    fd_ = fd;
    fsync_ = fsync;
    path_ = path;
    try {
        struct stat st {};
        if (::fstat(fd, &st) != 0)
            throw JournalError("cannot stat journal '" + path + "': " + errno_text(errno));
        const uint64_t size = static_cast<uint64_t>(st.st_size);
        const uint64_t end = complete_end(fd, size, path);
        if (end != size) {
            if (::ftruncate(fd, static_cast<off_t>(end)) != 0)
                throw JournalError("cannot cut the torn last line of journal '" + path +
                                   "': " + errno_text(errno));
            if (warn)
                warn("journal '" + path + "': cut a torn last line of " +
                     std::to_string(size - end) + " bytes (a crash during a write)");
        }
        // Block by block: `pending` holds what follows the last whole line read, from `at` on.
        std::vector<char> block(1 << 20);
        std::string pending;
        uint64_t at = 0;
        uint64_t read_to = 0;
        size_t line_no = 0;
        while (read_to < end) {
            const size_t want = static_cast<size_t>(std::min<uint64_t>(block.size(), end - read_to));
            const size_t got = read_some(fd, block.data(), want, read_to, path);
            if (got == 0) throw JournalError("journal '" + path + "' shrank while it was read");
            pending.append(block.data(), got);
            read_to += got;
            size_t pos = 0;
            for (size_t nl; (nl = pending.find('\n', pos)) != std::string::npos; pos = nl + 1) {
                std::string_view line(pending.data() + pos, nl - pos);
                ++line_no;
                if (line.empty()) continue;
                try {
                    replay(decode_journal_line(line), at + pos);
                } catch (const JournalError& e) {
                    throw JournalError("journal '" + path + "' line " + std::to_string(line_no) +
                                       ": " + e.what());
                }
            }
            pending.erase(0, pos);
            at += pos;
        }
        size_ = end;
    } catch (...) {
        close();
        throw;
    }
}

uint64_t JournalFile::append(const JournalRecord& record) {
    if (fd_ < 0) throw JournalError("journal is not open");
    const std::string line = encode_journal_line(record);
    const uint64_t offset = size_;
    write_all(fd_, line, path_);
    size_ += line.size();
    if (fsync_ && ::fdatasync(fd_) != 0)
        throw JournalError("cannot fdatasync journal '" + path_ + "': " + errno_text(errno));
    return offset;
}

std::string_view JournalFile::cached_line(uint64_t offset) const {
    if (offset < block_from_ || offset >= block_from_ + block_size_) return {};
    const size_t at = static_cast<size_t>(offset - block_from_);
    const char* from = block_.get() + at;
    const char* nl = static_cast<const char*>(std::memchr(from, '\n', block_size_ - at));
    if (nl == nullptr) return {};
    return std::string_view(from, static_cast<size_t>(nl - from));
}

JournalRecord JournalFile::read_at(uint64_t offset) const {
    if (fd_ < 0) throw JournalError("journal is not open");
    if (offset >= size_)
        throw JournalError("journal '" + path_ + "': no line at offset " + std::to_string(offset));
    // A listing (reconciliation after a restart) asks for lines in about file order: a read near
    // the last one reads a whole block, which then holds the next lines too. A read far from it
    // (a client order id looked up in forgotten history, on the order path) reads one line's
    // worth.
    // A block never goes beyond what was written (size_), and written bytes never change.
    std::string_view line = cached_line(offset);
    std::string longer;
    if (line.data() == nullptr) {
        if (!block_) block_ = std::make_unique<char[]>(kReadBlock);
        const bool near = block_size_ > 0 && offset + kReadBlock > block_from_ &&
                          offset < block_from_ + block_size_ + kReadBlock;
        const uint64_t read = near ? kReadBlock : kLineRead;
        const size_t want = static_cast<size_t>(std::min<uint64_t>(read, size_ - offset));
        block_from_ = offset;
        block_size_ = read_some(fd_, block_.get(), want, offset, path_);
        line = cached_line(offset);
    }
    if (line.data() == nullptr) {
        // A line longer than what was read (or a file that shrank): read on to its end.
        char more[4096];
        longer.assign(block_.get(), block_size_);
        for (uint64_t from = offset + block_size_;;) {
            const size_t got = read_some(fd_, more, sizeof more, from, path_);
            if (got == 0)
                throw JournalError("journal '" + path_ + "': the line at offset " +
                                   std::to_string(offset) + " has no end");
            const char* nl = static_cast<const char*>(std::memchr(more, '\n', got));
            longer.append(more, nl == nullptr ? got : static_cast<size_t>(nl - more));
            if (nl != nullptr) break;
            from += got;
        }
        line = longer;
    }
    try {
        return decode_journal_line(line);
    } catch (const JournalError& e) {
        throw JournalError("journal '" + path_ + "' at offset " + std::to_string(offset) + ": " +
                           e.what());
    }
}

void JournalFile::close() {
    block_.reset();
    block_from_ = 0;
    block_size_ = 0;
    if (fd_ < 0) return;
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
    fd_ = -1;
    size_ = 0;
}

}  // namespace ordergate::paper
