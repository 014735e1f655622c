// storage_write_bench — write_batch throughput of a storage plugin loaded through the real
// loader (a benchmark, not a test: it prints figures and never fails on a timing).
//
//   storage_write_bench <plugin.so> [--batches N] [--ops N] [--threads N] [key=value ...]
//
// Each batch inserts `ops` orders (with their first events) into fresh accounts, the shape of the
// host's group commit of order intents. The key=value pairs are the plugin's configuration
// (e.g. path=/tmp/bench.db, or url=postgresql://… schema=bench).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "plugin_loader/plugin_adapters.hpp"
#include "plugin_loader/plugin_loader.hpp"

using namespace ordergate;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s <plugin.so> [--batches N] [--ops N] [--threads N] "
                             "[key=value ...]\n", argv[0]);
        return 2;
    }
    int batches = 1000, per_batch = 20, threads = 1;
    std::vector<std::pair<std::string, std::string>> config;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--batches" && i + 1 < argc) batches = std::atoi(argv[++i]);
        else if (a == "--ops" && i + 1 < argc) per_batch = std::atoi(argv[++i]);
        else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (auto eq = a.find('='); eq != std::string::npos)
            config.emplace_back(a.substr(0, eq), a.substr(eq + 1));
        else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    try {
        auto lib = plugin_loader::load_plugin(argv[1], OG_KIND_STORAGE);
        auto store = lib->create_storage(config);
        store->migrate();
        std::string run = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
        auto make_batch = [&](int t, int b) {
            std::vector<WriteOp> ops;
            ops.reserve(static_cast<size_t>(per_batch));
            for (int k = 0; k < per_batch; ++k) {
                char id[96];
                std::snprintf(id, sizeof id, "ord_%s_%02d_%07d_%03d", run.c_str(), t, b, k);
                WriteOp op;
                op.kind = WriteKind::InsertOrder;
                op.order.id = id;
                op.order.client_order_id = std::string("cid-") + id;
                op.order.broker = "paper";
                op.order.account_id = "ACC-" + std::to_string(k % 8);
                op.order.symbol = "INFY";
                op.order.exchange = "NSE";
                op.order.order_type = OrderType::Limit;
                op.order.quantity = Decimal::must_parse("10");
                op.order.filled_quantity = Decimal::must_parse("0");
                op.order.price = Decimal::must_parse("1500.50");
                op.order.extra_json = "{}";
                op.order.created_at_ns = op.order.updated_at_ns = 1;
                op.order.version = 1;
                op.event.seq = 1;
                op.event.reason = "placed";
                ops.push_back(std::move(op));
            }
            return ops;
        };
        auto start = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) {
            pool.emplace_back([&, t] {
                for (int b = 0; b < batches / threads; ++b) {
                    std::vector<WriteOp> ops = make_batch(t, b);
                    for (Status s : store->write_batch(ops))
                        if (s != Status::Ok) std::abort();
                }
            });
        }
        for (auto& th : pool) th.join();
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        int done = (batches / threads) * threads;
        std::printf("%s: %d batches x %d ops, %d thread(s): %.2f s, %.0f batches/s, %.0f ops/s, "
                    "%.3f ms/batch\n",
                    lib->info().name.c_str(), done, per_batch, threads, secs, done / secs,
                    done * per_batch / secs, secs * 1000.0 / done * threads);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "storage_write_bench: %s\n", e.what());
        return 1;
    }
}
