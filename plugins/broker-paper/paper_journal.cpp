#include "paper_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

void JournalFile::open(const std::string& path, bool fsync,
                       const std::function<void(const JournalRecord&)>& replay,
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
        std::string content;
        char buf[65536];
        off_t offset = 0;
        for (;;) {
            ssize_t n = ::pread(fd, buf, sizeof buf, offset);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw JournalError("cannot read journal '" + path + "': " + errno_text(errno));
            }
            if (n == 0) break;
            content.append(buf, static_cast<size_t>(n));
            offset += n;
        }
        if (!content.empty() && content.back() != '\n') {
            size_t keep = content.rfind('\n');
            keep = keep == std::string::npos ? 0 : keep + 1;
            if (::ftruncate(fd, static_cast<off_t>(keep)) != 0)
                throw JournalError("cannot cut the torn last line of journal '" + path +
                                   "': " + errno_text(errno));
            if (warn)
                warn("journal '" + path + "': cut a torn last line of " +
                     std::to_string(content.size() - keep) + " bytes (a crash during a write)");
            content.resize(keep);
        }
        size_t pos = 0;
        size_t line_no = 0;
        while (pos < content.size()) {
            size_t nl = content.find('\n', pos);
            std::string_view line(content.data() + pos, nl - pos);
            ++line_no;
            pos = nl + 1;
            if (line.empty()) continue;
            try {
                replay(decode_journal_line(line));
            } catch (const JournalError& e) {
                throw JournalError("journal '" + path + "' line " + std::to_string(line_no) + ": " +
                                   e.what());
            }
        }
    } catch (...) {
        close();
        throw;
    }
}

void JournalFile::append(const JournalRecord& record) {
    if (fd_ < 0) throw JournalError("journal is not open");
    write_all(fd_, encode_journal_line(record), path_);
    if (fsync_ && ::fdatasync(fd_) != 0)
        throw JournalError("cannot fdatasync journal '" + path_ + "': " + errno_text(errno));
}

void JournalFile::close() {
    if (fd_ < 0) return;
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
    fd_ = -1;
}

}  // namespace ordergate::paper
