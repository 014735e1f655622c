// og_bench_floor: the floors bench/bench.sh measures the gateway against. The same HTTP stack as
// the gateway (Poco HTTPServer, one thread per keep-alive connection) and nothing of the order
// path beyond what each floor names:
//
//   og_bench_floor PORT http
//       reads the request body and answers a fixed 201 JSON (the HTTP floor);
//   og_bench_floor PORT durable DATABASE_URL REDIS_HOST REDIS_PORT
//       per order: Redis SET key NX EX (claims the Idempotency-Key), PostgreSQL transaction
//       {insert the order, insert its PENDING_NEW event}, a simulated broker ack, transaction
//       {mark the order OPEN with the broker's id, insert its OPEN event}, Redis SET of the answer,
//       201 (the durable floor: two synchronous commits per order, one request at a time per
//       connection). Tables: bench/schema.sql.
//
// GET /health answers 200. Stops on SIGTERM/SIGINT. Bench code: errors go to stderr and the
// request answers 503; nothing here is part of the gateway.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Redis/Client.h>
#include <Poco/Redis/Command.h>
#include <libpq-fe.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <istream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Settings {
    bool durable = false;
    std::string database_url;
    std::string redis_host;
    int redis_port = 0;
};
Settings g_settings;  // written once in main before the server starts, read-only afterwards

// The string value of "name" in a flat JSON object, or "" (the bench's bodies only: no escapes).
std::string json_string(std::string_view body, std::string_view name) {
    const std::string quoted = "\"" + std::string(name) + "\"";
    auto at = body.find(quoted);
    if (at == std::string_view::npos) return {};
    at = body.find(':', at + quoted.size());
    if (at == std::string_view::npos) return {};
    const auto open = body.find('"', at + 1);
    if (open == std::string_view::npos) return {};
    const auto close = body.find('"', open + 1);
    if (close == std::string_view::npos) return {};
    return std::string(body.substr(open + 1, close - open - 1));
}

// One PostgreSQL and one Redis connection, owned by one server thread.
class Backend {
public:
    Backend() : pg_(PQconnectdb(g_settings.database_url.c_str()), &PQfinish) {
        if (PQstatus(pg_.get()) != CONNECTION_OK) fail("connect");
        prepare("place",
                "WITH o AS (INSERT INTO order_service.orders"
                " (client_order_id, account_id, symbol, side, quantity, price, status)"
                " VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, 'PENDING_NEW') RETURNING id)"
                " INSERT INTO order_service.order_events (order_id, status, source)"
                " SELECT id, 'PENDING_NEW', 'api' FROM o RETURNING order_id",
                6);
        prepare("ack",
                "WITH u AS (UPDATE order_service.orders SET status = 'OPEN',"
                " broker_order_id = $2, updated_at = now() WHERE id = $1 RETURNING id)"
                " INSERT INTO order_service.order_events (order_id, status, source)"
                " SELECT id, 'OPEN', 'broker' FROM u",
                2);
        redis_.connect(g_settings.redis_host, g_settings.redis_port);
    }

    // Each statement runs as its own transaction (autocommit): one commit per call.
    std::string run(const char* name, const std::vector<std::string>& args) {
        std::vector<const char*> values;
        values.reserve(args.size());
        for (const auto& a : args) values.push_back(a.c_str());
        std::unique_ptr<PGresult, decltype(&PQclear)> res(
            PQexecPrepared(pg_.get(), name, static_cast<int>(values.size()), values.data(), nullptr,
                           nullptr, 0),
            &PQclear);
        const auto status = PQresultStatus(res.get());
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) fail(name);
        if (status == PGRES_TUPLES_OK && PQntuples(res.get()) > 0) return PQgetvalue(res.get(), 0, 0);
        return {};
    }

    // SET key value [NX] EX ttl, built from strings: Poco 1.11's Command::set sends the expiry as
    // a RESP integer, which Redis refuses. True when Redis stored the value ("+OK").
    bool set(const std::string& key, const std::string& value, bool only_new) {
        Poco::Redis::Command cmd("SET");
        cmd << key << value;
        if (only_new) cmd << "NX";
        cmd << "EX" << "86400";
        return redis_.sendCommand(cmd)->isSimpleString();
    }

