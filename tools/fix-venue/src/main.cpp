// ordergate-fix-venue: a FIX 4.2/4.4 venue simulator for tests and examples (see README.md).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "control.hpp"
#include "fix_transport.hpp"
#include "venue.hpp"

namespace og = ordergate;
using namespace ordergate::fixvenue;

namespace {

const char* kUsage = R"(usage: ordergate-fix-venue --port N --session BEGIN:CLIENT [options]

  --port N                 FIX acceptor port on 127.0.0.1 (required)
  --control-port N         control port on 127.0.0.1 (default 0: any free port)
  --data-dir DIR           FileStore (sequence numbers) and message logs (default ./fix-venue-data)
  --comp-id ID             the venue's CompID (default VENUE)
  --session BEGIN:CLIENT[:VENUE]
                           a session to accept, e.g. FIX.4.4:CLIENT1 (repeatable)
  --firm NAME=CLIENT[,CLIENT...]
                           sessions of one firm see and act on each other's orders (repeatable)
  --symbol SYM             a tradable symbol (repeatable; none and no --price: any symbol)
  --price SYM=PX           liquidity provider at PX for SYM (repeatable)
  --lp-slice QTY           the provider fills in slices of at most QTY
  --lp-depth QTY           the provider fills at most QTY per order
  --profile SESSION=FLAG[,FLAG]
                           no-new-ack, cancel-own-clordid, ignore-unknown-cancel, pending-acks,
                           hold, no-replace (repeatable)
  --delay-ms N             delay every report by N ms
  --session-start HH:MM:SS the daily roll of the 24-hour sessions, UTC (default 00:00:00)
  --reset-on-logon         ResetOnLogon=Y (default N: sequence numbers persist)
  --no-message-log         no QuickFIX message log under DATA_DIR/log
  --dump FILE              write the book as JSON to FILE at exit
)";

[[noreturn]] void usage_error(const std::string& why) {
    std::cerr << "ordergate-fix-venue: " << why << "\n" << kUsage;
    std::exit(2);
}

og::Decimal decimal_arg(const std::string& text, const std::string& what) {
    og::Decimal d;
    std::string why;
    if (!og::Decimal::parse(text, &d, &why) || !d.is_positive())
        usage_error(what + ": invalid value '" + text + "'" + (why.empty() ? "" : ": " + why));
    return d;
}

int int_arg(const std::string& text, const std::string& what) {
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end || v < 0 || v > 1000000000) usage_error(what + ": invalid number");
    return static_cast<int>(v);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, sep)) out.push_back(cur);
    return out;
}

// Bridges the transport's callbacks to the engine.
class Handler : public MessageHandler {
  public:
    explicit Handler(Venue& v) : venue_(v) {}
    std::vector<OutMessage> on_message(const InMessage& msg) override {
        venue_.handle(msg);  // the answers reach the transport through the venue's sink
        return {};
    }
    void on_logon(const std::string& session) override {
        std::cerr << "fix-venue: event=logon session=" << session << std::endl;
    }
    void on_logout(const std::string& session) override {
        std::cerr << "fix-venue: event=logout session=" << session << std::endl;
    }

  private:
    Venue& venue_;
};

bool write_file(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        f << text << "\n";
        if (!f) return false;
    }
    return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string sessions_json(const FixTransport& t, const Venue& v) {
    std::string o = "[";
    bool first = true;
    for (const auto& s : t.sessions()) {
        o += first ? "" : ",";
        first = false;
        o += "{\"id\":\"" + s.id + "\",\"logged_on\":" + (s.logged_on ? "true" : "false") +
             ",\"next_sender_seq\":" + std::to_string(s.next_sender_seq) +
             ",\"next_target_seq\":" + std::to_string(s.next_target_seq) +
             ",\"sent_app_messages\":" + std::to_string(s.sent_app_messages) + ",\"profile\":\"" +
             profile_flags(v.profile(s.id)) + "\"}";
    }
    return o + "]";
}

