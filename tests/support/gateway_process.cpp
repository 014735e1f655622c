#include "gateway_process.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ordergate::testing {

std::string gateway_binary() { return OG_GATEWAY_BIN; }
std::string plugin_dir() { return OG_PLUGIN_DIR; }
std::string source_dir() { return OG_SOURCE_DIR; }

std::string HttpResult::header(const std::string& name) const {
    std::string k;
    for (char c : name) k.push_back(static_cast<char>(tolower(static_cast<unsigned char>(c))));
    auto it = headers.find(k);
    return it == headers.end() ? std::string() : it->second;
}

json::Value HttpResult::json() const {
    json::Value v;
    std::string why;
    if (!json::parse(body, &v, &why)) return json::Value();
    return v;
}

std::string field(const json::Value& v, const std::string& path) {
    const json::Value* cur = &v;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t dot = path.find('.', pos);
        if (dot == std::string::npos) dot = path.size();
        cur = cur->find(path.substr(pos, dot - pos));
        if (!cur) return "";
        pos = dot + 1;
    }
    if (cur->is_string() || cur->is_number()) return cur->text();
    if (cur->is_bool()) return cur->as_bool() ? "true" : "false";
    if (cur->is_null()) return "null";
    std::string s;
    cur->serialize(&s);
    return s;
}

HttpResult http(uint16_t port, const std::string& method, const std::string& path,
                const std::string& body,
                const std::vector<std::pair<std::string, std::string>>& headers) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    bool has_type = false;
    for (const auto& [k, v] : headers) {
        req.set(k, v);
        if (strcasecmp(k.c_str(), "content-type") == 0) has_type = true;
    }
    if (!body.empty() || method == "POST" || method == "PUT") {
        req.setContentLength64(static_cast<Poco::Int64>(body.size()));
        (void)has_type;
    }
    std::ostream& out = session.sendRequest(req);
    out << body;
    Poco::Net::HTTPResponse res;
    std::istream& in = session.receiveResponse(res);
    HttpResult r;
    r.status = static_cast<int>(res.getStatus());
    Poco::StreamCopier::copyToString(in, r.body);
    for (const auto& h : res) {
        std::string k;
        for (char c : h.first) k.push_back(static_cast<char>(tolower(static_cast<unsigned char>(c))));
        r.headers[k] = h.second;
    }
    return r;
}

std::vector<std::pair<std::string, std::string>> json_headers(const std::string& key) {
    std::vector<std::pair<std::string, std::string>> h = {{"Content-Type", "application/json"}};
    if (!key.empty()) h.emplace_back("Idempotency-Key", key);
    return h;
}

uint16_t free_port() {
    Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
    return s.address().port();
}

std::string make_owned_temp_dir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + ".XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    return buf.data();
}

