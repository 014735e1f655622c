#include "services.hpp"

#include <libpq-fe.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "gateway_process.hpp"

namespace ordergate::testing {

namespace {

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out.push_back(c);
    }
    return out + "'";
}

std::string env_value(const std::string& file, const std::string& key) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
    return "";
}

// Private shared services for a test binary run outside ctest; stopped at exit.
struct OwnServices {
    std::unique_ptr<PrivateServices> services;
    ServiceUrls urls;
};

}  // namespace

int run_shell(const std::string& command, std::string* output) {
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p) throw std::runtime_error("popen failed: " + command);
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = ::pclose(p);
    if (output) *output = out;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const ServiceUrls& shared_services() {
    static std::once_flag once;
    static ServiceUrls urls;
    static OwnServices own;
    std::call_once(once, [] {
        const char* file = std::getenv("OG_SERVICES_ENV");
        if (file && *file) {
            urls.database_url = env_value(file, "DATABASE_URL");
            urls.redis_url = env_value(file, "REDIS_URL");
            if (urls.database_url.empty() || urls.redis_url.empty())
                throw std::runtime_error(std::string("no DATABASE_URL/REDIS_URL in ") + file +
                                         " (did the services.start fixture run?)");
            return;
        }
        own.services = std::make_unique<PrivateServices>("og-services");
        urls.database_url = own.services->start_postgres();
        urls.redis_url = own.services->start_redis();
    });
    return urls;
}

PrivateServices::PrivateServices(const std::string& prefix)
    : dir_(make_owned_temp_dir(prefix)) {  // removed by the destructor, after the services stop
    // mkdtemp makes it 0700; PostgreSQL runs as `postgres` when the tests run as root.
    if (::chmod(dir_.c_str(), 0755) != 0) throw std::runtime_error("chmod failed: " + dir_);
}

PrivateServices::~PrivateServices() {
    std::string out;
    int failed = 0;
    if (redis_)
        failed |= run_shell(source_dir() + "/scripts/redis-test.sh stop " + quote(dir_), &out);
    if (postgres_)
        failed |= run_shell(source_dir() + "/scripts/pg-test.sh stop " + quote(dir_), &out);
    if (failed != 0) {
        std::fprintf(stderr, "PrivateServices: stopping the services in %s failed:\n%s\n",
                     dir_.c_str(), out.c_str());
        return;  // kept for a look
    }
    run_shell("rm -rf " + quote(dir_), &out);
}

void PrivateServices::script(const std::string& name, const std::string& command) {
    std::string out;
    std::string cmd = source_dir() + "/scripts/" + name + " " + command + " " + quote(dir_);
    if (run_shell(cmd, &out) != 0) throw std::runtime_error(cmd + " failed:\n" + out);
}

std::string PrivateServices::read_env(const std::string& file, const std::string& key) const {
    std::string v = env_value(dir_ + "/" + file, key);
    if (v.empty()) throw std::runtime_error("no " + key + " in " + dir_ + "/" + file);
    return v;
}

std::string PrivateServices::start_postgres() {
    postgres_ = true;
    script("pg-test.sh", "start");
    return read_env("pg.env", "DATABASE_URL");
}

std::string PrivateServices::start_redis() {
    redis_ = true;
    script("redis-test.sh", "start");
    return read_env("redis.env", "REDIS_URL");
}

void PrivateServices::postgres_down() { script("pg-test.sh", "down"); }
void PrivateServices::postgres_up() { script("pg-test.sh", "up"); }
void PrivateServices::kill_redis() { script("redis-test.sh", "kill"); }
void PrivateServices::restart_redis() { script("redis-test.sh", "restart"); }

PgSession::PgSession(const std::string& url) {
    PGconn* c = PQconnectdb(url.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
        std::string why = PQerrorMessage(c);
        PQfinish(c);
        throw std::runtime_error("cannot connect to PostgreSQL: " + why);
    }
    conn_ = c;
    query("SET client_min_messages = warning");
}

PgSession::~PgSession() { PQfinish(static_cast<PGconn*>(conn_)); }

std::vector<std::vector<std::string>> PgSession::query(const std::string& sql) {
    PGconn* c = static_cast<PGconn*>(conn_);
    if (PQsendQuery(c, sql.c_str()) != 1)
        throw std::runtime_error("query failed: " + std::string(PQerrorMessage(c)));
    std::vector<std::vector<std::string>> rows;
    std::string error;
    while (PGresult* r = PQgetResult(c)) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK) {
            rows.clear();
            for (int i = 0; i < PQntuples(r); ++i) {
                std::vector<std::string> row;
                for (int j = 0; j < PQnfields(r); ++j)
                    row.emplace_back(PQgetvalue(r, i, j), PQgetlength(r, i, j));
                rows.push_back(std::move(row));
            }
        } else if (st != PGRES_COMMAND_OK && error.empty()) {
            error = PQresultErrorMessage(r);
        }
        PQclear(r);
    }
    if (!error.empty()) throw std::runtime_error("query failed: " + error + "  SQL: " + sql);
    return rows;
}

std::string PgSession::scalar(const std::string& sql) {
    auto rows = query(sql);
    return rows.empty() || rows[0].empty() ? std::string() : rows[0][0];
}

}  // namespace ordergate::testing
