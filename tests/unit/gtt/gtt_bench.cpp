// Cost of a price tick with many active GTTs on one symbol (not a test):
//   build/bin/gtt_bench [gtts] [ticks]
// Creates `gtts` active SINGLE GTTs on one instrument through GttService (fake storage and
// broker, a real OrderService), half above and half below the last price, then evaluates
// `ticks` prices that wander inside the band without reaching a trigger, and, beside it in the
// same run, the naive alternative: checking every active leg on every tick. Prints ticks per
// second for both.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

#include "fakes.hpp"
#include "gtt/gtt_service.hpp"
#include "positions/position_book.hpp"

using namespace ordergate;

int main(int argc, char** argv) {
    const int gtts = argc > 1 ? std::atoi(argv[1]) : 10000;
    const int ticks = argc > 2 ? std::atoi(argv[2]) : 200000;
    orders::testing::FakeStorage storage;
    orders::testing::FakeBroker broker("paper", OG_CAP_ORDER_MARKET | OG_CAP_TIF_DAY);
    positions::PositionBook book;
    auto clock = std::make_shared<SystemClock>();
    orders::OrderService orders(storage, {{"paper", &broker}}, {{"ACC1", "paper", ""}}, nullptr,
                                &book, nullptr, clock, orders::ServiceOptions{});
    orders.recover();
    gtt::GttService service(storage, orders, {{"paper", &broker}}, clock, gtt::GttOptions{});
    Quote q;
    q.symbol = "AAPL";
    q.exchange = "XNAS";
    q.last = Decimal::must_parse("1000.00");
    q.at_ns = clock->now_ns();
    orders.on_quote("paper", q);
    orders::AccountScope all{true, {}};
    std::vector<Decimal> triggers;
    for (int i = 0; i < gtts; ++i) {
        gtt::GttRequest r;
        r.account_id = "ACC1";
        r.symbol = "AAPL";
        r.exchange = "XNAS";
        gtt::GttLeg leg;
        // 1000.00 ± (10.00 + i/2 cents): prices in 990.01..1009.99 reach no trigger.
        const int64_t cents = 1000 + i / 2;
        leg.trigger_price = i % 2 ? Decimal(100000 + cents, 2) : Decimal(100000 - cents, 2);
        leg.order.side = Side::Sell;
        leg.order.order_type = OrderType::Market;
        leg.order.quantity = Decimal(1, 0);
        leg.order.extra_json = "{}";
        r.legs.push_back(leg);
        triggers.push_back(leg.trigger_price);
        auto g = service.create(r, all, "bench");
        if (!g) {
            std::fprintf(stderr, "create failed: %s\n", g.error().detail.c_str());
            return 1;
        }
    }
    std::printf("active GTTs on one symbol: %zu, armed legs: %zu\n", service.active(),
                service.armed_legs());
    std::vector<Decimal> prices;
    for (int i = 0; i < 1024; ++i) prices.push_back(Decimal(99001 + (i * 37) % 1998, 2));

    auto t0 = std::chrono::steady_clock::now();
    size_t fired = 0;
    for (int i = 0; i < ticks; ++i)
        fired += service.evaluate("AAPL", "XNAS", prices[i % prices.size()], clock->now_ns());
    auto t1 = std::chrono::steady_clock::now();
    const double indexed = ticks / std::chrono::duration<double>(t1 - t0).count();

    // The naive way: every leg compared on every tick (what the index avoids).
    const int scan_ticks = ticks / 100 > 0 ? ticks / 100 : 1;
    size_t crossed_naive = 0;
    const Decimal last = Decimal::must_parse("1000.00");
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < scan_ticks; ++i) {
        const Decimal& p = prices[i % prices.size()];
        for (const Decimal& t : triggers) crossed_naive += t > last ? (p >= t) : (p <= t);
    }
    t1 = std::chrono::steady_clock::now();
    const double naive = scan_ticks / std::chrono::duration<double>(t1 - t0).count();
    std::printf("indexed (GttService::evaluate): %.0f ticks/s over %d ticks, fired %zu\n", indexed,
                ticks, fired);
    std::printf("naive scan of every leg:        %.0f ticks/s over %d ticks, crossed %zu\n", naive,
                scan_ticks, crossed_naive);
    return fired == 0 && crossed_naive == 0 ? 0 : 1;
}