// One control command; returns the answer line.
std::string control(const std::string& line, Venue& venue, FixTransport& fix) {
    std::istringstream in(line);
    std::vector<std::string> w;
    for (std::string s; in >> s;) w.push_back(s);
    if (w.empty()) return "ERR EMPTY empty command";
    const std::string& cmd = w[0];
    auto need = [&](size_t n) {
        if (w.size() < n + 1)
            throw ControlError("USAGE", cmd + " needs " + std::to_string(n) + " argument(s)");
    };
    auto session = [&](const std::string& name) {
        std::string id = fix.resolve(name);
        if (id.empty()) throw ControlError("UNKNOWN_SESSION", "no single session named " + name);
        return id;
    };
    auto count = [&](size_t i) {
        if (w.size() <= i) return 1;
        char* end = nullptr;
        long v = std::strtol(w[i].c_str(), &end, 10);
        if (*end || v < 0 || v > 1000000) throw ControlError("USAGE", "bad count " + w[i]);
        return static_cast<int>(v);
    };
    auto dec = [&](const std::string& s) {
        og::Decimal d;
        std::string why;
        if (!og::Decimal::parse(s, &d, &why))
            throw ControlError("BAD_VALUE", "invalid decimal '" + s + "': " + why);
        return d;
    };
    try {
        if (cmd == "ping") return "OK pong";
        if (cmd == "sessions") return "OK " + sessions_json(fix, venue);
        if (cmd == "dump") {
            if (w.size() > 1) {
                if (!write_file(w[1], venue.dump_json())) return "ERR IO cannot write " + w[1];
                return "OK";
            }
            return "OK " + venue.dump_json();
        }
        if (cmd == "price") {
            need(2);
            venue.set_price(w[1], dec(w[2]));
            return "OK";
        }
        if (cmd == "noprice") {
            need(1);
            venue.clear_price(w[1]);
            return "OK";
        }
        if (cmd == "fill") {
            need(2);
            std::optional<og::Decimal> px;
            if (w.size() > 3) px = dec(w[3]);
            venue.house_fill(w[1], dec(w[2]), px);
            return "OK";
        }
        if (cmd == "bust") {
            need(1);
            venue.bust(w[1]);
            return "OK";
        }
        if (cmd == "correct") {
            need(3);
            venue.correct(w[1], dec(w[2]), dec(w[3]));
            return "OK";
        }
        if (cmd == "release") {
            need(1);
            venue.release(session(w[1]));
            return "OK";
        }
        if (cmd == "eod") {
            venue.end_of_day();
            return "OK";
        }
        if (cmd == "profile") {
            need(3);
            if (w[3] != "on" && w[3] != "off") return "ERR USAGE profile SESSION FLAG on|off";
            venue.set_profile(session(w[1]), w[2], w[3] == "on");
            return "OK";
        }
        if (cmd == "delay") {
            need(2);
            fix.set_delay_ms(w[1] == "*" ? "" : session(w[1]), count(2));
            return "OK";
        }
        if (cmd == "drop") {
            need(1);
            fix.drop_next(session(w[1]), count(2));
            return "OK";
        }
        if (cmd == "dup") {
            need(1);
            fix.duplicate_next(session(w[1]), count(2));
            return "OK";
        }
        if (cmd == "gap") {
            need(1);
            fix.gap_next(session(w[1]), count(2));
            return "OK";
        }
        if (cmd == "lose") {
            need(1);
            fix.lose_next(session(w[1]), count(2));
            return "OK";
        }
        if (cmd == "cut") {
            need(1);
            fix.cut_before_next(session(w[1]), count(2));
            return "OK";
        }
        if (cmd == "disconnect") {
            need(1);
            return fix.disconnect(session(w[1])) ? "OK" : "ERR UNKNOWN_SESSION no such session";
        }
        if (cmd == "logout") {
            need(1);
            std::string text;
            for (size_t i = 2; i < w.size(); ++i) text += (i > 2 ? " " : "") + w[i];
            return fix.logout(session(w[1]), text) ? "OK" : "ERR NOT_LOGGED_ON no logon to end";
        }
        return "ERR UNKNOWN_COMMAND " + cmd;
    } catch (const ControlError& e) {
        return "ERR " + e.code + " " + e.what();
    } catch (const std::exception& e) {
        return std::string("ERR INTERNAL ") + e.what();
    }
}

}  // namespace

