#include "replace_journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ordergate::fixplugin {

namespace {

// One line: "leg1", then the fields below, tab-separated. Ids never hold a tab or a newline
// (append refuses them), decimals are written exactly, an absent price is "-".
constexpr const char* kTag = "leg1";
constexpr size_t kFields = 15;

[[noreturn]] void damaged(const std::string& path, size_t line, const std::string& why) {
    throw std::runtime_error("broker-fix: the replace journal " + path + " is damaged at line " +
                             std::to_string(line) + " (" + why +
                             "); restore it: without it the venue orders of emulated replaces "
                             "cannot be told apart");
}

Decimal decimal_field(const std::string& v, const std::string& path, size_t line) {
    Decimal d;
    if (!Decimal::parse(v, &d)) damaged(path, line, "not a decimal: " + v);
    return d;
}

void check_id(const std::string& name, const std::string& v) {
    if (v.find_first_of("\t\n\r") != std::string::npos)
        throw std::runtime_error("broker-fix: " + name + " holds a tab or a newline");
}

void write_all(int fd, const std::string& s, const std::string& path) {
    size_t done = 0;
    while (done < s.size()) {
        const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throw std::runtime_error("broker-fix: writing the replace journal " + path + ": " +
                                     std::strerror(errno));
        done += static_cast<size_t>(n);
    }
}

}  // namespace

std::vector<ReplaceLeg> ReplaceJournal::load() const {
    std::vector<ReplaceLeg> out;
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(path_)) return out;
        throw std::runtime_error("broker-fix: cannot read the replace journal " + path_);
    }
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    size_t pos = 0, line = 0;
    while (pos < text.size()) {
        ++line;
        const size_t end = text.find('\n', pos);
        // A last line without its newline was torn by a crash while it was written: the send it
        // was to precede never happened.
        if (end == std::string::npos) break;
        const std::string row = text.substr(pos, end - pos);
        pos = end + 1;
        std::vector<std::string> f;
        size_t start = 0;
        while (true) {
            const size_t tab = row.find('\t', start);
            f.push_back(row.substr(start, tab == std::string::npos ? std::string::npos
                                                                  : tab - start));
            if (tab == std::string::npos) break;
            start = tab + 1;
        }
        if (f.size() != kFields || f[0] != kTag)
            damaged(path_, line, "expected " + std::to_string(kFields) + " fields after " + kTag);
        ReplaceLeg l;
        l.client_order_id = f[1];
        l.request_id = f[2];
        l.leg_id = f[3];
        l.broker_order_id = f[4];
        l.account_id = f[5];
        l.symbol = f[6];
        if (!parse_side(f[7], &l.side)) damaged(path_, line, "side " + f[7]);
        if (!parse_order_type(f[8], &l.order_type)) damaged(path_, line, "order type " + f[8]);
        if (!parse_time_in_force(f[9], &l.time_in_force))
            damaged(path_, line, "time in force " + f[9]);
        l.quantity = decimal_field(f[10], path_, line);
        if (f[11] != "-") l.price = decimal_field(f[11], path_, line);
        l.base_qty = decimal_field(f[12], path_, line);
        if (f[13] != "-") l.base_notional = decimal_field(f[13], path_, line);
        if (f[14] != "end") damaged(path_, line, "no end mark");
        if (l.client_order_id.empty() || l.leg_id.empty() || l.request_id.empty())
            damaged(path_, line, "an empty id");
        out.push_back(std::move(l));
    }
    return out;
}

void ReplaceJournal::append(const ReplaceLeg& l) const {
    for (const auto& [name, v] :
         {std::pair<const char*, const std::string*>{"client_order_id", &l.client_order_id},
          {"request_id", &l.request_id},
          {"leg_id", &l.leg_id},
          {"broker_order_id", &l.broker_order_id},
          {"account_id", &l.account_id},
          {"symbol", &l.symbol}})
        check_id(name, *v);
    std::string row = kTag;
    auto add = [&row](std::string_view v) {
        row += '\t';
        row += v;
    };
    add(l.client_order_id);
    add(l.request_id);
    add(l.leg_id);
    add(l.broker_order_id);
    add(l.account_id);
    add(l.symbol);
    add(to_string(l.side));
    add(to_string(l.order_type));
    add(to_string(l.time_in_force));
    add(l.quantity.to_string());
    add(l.price ? l.price->to_string() : std::string("-"));
    add(l.base_qty.to_string());
    add(l.base_notional ? l.base_notional->to_string() : std::string("-"));
    add("end");
    row += '\n';

    const std::filesystem::path p(path_);
    std::error_code ec;
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    const bool created = !std::filesystem::exists(p);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        throw std::runtime_error("broker-fix: cannot open the replace journal " + path_ + ": " +
                                 std::strerror(errno));
    try {
        write_all(fd, row, path_);
        if (::fdatasync(fd) != 0)
            throw std::runtime_error("broker-fix: syncing the replace journal " + path_ + ": " +
                                     std::strerror(errno));
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    if (created && p.has_parent_path()) {
        // The new file's name must survive a crash too.
        const int dir = ::open(p.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir >= 0) {
            ::fsync(dir);
            ::close(dir);
        }
    }
}

}  // namespace ordergate::fixplugin