private:
    void prepare(const char* name, const char* sql, int params) {
        std::unique_ptr<PGresult, decltype(&PQclear)> res(
            PQprepare(pg_.get(), name, sql, params, nullptr), &PQclear);
        if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) fail(name);
    }
    [[noreturn]] void fail(const char* what) {
        throw std::runtime_error(std::string(what) + ": " + PQerrorMessage(pg_.get()));
    }

    std::unique_ptr<PGconn, decltype(&PQfinish)> pg_;
    Poco::Redis::Client redis_;
};

class OrderHandler : public Poco::Net::HTTPRequestHandler {
public:
    void handleRequest(Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res) override {
        const std::string body(std::istreambuf_iterator<char>(req.stream()), {});
        std::string out;
        if (req.getURI() == "/health") {
            res.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
            out = R"({"status":"ok"})";
        } else if (!g_settings.durable) {
            res.setStatus(Poco::Net::HTTPResponse::HTTP_CREATED);
            out = R"({"id":"1","status":"OPEN","quantity":"10","price":"1500.50"})";
        } else {
            out = place(req, res, body);
        }
        res.setContentType("application/json");
        res.setContentLength(static_cast<std::streamsize>(out.size()));
        res.send() << out;
    }

private:
    static std::string place(Poco::Net::HTTPServerRequest& req,
                             Poco::Net::HTTPServerResponse& res, const std::string& body) {
        try {
            // Poco gives each keep-alive connection its own pooled thread: one backend per thread.
            thread_local std::unique_ptr<Backend> backend;
            if (!backend) backend = std::make_unique<Backend>();
            const std::string key = "idem:" + req.get("Idempotency-Key", "");
            if (!backend->set(key, "inflight", true)) {
                res.setStatus(Poco::Net::HTTPResponse::HTTP_CONFLICT);
                return R"({"code":"IDEMPOTENCY_IN_FLIGHT"})";
            }
            const std::string quantity = json_string(body, "quantity");
            const std::string id = backend->run(
                "place", {json_string(body, "client_order_id"), json_string(body, "account_id"),
                          json_string(body, "symbol"), json_string(body, "side"), quantity,
                          json_string(body, "price")});
            const std::string broker_order_id = "SIM-" + id;  // the simulated broker's ack
            backend->run("ack", {id, broker_order_id});
            std::string out = R"({"id":")" + id + R"(","broker_order_id":")" + broker_order_id +
                              R"(","status":"OPEN","quantity":")" + quantity + R"("})";
            backend->set(key, "201 " + out, false);
            res.setStatus(Poco::Net::HTTPResponse::HTTP_CREATED);
            return out;
        } catch (const std::exception& e) {
            std::cerr << "floor: " << e.what() << "\n";
            res.setStatus(Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
            return R"({"code":"UNAVAILABLE"})";
        }
    }
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new OrderHandler;  // Poco takes ownership
    }
};

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 2 ? argv[2] : "";
    if (mode == "durable" && argc == 6) {
        g_settings = {true, argv[3], argv[4], std::atoi(argv[5])};
    } else if (mode != "http" || argc != 3) {
        std::cerr << "usage: og_bench_floor PORT http\n"
                     "       og_bench_floor PORT durable DATABASE_URL REDIS_HOST REDIS_PORT\n";
        return 2;
    }
    // Block the stop signals before the server's threads start, so only sigwait sees them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(128);  // >= the bench's highest connection count (64)
    params->setMaxQueued(1024);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);  // unlimited, as the gateway
    Poco::Net::ServerSocket socket(
        Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(std::atoi(argv[1]))), 1024);
    Poco::Net::HTTPServer server(new Factory, socket, params);
    server.start();
    int sig = 0;
    sigwait(&stop, &sig);
    server.stop();
    return 0;
}