namespace {

// The directories make_temp_dir handed out, removed at the end of a test program whose tests
// all passed (a run of the suite would otherwise leave thousands behind in /tmp).
class TempDirs final : public ::testing::EmptyTestEventListener {
public:
    static TempDirs& instance() {
        static TempDirs* dirs = [] {
            auto* d = new TempDirs;
            ::testing::UnitTest::GetInstance()->listeners().Append(d);  // owned by gtest
            return d;
        }();
        return *dirs;
    }
    void add(const std::string& dir) {
        std::lock_guard lock(mutex_);
        dirs_.push_back(dir);
    }
    void OnTestProgramEnd(const ::testing::UnitTest& unit) override {
        std::lock_guard lock(mutex_);
        for (const auto& dir : dirs_) {
            if (!unit.Passed()) {
                std::fprintf(stderr, "kept for a look: %s\n", dir.c_str());
                continue;
            }
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
        dirs_.clear();
    }

private:
    std::mutex mutex_;
    std::vector<std::string> dirs_;
};

}  // namespace

std::string make_temp_dir(const std::string& prefix) {
    std::string dir = make_owned_temp_dir(prefix);
    TempDirs::instance().add(dir);
    return dir;
}

GatewayProcess::GatewayProcess(GatewayOptions options) : options_(std::move(options)) {
    data_dir_ = options_.data_dir.empty() ? make_temp_dir("og-it") : options_.data_dir;
    log_path_ = data_dir_ + "/gateway.log";
    // free_port()'s port is free when chosen, but another process (or an outgoing connection's
    // ephemeral port) may take it before the gateway binds: then the gateway refuses to start
    // and is started again on another port. A port the test chose itself is never retried.
    const bool own_port = options_.env.count("PORT") == 0;
    for (int attempt = 1;; ++attempt) {
        port_ = free_port();
        spawn();
        if (!options_.expect_start) return;
        try {
            wait_healthy();
            return;
        } catch (const std::runtime_error&) {
            const bool port_taken = pid_ == -1 &&
                log().find("cannot listen on 127.0.0.1:" + std::to_string(port_)) !=
                    std::string::npos;
            if (!own_port || !port_taken || attempt == 3) throw;
        }
    }
}

void GatewayProcess::spawn() {

    // Everything the child needs is built before fork(): tests start gateways from several
    // threads, and after fork() only async-signal-safe calls are allowed (a malloc lock held by
    // another thread at fork time would hang the child).
    std::map<std::string, std::string> env_map;
    for (char** e = environ; *e; ++e) {
        std::string kv(*e);
        const auto eq = kv.find('=');
        if (eq != std::string::npos) env_map[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    env_map["PORT"] = std::to_string(port_);
    env_map["OG_DATA_DIR"] = data_dir_;
    env_map["OG_PLUGIN_DIR"] = plugin_dir();
    for (const auto& [k, v] : options_.env) env_map[k] = v;
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env_map) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& kv : env_strings) envp.push_back(kv.data());
    envp.push_back(nullptr);
    std::string bin = gateway_binary();
    std::string serve = "serve", flag = "--config", config = options_.config;
    std::vector<std::string> extra = options_.args;
    std::vector<char*> argv = {bin.data(), serve.data(), flag.data(), config.data()};
    for (auto& a : extra) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("cannot open " + log_path_);

    pid_ = fork();
    if (pid_ < 0) {
        ::close(log_fd);
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        // Nothing else of the test process may leak into the gateway: a listening socket another
        // thread held at fork time would otherwise stay open, unaccepted, for the gateway's life.
        ::close_range(3, ~0U, 0);
        execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    ::close(log_fd);
}

void GatewayProcess::wait_healthy() {
    auto deadline = std::chrono::steady_clock::now() + options_.startup_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("gateway exited during start-up:\n" + log());
        }
        try {
            if (http(port_, "GET", "/health").status == 200) {
                wait_reconciled(deadline);
                return;
            }
        } catch (const std::exception&) {
            // not listening yet
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill_hard();
    throw std::runtime_error("gateway did not answer /health in time:\n" + log());
}

void GatewayProcess::wait_reconciled(std::chrono::steady_clock::time_point deadline) {
    // As a readiness probe would: the start-up reconciliation is done when /health/ready stops
    // naming it down. Whatever else /health/ready says is the test's business (a test may start
    // a gateway whose Redis is down), as is a /health/ready that needs a token.
    while (std::chrono::steady_clock::now() < deadline) {
        HttpResult r;
        try {
            r = http(port_, "GET", "/health/ready");
        } catch (const std::exception&) {
            return;  // gone: the test finds out
        }
        if (r.status != 503 ||
            r.body.find("\"component\":\"reconciliation\",\"status\":\"down\"") ==
                std::string::npos)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

GatewayProcess::~GatewayProcess() {
    if (pid_ > 0) stop(std::chrono::seconds(10));
}

int GatewayProcess::stop(std::chrono::seconds timeout) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int code = wait_exit(timeout);
    if (code == -1 && pid_ > 0) kill_hard();
    return code;
}

int GatewayProcess::wait_exit(std::chrono::seconds timeout) {
    if (pid_ <= 0) return -1;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
}

void GatewayProcess::kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string GatewayProcess::log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > 8000 ? s.substr(s.size() - 8000) : s;
}

std::vector<std::string> GatewayProcess::thread_names() const {
    std::vector<std::string> names;
    const std::string tasks = "/proc/" + std::to_string(pid_) + "/task";
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator(tasks, ec)) {
        std::ifstream in(t.path() / "comm");
        std::string name;
        if (std::getline(in, name)) names.push_back(name);
    }
    return names;
}

}  // namespace ordergate::testing