int main(int argc, char** argv) {
    int port = -1, control_port = 0, delay_ms = 0;
    std::string data_dir = "fix-venue-data", comp_id = "VENUE", dump_path;
    std::vector<std::string> session_args, profile_args;
    EngineConfig ec;
    TransportConfig tc;
    std::vector<std::string> args(argv + 1, argv + argc);
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) usage_error(a + " needs a value");
            return args[++i];
        };
        if (a == "--help" || a == "-h") {
            std::cout << kUsage;
            return 0;
        } else if (a == "--port")
            port = int_arg(value(), a);
        else if (a == "--control-port")
            control_port = int_arg(value(), a);
        else if (a == "--data-dir")
            data_dir = value();
        else if (a == "--comp-id")
            comp_id = value();
        else if (a == "--session")
            session_args.push_back(value());
        else if (a == "--symbol")
            ec.symbols.insert(value());
        else if (a == "--firm") {
            std::string v = value();
            auto eq = v.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
                usage_error("--firm wants NAME=CLIENT[,CLIENT...]");
            for (const auto& client : split(v.substr(eq + 1), ','))
                ec.firms[client] = v.substr(0, eq);
        } else if (a == "--price") {
            std::string v = value();
            auto eq = v.find('=');
            if (eq == std::string::npos || eq == 0) usage_error("--price wants SYM=PX");
            ec.prices[v.substr(0, eq)] = decimal_arg(v.substr(eq + 1), a);
        } else if (a == "--lp-slice")
            ec.lp_slice = decimal_arg(value(), a);
        else if (a == "--lp-depth")
            ec.lp_depth = decimal_arg(value(), a);
        else if (a == "--profile")
            profile_args.push_back(value());
        else if (a == "--delay-ms")
            delay_ms = int_arg(value(), a);
        else if (a == "--session-start") {
            tc.session_start = value();
            int h = 0, m = 0, sec = 0;
            char tail = 0;
            if (tc.session_start.size() != 8 ||
                std::sscanf(tc.session_start.c_str(), "%2d:%2d:%2d%c", &h, &m, &sec, &tail) != 3 ||
                h > 23 || m > 59 || sec > 59)
                usage_error("--session-start wants HH:MM:SS (UTC)");
        } else if (a == "--reset-on-logon")
            tc.reset_on_logon = true;
        else if (a == "--no-message-log")
            tc.message_log = false;
        else if (a == "--dump")
            dump_path = value();
        else
            usage_error("unknown option " + a);
    }
    if (port <= 0 || port > 65535) usage_error("--port is required");
    if (control_port > 65535) usage_error("--control-port out of range");
    if (session_args.empty()) usage_error("at least one --session is required");
    for (const auto& s : session_args) {
        auto parts = split(s, ':');
        if (parts.size() < 2 || parts.size() > 3 ||
            (parts[0] != "FIX.4.2" && parts[0] != "FIX.4.4"))
            usage_error("--session wants FIX.4.2:CLIENT or FIX.4.4:CLIENT[:VENUE], not " + s);
        tc.sessions.push_back({parts[0], parts.size() == 3 ? parts[2] : comp_id, parts[1]});
    }
    tc.port = port;
    tc.data_dir = data_dir;
    // IDs carry the start time so that a restarted venue never repeats an ExecID a client
    // already holds (the book itself lives in memory).
    ec.run_id = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());

    // Every thread started below inherits this mask: SIGTERM/SIGINT reach sigwait() only.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    // The venue sends through the transport, the transport delivers to the venue.
    FixTransport* transport = nullptr;
    Venue venue(ec, [&transport](std::vector<OutMessage> out) { transport->send(std::move(out)); });
    Handler handler(venue);
    FixTransport fix(tc, handler);
    transport = &fix;
    for (const auto& p : profile_args) {
        auto eq = p.find('=');
        if (eq == std::string::npos) usage_error("--profile wants SESSION=FLAG[,FLAG]");
        std::string id = fix.resolve(p.substr(0, eq));
        if (id.empty()) usage_error("--profile names no single session: " + p);
        for (const auto& flag : split(p.substr(eq + 1), ',')) {
            try {
                venue.set_profile(id, flag, true);
            } catch (const ControlError& e) {
                usage_error(e.what());
            }
        }
    }
    if (delay_ms > 0) fix.set_delay_ms("", delay_ms);
    ControlServer ctl([&](const std::string& line) { return control(line, venue, fix); });
    uint16_t ctl_port = 0;
    try {
        fix.start();
        ctl_port = ctl.start(static_cast<uint16_t>(control_port));
    } catch (const std::exception& e) {
        std::cerr << "ordergate-fix-venue: " << e.what() << std::endl;
        return 1;
    }
    std::cout << "fix-venue ready port=" << port << " control=" << ctl_port << std::endl;

    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "fix-venue: event=stopping signal=" << sig << std::endl;
    ctl.stop();
    fix.stop();
    if (!dump_path.empty() && !write_file(dump_path, venue.dump_json())) {
        std::cerr << "ordergate-fix-venue: cannot write " << dump_path << std::endl;
        return 1;
    }
    return 0;
}
