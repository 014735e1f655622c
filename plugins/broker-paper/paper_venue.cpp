#include "paper_venue.hpp"

#include <algorithm>
#include <charconv>
#include <thread>
#include <utility>

namespace ordergate::paper {

namespace {

constexpr const char* kJournalFormat = "ordergate-paper-journal";
constexpr const char* kJournalVersion = "1";
constexpr int32_t kAverageScale = 8;

[[noreturn]] void fail(Status status, const std::string& message) {
    throw VenueError(status, message);
}

std::string order_id_text(uint64_t n) { return "P-" + std::to_string(n); }
std::string trade_id_text(uint64_t n) { return "PT-" + std::to_string(n); }

// Page cursors (ABI 1.3): the number of the last order / trade a page gave, behind a prefix that
// keeps an order cursor from being taken for a fill cursor.
constexpr std::string_view kOrderCursor = "o:";
constexpr std::string_view kFillCursor = "t:";

// "P-12" -> 12 for prefix "P-"; 0 when it is not such an id.
uint64_t parse_numbered_id(const std::string& id, std::string_view prefix) {
    if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0) return 0;
    uint64_t n = 0;
    const char* first = id.data() + prefix.size();
    const char* last = id.data() + id.size();
    auto [p, ec] = std::from_chars(first, last, n);
    if (ec != std::errc() || p != last) return 0;
    return n;
}

// What is still working at the venue: the unfilled quantity while live, nothing once terminal.
void refresh_leaves(OrderReport& r) {
    r.leaves_quantity = is_terminal(r.status) ? Decimal() : r.quantity - r.filled_quantity;
}

// Fills `page` from the items [it, end) that `keep` accepts, at most `limit` of them (0: all);
// when one more would follow, the next cursor names the number of the last one given.
template <typename It, typename Number, typename Item, typename Keep, typename T>
void fill_page(It it, It end, Number number, Item item, Keep keep, uint32_t limit,
               std::string_view prefix, ReportPage<T>& page) {
    uint64_t last = 0;
    for (; it != end; ++it) {
        const T& value = item(*it);
        if (!keep(value)) continue;
        if (limit != 0 && page.items.size() == limit) {
            page.next_cursor = std::string(prefix) + std::to_string(last);
            return;
        }
        page.items.push_back(value);
        last = number(*it);
    }
}

bool is_limit_like(OrderType t) { return t == OrderType::Limit || t == OrderType::StopLimit; }
bool is_stop_like(OrderType t) { return t == OrderType::Stop || t == OrderType::StopLimit; }

std::string decimal_text(const std::optional<Decimal>& d) { return d ? d->to_string() : ""; }

// ---- journal field readers ----

Decimal read_decimal(const JournalRecord& r, std::string_view key) {
    const std::string& v = r.at(key);
    Decimal d;
    std::string why;
    Decimal::ParseOptions opts;
    opts.max_digits = 19;
    opts.max_scale = Decimal::kMaxScale;
    if (!Decimal::parse(v, &d, &why, opts))
        throw JournalError("journal record '" + r.type + "' key '" + std::string(key) + "': '" + v +
                           "' " + why);
    return d;
}

std::optional<Decimal> read_opt_decimal(const JournalRecord& r, std::string_view key) {
    const std::string* v = r.find(key);
    if (v == nullptr || v->empty()) return std::nullopt;
    return read_decimal(r, key);
}

template <typename Int>
Int read_int(const JournalRecord& r, std::string_view key) {
    const std::string& v = r.at(key);
    Int n{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size())
        throw JournalError("journal record '" + r.type + "' key '" + std::string(key) + "': '" + v +
                           "' is not an integer");
    return n;
}

template <typename E>
E read_enum(const JournalRecord& r, std::string_view key, bool (*parse)(std::string_view, E*)) {
    E e{};
    const std::string& v = r.at(key);
    if (!parse(v, &e))
        throw JournalError("journal record '" + r.type + "' key '" + std::string(key) +
                           "': unknown value '" + v + "'");
    return e;
}

void check_ratio(const Decimal& d, const char* key, bool allow_one) {
    if (d.is_negative() || d > Decimal::from_int(1) || (!allow_one && d == Decimal::from_int(1)))
        fail(Status::InvalidArgument, std::string("config key '") + key + "': " + d.to_string() +
                                          " is outside [0, 1" + (allow_one ? "]" : ")"));
}

}  // namespace

// ---- EventQueue
// ----------------------------------------------------------------------------------

namespace {
thread_local const EventQueue* held_queue = nullptr;  // the queue a Hold of this thread holds
}  // namespace

EventQueue::Hold::Hold(EventQueue& q) : previous_(held_queue) { held_queue = &q; }

EventQueue::Hold::~Hold() { held_queue = previous_; }

void EventQueue::push(VenueEvent&& event) {
    const bool held = held_queue == this;
    {
        std::lock_guard lock(mu_);
        events_.push_back(std::move(event));
        if (held) ++held_pending_;
    }
    if (!held) cv_.notify_one();
}

VenueEvents EventQueue::take_all() {
    VenueEvents out;
    {
        std::lock_guard lock(mu_);
        out.swap(events_);
        held_pending_ = 0;
    }
    taken_.notify_all();
    return out;
}

VenueEvents EventQueue::take_unheld() {
    VenueEvents out;
    {
        std::lock_guard lock(mu_);
        if (held_pending_ > 0) return out;
        out.swap(events_);
    }
    taken_.notify_all();
    return out;
}

VenueEvents EventQueue::wait_take(std::chrono::steady_clock::time_point deadline) {
    VenueEvents out;
    {
        std::unique_lock lock(mu_);
        cv_.wait_until(lock, deadline, [this] { return woken_ || !events_.empty(); });
        woken_ = false;
        out.swap(events_);
        held_pending_ = 0;
    }
    taken_.notify_all();
    return out;
}

void EventQueue::wait_ready(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline,
                   [this] { return woken_ || (!events_.empty() && held_pending_ == 0); });
    woken_ = false;
}

bool EventQueue::wait_below(size_t limit, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return taken_.wait_until(lock, deadline, [&] { return events_.size() < limit; });
}

void EventQueue::wake() {
    {
        std::lock_guard lock(mu_);
        woken_ = true;
    }
    cv_.notify_all();
}

// ---- construction ----------------------------------------------------------------------------

PaperVenue::PaperVenue(VenueConfig config, VenueEnv env)
    : config_(std::move(config)), env_(std::move(env)) {
    const VenueConfig& c = config_;
    if (c.accounts.empty()) fail(Status::InvalidArgument, "config key 'accounts': no account");
    std::set<std::string> seen;
    for (const auto& a : c.accounts) {
        if (a.empty()) fail(Status::InvalidArgument, "config key 'accounts': empty account id");
        if (!seen.insert(a).second)
            fail(Status::InvalidArgument, "config key 'accounts': '" + a + "' is listed twice");
    }
    if (c.initial_cash.is_negative())
        fail(Status::InvalidArgument, "config key 'initial_cash': must not be negative");
    if (c.currency.empty()) fail(Status::InvalidArgument, "config key 'currency': empty");
    if (!c.tick_size.is_positive())
        fail(Status::InvalidArgument, "config key 'tick_size': must be positive");
    if (!c.initial_price.is_positive() || !on_grid(c.initial_price))
        fail(Status::InvalidArgument, "config key 'initial_price': " + c.initial_price.to_string() +
                                          " must be positive and a multiple of tick_size " +
                                          c.tick_size.to_string());
    for (const auto& [sym, price] : c.prices) {
        if (sym.empty()) fail(Status::InvalidArgument, "config key 'prices.': empty symbol");
        if (!price.is_positive() || !on_grid(price))
            fail(Status::InvalidArgument, "config key 'prices." + sym + "': " + price.to_string() +
                                              " must be positive and a multiple of tick_size " +
                                              c.tick_size.to_string());
    }
    if (c.max_steps_per_tick < 0 || c.max_steps_per_tick > 1000000)
        fail(Status::InvalidArgument, "config key 'max_steps_per_tick': must be in [0, 1000000]");
    check_ratio(c.partial_fill_ratio, "partial_fill_ratio", true);
    if (c.max_fill_per_tick.is_negative())
        fail(Status::InvalidArgument, "config key 'max_fill_per_tick': must not be negative");
    if (c.fee_per_fill.is_negative())
        fail(Status::InvalidArgument, "config key 'fee_per_fill': must not be negative");
    if (c.fee_rate.is_negative())
        fail(Status::InvalidArgument, "config key 'fee_rate': must not be negative");
    if (c.send_delay.count() < 0)
        fail(Status::InvalidArgument, "config key 'send_delay_ms': must not be negative");
    if (c.latency.count() < 0)
        fail(Status::InvalidArgument, "config key 'latency_ms': must not be negative");
    check_ratio(c.fault.reject_ratio, "fault.reject_ratio", true);
    check_ratio(c.fault.timeout_before_send_ratio, "fault.timeout_before_send_ratio", true);
    check_ratio(c.fault.timeout_after_send_ratio, "fault.timeout_after_send_ratio", true);
    if (c.journal_snapshot_ticks < 1)
        fail(Status::InvalidArgument, "config key 'journal_snapshot_ticks': must be at least 1");

    fault_rng_ = SplitMix64::for_faults(c.seed);
    disconnected_ = c.fault.disconnect;
    if (c.first_id < 1) fail(Status::InvalidArgument, "config key 'first_id': must be at least 1");
    next_order_ = next_trade_ = next_gtt_ = c.first_id;

    if (!c.journal_path.empty()) {
        try {
            // Forgetting as it goes keeps a long journal from sitting in memory whole.
            constexpr uint64_t kForgetEvery = 4096;
            uint64_t replayed = 0;
            auto replay_one = [this, &replayed](const JournalRecord& r, uint64_t offset) {
                try {
                    replay_offset_ = offset;
                    replay(r);
                    if (++replayed % kForgetEvery == 0) forget_history_locked();
                } catch (const DecimalError& e) {
                    throw JournalError(std::string("arithmetic failed during replay: ") + e.what());
                }
            };
            if (c.history.count() > 0) {  // keeps_lines() once the journal is open
                order_lines_.create(c.journal_path);
                fill_lines_.create(c.journal_path);
                forgotten_client_ids_.create(c.journal_path);
                forgotten_client_ids_.begin_bulk();
            }
            replaying_ = true;
            journal_.open(c.journal_path, c.journal_fsync, replay_one, env_.warn);
        } catch (const JournalError& e) {
            fail(Status::Internal, std::string("paper venue journal: ") + e.what());
        }
        if (!replay_header_seen_)
            record_locked(JournalRecord{"H", {}}
                              .add("format", kJournalFormat)
                              .add("version", kJournalVersion));
        repair_orders_from_fills();
        replaying_ = false;
        replay_executed_.clear();
        forget_history_locked();
        if (keeps_lines()) index_io_locked([this] { forgotten_client_ids_.end_bulk(); });
        // Replayed orders and positions need their symbols' prices.
        for (const auto& [n, o] : orders_) symbol_locked(o.report.symbol);
        for (const auto& [key, p] : positions_) symbol_locked(std::get<1>(key));
        place_missing_gtt_orders_locked();
    }
    for (const auto& a : c.accounts) {
        if (accounts_.count(a) != 0) continue;
        accounts_[a] = AccountState{c.currency, c.initial_cash};
        if (journal_.is_open())
            record_locked(JournalRecord{"A", {}}
                              .add("id", a)
                              .add("currency", c.currency)
                              .add("cash", c.initial_cash.to_string()));
    }
    VenueEvent ev;
    ev.kind = VenueEvent::Kind::Connection;
    ev.connected = !disconnected_;
    ev.detail =
        disconnected_ ? "paper venue: disconnected by fault.disconnect" : "paper venue: connected";
    events_.push(std::move(ev));
}

PaperVenue::~PaperVenue() {
    try {
        close();
    } catch (const std::exception& e) {
        if (env_.warn) env_.warn(std::string("paper venue: closing failed: ") + e.what());
    }
}

void PaperVenue::close() {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    struct Closer {
        JournalFile& j;
        ~Closer() { j.close(); }
    } closer{journal_};
    if (journal_.is_open() && failed_.empty()) snapshot_locked();
}

// ---- helpers ---------------------------------------------------------------------------------

int64_t PaperVenue::now() const {
    if (env_.now_ns) return env_.now_ns();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void PaperVenue::check_usable_locked() const {
    if (!failed_.empty()) fail(Status::Internal, "paper venue failed: " + failed_);
    if (closed_) fail(Status::Unavailable, "paper venue is closed");
    if (disconnected_) fail(Status::Unavailable, "paper venue is disconnected");
}

bool PaperVenue::draw_locked(const Decimal& ratio) {
    if (ratio.is_zero()) return false;
    return Decimal(fault_rng_.fraction_e9(), 9) < ratio;
}

PaperVenue::FaultDraw PaperVenue::draw_faults_locked(Op op) {
    FaultDraw f;
    f.timeout_before = draw_locked(config_.fault.timeout_before_send_ratio);
    if (op == Op::Place) f.reject = draw_locked(config_.fault.reject_ratio);
    f.timeout_after = draw_locked(config_.fault.timeout_after_send_ratio);
    return f;
}

void PaperVenue::before_send(std::chrono::milliseconds timeout, const char* what) const {
    if (config_.send_delay.count() == 0) return;
    if (timeout.count() > 0 && timeout <= config_.send_delay) {
        if (env_.sleep)
            env_.sleep(timeout);
        else
            std::this_thread::sleep_for(timeout);
        fail(Status::Timeout,
             std::string(what) + ": the deadline of " + std::to_string(timeout.count()) +
                 " ms passed before the request was sent (send_delay_ms " +
                 std::to_string(config_.send_delay.count()) + "); nothing was sent");
    }
    if (env_.sleep)
        env_.sleep(config_.send_delay);
    else
        std::this_thread::sleep_for(config_.send_delay);
}

void PaperVenue::after_send(std::chrono::milliseconds timeout, const char* what) const {
    if (config_.latency.count() == 0) return;
    std::chrono::milliseconds wait = config_.latency;
    bool lost = false;
    if (timeout.count() > 0) {
        std::chrono::milliseconds left = timeout - config_.send_delay;
        if (left <= config_.latency) {
            wait = left.count() > 0 ? left : std::chrono::milliseconds(0);
            lost = true;
        }
    }
    if (env_.sleep)
        env_.sleep(wait);
    else
        std::this_thread::sleep_for(wait);
    if (lost)
        fail(Status::UnknownOutcome, std::string(what) + ": the deadline of " +
                                         std::to_string(timeout.count()) +
                                         " ms passed after the request was sent (latency_ms " +
                                         std::to_string(config_.latency.count()) +
                                         "); it took effect at the venue but its answer was lost");
}

PaperVenue::SymbolState& PaperVenue::symbol_locked(const std::string& symbol) {
    auto it = symbols_.find(symbol);
    if (it != symbols_.end()) return it->second;
    SymbolState s;
    auto p = config_.prices.find(symbol);
    s.last = p != config_.prices.end() ? p->second : config_.initial_price;
    s.rng = SplitMix64::for_symbol(config_.seed, symbol);
    s.at_ns = now();
    return symbols_.emplace(symbol, s).first->second;
}

Quote PaperVenue::quote_locked(const std::string& symbol, const std::string& exchange) {
    const SymbolState& s = symbol_locked(symbol);
    Quote q;
    q.symbol = symbol;
    q.exchange = exchange;
    q.last = s.last;
    Decimal bid = s.last - config_.tick_size;
    if (bid.is_positive()) q.bid = bid;
    q.ask = s.last + config_.tick_size;
    q.at_ns = s.at_ns;
    return q;
}

bool PaperVenue::on_grid(const Decimal& price) const {
    bool inexact = false;
    Decimal::divide(price, config_.tick_size, 0, &inexact);
    return !inexact;
}

void PaperVenue::validate_shape(OrderType type, const std::optional<Decimal>& price,
                                const std::optional<Decimal>& trigger) const {
    const std::string name(to_string(type));
    bool needs_price = is_limit_like(type);
    bool needs_trigger = is_stop_like(type);
    if (needs_price && !price) fail(Status::InvalidArgument, name + " order needs a price");
    if (!needs_price && price)
        fail(Status::InvalidArgument, name + " order must not carry a price");
    if (needs_trigger && !trigger)
        fail(Status::InvalidArgument, name + " order needs a trigger price");
    if (!needs_trigger && trigger)
        fail(Status::InvalidArgument, name + " order must not carry a trigger price");
    if (price && !price->is_positive()) fail(Status::InvalidArgument, "price must be positive");
    if (trigger && !trigger->is_positive())
        fail(Status::InvalidArgument, "trigger price must be positive");
}

Decimal PaperVenue::reference_price_locked(const OrderState& o) {
    const OrderReport& r = o.report;
    if (is_limit_like(r.order_type)) return *r.price;
    if (r.order_type == OrderType::Stop && !o.triggered) return *r.trigger_price;
    return symbol_locked(r.symbol).last;
}

Decimal PaperVenue::reserved_locked(const std::string& account, uint64_t except_number) {
    Decimal total;
    for (uint64_t n : open_) {
        if (n == except_number) continue;
        const OrderState& o = orders_.at(n);
        if (o.report.account_id != account || o.report.side != Side::Buy) continue;
        total += (o.report.quantity - o.report.filled_quantity) * reference_price_locked(o);
    }
    return total;
}

Decimal PaperVenue::margin_locked(const std::string& account) {
    Decimal total;
    for (const auto& [key, p] : positions_) {
        if (std::get<0>(key) != account || !p.quantity.is_negative()) continue;
        total += p.quantity.abs() * symbol_locked(std::get<1>(key)).last;
    }
    return total;
}

Decimal PaperVenue::open_sell_locked(const std::string& account, const std::string& symbol,
                                     const std::string& exchange, uint64_t except_number) {
    Decimal total;
    for (uint64_t n : open_) {
        if (n == except_number) continue;
        const OrderReport& r = orders_.at(n).report;
        if (r.account_id == account && r.symbol == symbol && r.exchange == exchange &&
            r.side == Side::Sell)
            total += r.quantity - r.filled_quantity;
    }
    return total;
}

Account PaperVenue::account_locked(const std::string& account_id) {
    auto it = accounts_.find(account_id);
    if (it == accounts_.end()) fail(Status::NotFound, "unknown account '" + account_id + "'");
    Account a;
    a.account_id = account_id;
    a.currency = it->second.currency;
    a.cash = it->second.cash;
    Decimal holdings;
    for (const auto& [key, p] : positions_) {
        if (std::get<0>(key) != account_id || p.quantity.is_zero()) continue;
        holdings += p.quantity * symbol_locked(std::get<1>(key)).last;
    }
    a.equity = a.cash + holdings;
    a.margin_used = margin_locked(account_id);
    a.buying_power = a.cash - a.margin_used - reserved_locked(account_id, 0);
    a.status = "ACTIVE";
    a.updated_at_ns = now();
    return a;
}

const PaperVenue::OrderState* PaperVenue::find_locked(const std::string& account_id,
                                                      const std::string& broker_order_id,
                                                      const std::string& client_order_id) const {
    if (!broker_order_id.empty()) {
        auto it = orders_.find(parse_numbered_id(broker_order_id, "P-"));
        if (it == orders_.end() || it->second.report.broker_order_id != broker_order_id)
            return nullptr;
        if (!account_id.empty() && it->second.report.account_id != account_id) return nullptr;
        return &it->second;
    }
    if (!account_id.empty()) {
        auto it = by_client_id_.find({account_id, client_order_id});
        return it == by_client_id_.end() ? nullptr : &orders_.at(it->second);
    }
    const OrderState* found = nullptr;
    for (const auto& [key, n] : by_client_id_) {
        if (key.second != client_order_id) continue;
        if (found != nullptr)
            fail(Status::InvalidArgument, "client order id '" + client_order_id +
                                              "' exists in several accounts; name the account");
        found = &orders_.at(n);
    }
    return found;
}

void PaperVenue::emit_locked(VenueEvent&& event) {
    if (disconnected_ && event.kind != VenueEvent::Kind::Connection) return;
    events_.push(std::move(event));
}

// Hot paths build their record only when a journal is open (`if (journal_.is_open())`): without
// one (the default) an order's records cost more than the rest of the venue's work for it.
uint64_t PaperVenue::record_locked(const JournalRecord& r) {
    if (!journal_.is_open()) return 0;
    try {
        return journal_.append(r);
    } catch (const JournalError& e) {
        failed_ = e.what();
        fail(Status::Internal, std::string("paper venue journal write failed: ") + e.what());
    }
}

JournalRecord PaperVenue::order_record(const OrderState& o, const char* event) const {
    const OrderReport& r = o.report;
    JournalRecord j{"O", {}};
    j.add("ev", event)
        .add("n", std::to_string(o.number))
        .add("cid", r.client_order_id)
        .add("acc", r.account_id)
        .add("sym", r.symbol)
        .add("exch", r.exchange)
        .add("side", std::string(to_string(r.side)))
        .add("type", std::string(to_string(r.order_type)))
        .add("tif", std::string(to_string(r.time_in_force)))
        .add("status", std::string(to_string(r.status)))
        .add("qty", r.quantity.to_string())
        .add("filled", r.filled_quantity.to_string())
        .add("price", decimal_text(r.price))
        .add("trigger", decimal_text(r.trigger_price))
        .add("avg", decimal_text(r.average_fill_price))
        .add("notional", o.notional.to_string())
        .add("reason", r.reject_reason)
        .add("created", std::to_string(o.created_at_ns))
        .add("updated", std::to_string(r.updated_at_ns))
        .add("triggered", o.triggered ? "1" : "0")
        .add("exec", r.exec_id)
        .add("cancel_reject", r.cancel_reject_reason);
    return j;
}

JournalRecord PaperVenue::fill_record(const Fill& f) const {
    JournalRecord j{"F", {}};
    j.add("trade", f.broker_trade_id)
        .add("order", f.broker_order_id)
        .add("cid", f.client_order_id)
        .add("acc", f.account_id)
        .add("sym", f.symbol)
        .add("exch", f.exchange)
        .add("side", std::string(to_string(f.side)))
        .add("qty", f.quantity.to_string())
        .add("price", f.price.to_string())
        .add("fee", f.fee.to_string())
        .add("at", std::to_string(f.executed_at_ns));
    return j;
}

PaperVenue::OrderState PaperVenue::order_from_record(const JournalRecord& r) const {
    OrderState o;
    o.number = read_int<uint64_t>(r, "n");
    if (o.number == 0) throw JournalError("journal order with number 0");
    OrderReport& rep = o.report;
    rep.broker_order_id = order_id_text(o.number);
    rep.client_order_id = r.at("cid");
    rep.account_id = r.at("acc");
    rep.symbol = r.at("sym");
    rep.exchange = r.at("exch");
    rep.side = read_enum<Side>(r, "side", &parse_side);
    rep.order_type = read_enum<OrderType>(r, "type", &parse_order_type);
    rep.time_in_force = read_enum<TimeInForce>(r, "tif", &parse_time_in_force);
    rep.status = read_enum<OrderStatus>(r, "status", &parse_order_status);
    rep.quantity = read_decimal(r, "qty");
    rep.filled_quantity = read_decimal(r, "filled");
    rep.price = read_opt_decimal(r, "price");
    rep.trigger_price = read_opt_decimal(r, "trigger");
    rep.average_fill_price = read_opt_decimal(r, "avg");
    rep.reject_reason = r.at("reason");
    rep.updated_at_ns = read_int<int64_t>(r, "updated");
    o.notional = read_decimal(r, "notional");
    o.created_at_ns = read_int<int64_t>(r, "created");
    o.triggered = r.at("triggered") == "1";
    // Keys added with ABI 1.3's report details; a journal written before has neither.
    if (const std::string* v = r.find("exec")) rep.exec_id = *v;
    if (const std::string* v = r.find("cancel_reject")) rep.cancel_reject_reason = *v;
    refresh_leaves(rep);
    return o;
}

Fill PaperVenue::fill_from_record(const JournalRecord& r) const {
    Fill f;
    f.broker_trade_id = r.at("trade");
    f.broker_order_id = r.at("order");
    f.client_order_id = r.at("cid");
    f.account_id = r.at("acc");
    f.symbol = r.at("sym");
    f.exchange = r.at("exch");
    f.side = read_enum<Side>(r, "side", &parse_side);
    f.quantity = read_decimal(r, "qty");
    f.price = read_decimal(r, "price");
    f.fee = read_decimal(r, "fee");
    f.executed_at_ns = read_int<int64_t>(r, "at");
    return f;
}

// ---- history kept in the journal ----------------------------------------------------------------

namespace {

uint64_t client_id_hash(std::string_view client_order_id) {
    return std::hash<std::string_view>{}(client_order_id);
}

}  // namespace

template <typename F>
auto PaperVenue::index_io_locked(F&& f) const -> decltype(f()) {
    try {
        return f();
    } catch (const JournalError& e) {
        failed_ = e.what();
        fail(Status::Internal, std::string("paper venue history index: ") + e.what());
    }
}

bool PaperVenue::keeps_lines() const {
    return journal_.is_open() && config_.history.count() > 0;
}

uint8_t PaperVenue::account_tag(const std::string& account) const {
    auto it = account_tags_.find(account);
    if (it != account_tags_.end()) return it->second;
    return account_tags_.size() >= RecordLines::kManyAccounts - 1 ? RecordLines::kManyAccounts : 0;
}

uint8_t PaperVenue::tag_account(const std::string& account) {
    if (uint8_t tag = account_tag(account); tag != 0) return tag;
    const auto tag = static_cast<uint8_t>(account_tags_.size() + 1);
    account_tags_.emplace(account, tag);
    return tag;
}

void PaperVenue::journal_order_locked(const OrderState& o, const char* event) {
    if (!journal_.is_open()) return;
    const uint64_t offset = record_locked(order_record(o, event));
    if (keeps_lines()) {
        const uint8_t tag = tag_account(o.report.account_id);
        index_io_locked(
            [&] { order_lines_.note(o.number, tag, o.report.updated_at_ns, offset); });
    }
}

void PaperVenue::journal_fill_locked(const Fill& f, uint64_t trade_number) {
    if (!journal_.is_open()) return;
    const uint64_t offset = record_locked(fill_record(f));
    if (keeps_lines()) {
        const uint8_t tag = tag_account(f.account_id);
        index_io_locked([&] { fill_lines_.note(trade_number, tag, f.executed_at_ns, offset); });
    }
}

std::optional<PaperVenue::OrderState> PaperVenue::read_order_locked(uint64_t number) const {
    uint64_t offset = 0;
    if (!index_io_locked([&] { return order_lines_.get(number, &offset); })) return std::nullopt;
    try {
        OrderState o = order_from_record(journal_.read_at(offset));
        if (o.number != number)
            throw JournalError("the line noted for order " + std::to_string(number) +
                               " is order " + std::to_string(o.number) + "'s");
        return o;
    } catch (const JournalError& e) {
        fail(Status::Internal, std::string("paper venue journal: ") + e.what());
    } catch (const DecimalError& e) {
        fail(Status::Internal, std::string("paper venue journal: ") + e.what());
    }
}

std::optional<Fill> PaperVenue::read_fill_locked(uint64_t number) const {
    uint64_t offset = 0;
    if (!index_io_locked([&] { return fill_lines_.get(number, &offset); })) return std::nullopt;
    try {
        Fill f = fill_from_record(journal_.read_at(offset));
        if (parse_numbered_id(f.broker_trade_id, "PT-") != number)
            throw JournalError("the line noted for trade " + std::to_string(number) + " is " +
                               f.broker_trade_id + "'s");
        return f;
    } catch (const JournalError& e) {
        fail(Status::Internal, std::string("paper venue journal: ") + e.what());
    } catch (const DecimalError& e) {
        fail(Status::Internal, std::string("paper venue journal: ") + e.what());
    }
}

bool PaperVenue::reaches_forgotten(int64_t since_ns) const {
    return forgot_any_ && since_ns < forgotten_before_ns_;
}

const PaperVenue::OrderState* PaperVenue::lookup_locked(const std::string& account_id,
                                                        const std::string& broker_order_id,
                                                        const std::string& client_order_id,
                                                        OrderState* spare) const {
    const OrderState* found = find_locked(account_id, broker_order_id, client_order_id);
    if (!forgot_any_) return found;
    if (!broker_order_id.empty()) {
        if (found != nullptr) return found;
        const uint64_t n = parse_numbered_id(broker_order_id, "P-");
        if (orders_.count(n) != 0) return nullptr;  // in memory: find_locked judged it
        std::optional<OrderState> o = read_order_locked(n);
        if (!o || o->report.broker_order_id != broker_order_id ||
            (!account_id.empty() && o->report.account_id != account_id))
            return nullptr;
        *spare = std::move(*o);
        return spare;
    }
    if (found != nullptr && !account_id.empty()) return found;
    // By client order id among the forgotten orders; with no account named, one found in memory
    // and one forgotten make it ambiguous, as two in memory do.
    for (uint64_t n : forgotten_numbers_locked(client_order_id)) {
        if (orders_.count(n) != 0) continue;  // back in memory: find_locked saw it
        std::optional<OrderState> o = read_order_locked(n);
        if (!o || o->report.client_order_id != client_order_id) continue;
        if (!account_id.empty() && o->report.account_id != account_id) continue;
        if (found != nullptr)
            fail(Status::InvalidArgument, "client order id '" + client_order_id +
                                              "' exists in several accounts; name the account");
        *spare = std::move(*o);
        found = spare;
    }
    return found;
}

PaperVenue::OrderState* PaperVenue::lookup_locked(const std::string& account_id,
                                                  const std::string& broker_order_id,
                                                  const std::string& client_order_id,
                                                  OrderState* spare) {
    const PaperVenue* self = this;
    return const_cast<OrderState*>(
        self->lookup_locked(account_id, broker_order_id, client_order_id, spare));
}

bool PaperVenue::client_id_taken_locked(const std::string& account_id,
                                        const std::string& client_order_id) const {
    if (by_client_id_.count({account_id, client_order_id}) != 0) return true;
    if (!forgot_any_) return false;
    for (uint64_t n : forgotten_numbers_locked(client_order_id)) {
        if (orders_.count(n) != 0) continue;
        std::optional<OrderState> o = read_order_locked(n);
        if (o && o->report.client_order_id == client_order_id &&
            o->report.account_id == account_id)
            return true;
    }
    return false;
}

std::vector<uint64_t> PaperVenue::forgotten_numbers_locked(
    const std::string& client_order_id) const {
    if (!keeps_lines()) return {};
    return index_io_locked(
        [&] { return forgotten_client_ids_.candidates(client_id_hash(client_order_id)); });
}

void PaperVenue::replay(const JournalRecord& r) {
    if (!replay_header_seen_) {
        if (r.type != "H" || r.at("format") != kJournalFormat)
            throw JournalError("not an ordergate paper venue journal (no header line)");
        if (r.at("version") != kJournalVersion)
            throw JournalError("journal version " + r.at("version") +
                               " is not supported (this "
                               "build reads version " +
                               kJournalVersion + ")");
        replay_header_seen_ = true;
        return;
    }
    if (r.type == "A") {
        accounts_[r.at("id")] = AccountState{r.at("currency"), read_decimal(r, "cash")};
    } else if (r.type == "O") {
        OrderState o = order_from_record(r);
        const OrderReport& rep = o.report;
        by_client_id_[{rep.account_id, rep.client_order_id}] = o.number;
        if (keeps_lines())  // a JournalError here stops the start, naming the line
            order_lines_.note(o.number, tag_account(rep.account_id), rep.updated_at_ns,
                              replay_offset_);
        if (is_terminal(rep.status)) {
            open_.erase(o.number);
            retire_locked(o);
            // An ended order whose fills agree with it needs no repair.
            auto e = replay_executed_.find(rep.broker_order_id);
            if (e != replay_executed_.end() && e->second.first == rep.filled_quantity)
                replay_executed_.erase(e);
        } else {
            open_.insert(o.number);
        }
        next_order_ = std::max(next_order_, o.number + 1);
        orders_[o.number] = std::move(o);
    } else if (r.type == "F") {
        Fill f = fill_from_record(r);
        uint64_t n = parse_numbered_id(f.broker_trade_id, "PT-");
        if (n == 0)
            throw JournalError("journal fill with a bad trade id '" + f.broker_trade_id + "'");
        if (accounts_.count(f.account_id) == 0)
            throw JournalError("journal fill " + f.broker_trade_id + " of unknown account '" +
                               f.account_id + "'");
        apply_fill_to_books_locked(f);
        auto& executed = replay_executed_[f.broker_order_id];
        executed.first += f.quantity;
        executed.second += f.quantity * f.price;
        if (keeps_lines())
            fill_lines_.note(n, tag_account(f.account_id), f.executed_at_ns, replay_offset_);
        fills_.push_back(std::move(f));
        next_trade_ = std::max(next_trade_, n + 1);
    } else if (r.type == "P") {
        SymbolState s;
        s.last = read_decimal(r, "last");
        s.rng.set_state(read_int<uint64_t>(r, "rng"));
        s.steps = read_int<uint64_t>(r, "steps");
        s.at_ns = read_int<int64_t>(r, "at");
        symbols_[r.at("sym")] = s;
    } else if (r.type == "S") {
        ticks_ = read_int<uint64_t>(r, "ticks");
        fault_rng_.set_state(read_int<uint64_t>(r, "fault_rng"));
        next_order_ = std::max(next_order_, read_int<uint64_t>(r, "next_order"));
        next_trade_ = std::max(next_trade_, read_int<uint64_t>(r, "next_trade"));
    } else if (r.type == "G") {
        replay_gtt(r);
    } else {
        throw JournalError("unknown journal record type '" + r.type + "'");
    }
}

void PaperVenue::repair_orders_from_fills() {
    // replay_executed_ holds every order's executions but those of ended orders that agreed with
    // them: what is left is the live orders and the ones to repair, all still in memory.
    for (auto& [n, o] : orders_) {
        auto it = replay_executed_.find(o.report.broker_order_id);
        if (it == replay_executed_.end() || it->second.first == o.report.filled_quantity) continue;
        OrderReport& r = o.report;
        if (env_.warn)
            env_.warn("journal '" + config_.journal_path + "': order " + r.broker_order_id +
                      " showed " + r.filled_quantity.to_string() +
                      " filled but its fills add up to " + it->second.first.to_string() +
                      " (a crash between the two lines); repaired");
        r.filled_quantity = it->second.first;
        o.notional = it->second.second;
        r.average_fill_price = Decimal::divide(o.notional, r.filled_quantity, kAverageScale);
        if (r.filled_quantity >= r.quantity) {
            r.status = OrderStatus::Filled;
            open_.erase(n);
            retire_locked(o);
        } else if (!is_terminal(r.status)) {
            r.status = OrderStatus::PartiallyFilled;
        }
        refresh_leaves(r);
        journal_order_locked(o, "repaired");
    }
}

void PaperVenue::snapshot_locked() {
    for (const auto& [sym, s] : symbols_)
        record_locked(JournalRecord{"P", {}}
                          .add("sym", sym)
                          .add("last", s.last.to_string())
                          .add("rng", std::to_string(s.rng.state()))
                          .add("steps", std::to_string(s.steps))
                          .add("at", std::to_string(s.at_ns)));
    record_locked(JournalRecord{"S", {}}
                      .add("ticks", std::to_string(ticks_))
                      .add("fault_rng", std::to_string(fault_rng_.state()))
                      .add("next_order", std::to_string(next_order_))
                      .add("next_trade", std::to_string(next_trade_)));
}

void PaperVenue::retire_locked(const OrderState& o) {
    if (config_.history.count() > 0) retired_.emplace_back(o.report.updated_at_ns, o.number);
}

void PaperVenue::forget_history_locked() {
    if (config_.history.count() <= 0) return;
    const int64_t cutoff =
        now() - std::chrono::duration_cast<std::chrono::nanoseconds>(config_.history).count();
    const bool keep_lines = keeps_lines();
    std::vector<std::pair<int64_t, uint64_t>> later;  // replay: orders still to repair
    while (!retired_.empty() && retired_.front().first < cutoff) {
        const uint64_t n = retired_.front().second;
        retired_.pop_front();
        auto it = orders_.find(n);
        if (it == orders_.end()) continue;  // listed twice (replay, repair)
        const OrderReport& r = it->second.report;
        if (!is_terminal(r.status)) continue;
        if (r.updated_at_ns >= cutoff) {  // stamped again since (a refused cancel): later
            retired_.emplace_back(r.updated_at_ns, n);
            continue;
        }
        if (replaying_ && replay_executed_.count(r.broker_order_id) != 0) {
            later.emplace_back(r.updated_at_ns, n);
            continue;
        }
        auto cid = by_client_id_.find({r.account_id, r.client_order_id});
        if (cid != by_client_id_.end() && cid->second == n) by_client_id_.erase(cid);
        if (keep_lines) {
            if (n > HashedNumbers::kMaxNumber)
                fail(Status::Internal, "order number " + std::to_string(n) +
                                           " is past what the history index holds");
            // Once only, though an order can come back to memory (a later line) and leave again.
            index_io_locked(
                [&] { forgotten_client_ids_.insert(client_id_hash(r.client_order_id), n); });
            forgot_any_ = true;
            forgotten_before_ns_ = std::max(forgotten_before_ns_, cutoff);
        }
        orders_.erase(it);
    }
    for (const auto& entry : later) retired_.push_back(entry);
    while (!fills_.empty() && fills_.front().executed_at_ns < cutoff) {
        fills_.pop_front();
        if (keep_lines) {
            forgot_any_ = true;
            forgotten_before_ns_ = std::max(forgotten_before_ns_, cutoff);
        }
    }
}

PaperVenue::Held PaperVenue::held() const {
    std::lock_guard lock(mu_);
    return Held{orders_.size(), fills_.size()};
}

void PaperVenue::snapshot() {
    std::lock_guard lock(mu_);
    if (!failed_.empty()) fail(Status::Internal, "paper venue failed: " + failed_);
    if (journal_.is_open()) snapshot_locked();
}

// ---- order life cycle --------------------------------------------------------------------------

void PaperVenue::order_changed_locked(OrderState& o, const char* journal_event,
                                      const std::string& exec_id) {
    o.report.updated_at_ns = now();
    o.report.exec_id = exec_id;
    refresh_leaves(o.report);
    if (is_terminal(o.report.status)) retire_locked(o);
    journal_order_locked(o, journal_event);
    VenueEvent ev;
    ev.kind = VenueEvent::Kind::OrderUpdate;
    ev.order = o.report;
    emit_locked(std::move(ev));
}

void PaperVenue::finish_locked(OrderState& o, OrderStatus status, const std::string& reason,
                               const char* journal_event) {
    o.report.status = status;
    o.report.reject_reason = reason;
    open_.erase(o.number);
    order_changed_locked(o, journal_event);
}

OrderReport PaperVenue::reject_locked(OrderState&& candidate, const std::string& reason) {
    uint64_t n = candidate.number;
    OrderState& o = orders_.emplace(n, std::move(candidate)).first->second;
    by_client_id_[{o.report.account_id, o.report.client_order_id}] = n;
    finish_locked(o, OrderStatus::Rejected, reason, "rejected");
    return o.report;
}

void PaperVenue::apply_fill_to_books_locked(const Fill& f) {
    auto acc = accounts_.find(f.account_id);
    if (acc == accounts_.end())
        fail(Status::Internal, "fill " + f.broker_trade_id + " of unknown account");
    Decimal notional = f.quantity * f.price;
    if (f.side == Side::Buy)
        acc->second.cash = acc->second.cash - notional - f.fee;
    else
        acc->second.cash = acc->second.cash + notional - f.fee;

    PositionState& p = positions_[{f.account_id, f.symbol, f.exchange}];
    Decimal delta = f.side == Side::Buy ? f.quantity : -f.quantity;
    Decimal next = p.quantity + delta;
    if (p.quantity.is_zero() || p.quantity.sign() == delta.sign()) {
        Decimal cost = p.quantity.abs() * p.average_price + notional;
        p.average_price = Decimal::divide(cost, next.abs(), kAverageScale);
    } else if (next.is_zero()) {
        p.average_price = Decimal();
    } else if (next.sign() != p.quantity.sign()) {
        p.average_price = f.price;  // flipped: the new side opened at this price
    }
    p.quantity = next;
}

void PaperVenue::execute_locked(OrderState& o, const Decimal& quantity, const Decimal& price) {
    OrderReport& r = o.report;
    Decimal chunk = quantity;
    const Decimal& ratio = config_.partial_fill_ratio;
    if (ratio.is_positive() && ratio < Decimal::from_int(1)) {
        const int32_t qs = r.quantity.scale();
        Decimal raw = r.quantity * ratio;
        int64_t m = raw.mantissa();
        for (int32_t s = raw.scale(); s > qs; --s) m /= 10;  // floor: raw is positive
        chunk = Decimal(m, qs);
        Decimal unit(1, qs);
        if (chunk < unit) chunk = unit;
    }
    Decimal left = quantity;
    while (left.is_positive()) {
        Decimal q = left < chunk ? left : chunk;
        left -= q;
        const uint64_t trade = next_trade_++;
        Fill f;
        f.broker_trade_id = trade_id_text(trade);
        f.broker_order_id = r.broker_order_id;
        f.client_order_id = r.client_order_id;
        f.account_id = r.account_id;
        f.symbol = r.symbol;
        f.exchange = r.exchange;
        f.side = r.side;
        f.quantity = q;
        f.price = price;
        f.fee = config_.fee_per_fill;
        if (!config_.fee_rate.is_zero()) f.fee += q * price * config_.fee_rate;
        f.executed_at_ns = now();
        apply_fill_to_books_locked(f);
        fills_.push_back(f);
        journal_fill_locked(f, trade);
        VenueEvent fe;
        fe.kind = VenueEvent::Kind::Fill;
        fe.fill = f;
        emit_locked(std::move(fe));

        r.filled_quantity += q;
        o.notional += q * price;
        r.average_fill_price = Decimal::divide(o.notional, r.filled_quantity, kAverageScale);
        if (r.filled_quantity == r.quantity) {
            r.status = OrderStatus::Filled;
            open_.erase(o.number);
        } else {
            r.status = OrderStatus::PartiallyFilled;
        }
        order_changed_locked(o, "filled", f.broker_trade_id);
    }
}

void PaperVenue::try_execute_locked(OrderState& o, bool entry) {
    OrderReport& r = o.report;
    if (is_terminal(r.status)) return;
    const Decimal last = symbol_locked(r.symbol).last;
    if (is_stop_like(r.order_type) && !o.triggered) {
        bool hit = r.side == Side::Buy ? last >= *r.trigger_price : last <= *r.trigger_price;
        if (!hit) return;
        o.triggered = true;
        entry = true;  // the triggered order enters the book now
        journal_order_locked(o, "triggered");
    }
    std::optional<Decimal> price;
    if (r.order_type == OrderType::Market || r.order_type == OrderType::Stop) {
        price = last;
    } else {
        const Decimal& limit = *r.price;
        bool crosses = r.side == Side::Buy ? last <= limit : last >= limit;
        // Entering the book it takes the market (the limit or better); resting, its own price.
        if (crosses) price = entry ? last : limit;
    }
    const bool ioc = r.time_in_force == TimeInForce::Ioc;
    const bool fok = r.time_in_force == TimeInForce::Fok;
    if (!price) {
        if (ioc || fok)
            finish_locked(o, OrderStatus::Cancelled,
                          std::string(ioc ? "IOC" : "FOK") + ": nothing executable immediately",
                          "cancelled");
        return;
    }
    Decimal remaining = r.quantity - r.filled_quantity;
    Decimal available = remaining;
    if (config_.max_fill_per_tick.is_positive() && available > config_.max_fill_per_tick)
        available = config_.max_fill_per_tick;
    if (fok && available < remaining) {
        finish_locked(o, OrderStatus::Cancelled,
                      "FOK: only " + available.to_string() + " of " + remaining.to_string() +
                          " was available at once",
                      "cancelled");
        return;
    }
    execute_locked(o, available, *price);
    if ((ioc || fok) && !is_terminal(r.status))
        finish_locked(o, OrderStatus::Cancelled, "IOC: unfilled remainder cancelled", "cancelled");
}

void PaperVenue::refused_locked(OrderState& o, const std::string& reason,
                                const char* journal_event) {
    o.report.cancel_reject_reason = reason;
    journal_order_locked(o, journal_event);
}

OrderReport PaperVenue::cancel_locked(OrderState& o) {
    if (is_terminal(o.report.status))
        fail(Status::Rejected, "order " + o.report.broker_order_id + " is already " +
                                   std::string(to_string(o.report.status)) +
                                   "; it cannot be cancelled");
    o.report.cancel_reject_reason.clear();  // this cancel was accepted
    finish_locked(o, OrderStatus::Cancelled, "", "cancelled");
    return o.report;
}

// ---- the calls -------------------------------------------------------------------------------

OrderReport PaperVenue::place_order(const OrderRequest& rq, std::chrono::milliseconds timeout) {
    if (rq.client_order_id.empty()) fail(Status::InvalidArgument, "client_order_id is required");
    if (rq.account_id.empty()) fail(Status::InvalidArgument, "account_id is required");
    if (rq.symbol.empty()) fail(Status::InvalidArgument, "symbol is required");
    if (!rq.quantity.is_positive()) fail(Status::InvalidArgument, "quantity must be positive");
    validate_shape(rq.order_type, rq.price, rq.trigger_price);

    FaultDraw faults = start_call(Op::Place, timeout, "place_order");

    OrderReport ack;
    std::optional<VenueError> refusal;
    {
        std::lock_guard lock(mu_);
        check_usable_locked();
        ack = place_locked(rq, faults.reject, &refusal);
    }
    if (faults.timeout_after)
        fail(Status::UnknownOutcome,
             "place_order: injected loss of the answer after send "
             "(fault.timeout_after_send_ratio); the order may exist: look it up by client "
             "order id");
    after_send(timeout, "place_order");
    if (refusal) throw *refusal;
    return ack;
}

OrderReport PaperVenue::place_locked(const OrderRequest& rq, bool fault_reject,
                                     std::optional<VenueError>* refusal_out) {
    forget_history_locked();
    OrderReport ack;
    std::optional<VenueError>& refusal = *refusal_out;
    {
        if (accounts_.count(rq.account_id) == 0) {
            refusal.emplace(Status::Rejected, "unknown account '" + rq.account_id + "'");
        } else if (client_id_taken_locked(rq.account_id, rq.client_order_id)) {
            refusal.emplace(Status::Rejected, "duplicate client order id '" + rq.client_order_id +
                                                  "' for account '" + rq.account_id + "'");
        } else {
            OrderState o;
            o.number = next_order_++;
            o.created_at_ns = now();
            OrderReport& r = o.report;
            r.broker_order_id = order_id_text(o.number);
            r.client_order_id = rq.client_order_id;
            r.account_id = rq.account_id;
            r.symbol = rq.symbol;
            r.exchange = rq.exchange;
            r.side = rq.side;
            r.order_type = rq.order_type;
            r.time_in_force = rq.time_in_force;
            r.status = OrderStatus::Open;
            r.quantity = rq.quantity;
            r.price = rq.price;
            r.trigger_price = rq.trigger_price;
            r.updated_at_ns = o.created_at_ns;
            symbol_locked(rq.symbol);

            std::string reason;
            if (fault_reject) {
                reason = "rejected by fault injection (fault.reject_ratio)";
            } else if (rq.price && !on_grid(*rq.price)) {
                reason = "price " + rq.price->to_string() + " is not a multiple of the tick size " +
                         config_.tick_size.to_string();
            } else if (rq.trigger_price && !on_grid(*rq.trigger_price)) {
                reason = "trigger price " + rq.trigger_price->to_string() +
                         " is not a multiple of the tick size " + config_.tick_size.to_string();
            } else if (rq.side == Side::Buy) {
                Decimal need = rq.quantity * reference_price_locked(o);
                Decimal have = account_locked(rq.account_id).buying_power;
                if (need > have)
                    reason = "insufficient buying power: the order needs " + need.to_string() +
                             ", buying power is " + have.to_string();
            } else if (!config_.allow_short) {
                auto p = positions_.find({rq.account_id, rq.symbol, rq.exchange});
                Decimal held = p == positions_.end() ? Decimal() : p->second.quantity;
                Decimal free = held - open_sell_locked(rq.account_id, rq.symbol, rq.exchange, 0);
                if (rq.quantity > free)
                    reason = "insufficient position: selling " + rq.quantity.to_string() +
                             " with " + free.to_string() + " available (allow_short is off)";
            }
            if (!reason.empty()) {
                ack = reject_locked(std::move(o), reason);
                refusal.emplace(Status::Rejected, reason, ack.broker_order_id);
            } else {
                uint64_t n = o.number;
                OrderState& stored = orders_.emplace(n, std::move(o)).first->second;
                open_.insert(n);
                by_client_id_[{rq.account_id, rq.client_order_id}] = n;
                order_changed_locked(stored, "created");
                try_execute_locked(stored, true);
                ack = stored.report;
            }
        }
    }
    return ack;
}

PaperVenue::FaultDraw PaperVenue::start_call(Op op, std::chrono::milliseconds timeout,
                                             const char* what) {
    FaultDraw faults;
    {
        std::lock_guard lock(mu_);
        check_usable_locked();
        faults = draw_faults_locked(op);
    }
    if (faults.timeout_before)
        fail(Status::Timeout, std::string(what) +
                                  ": injected timeout before send "
                                  "(fault.timeout_before_send_ratio); nothing was sent");
    before_send(timeout, what);
    return faults;
}

OrderReport PaperVenue::modify_order(const ModifyRequest& rq, std::chrono::milliseconds timeout) {
    if (rq.broker_order_id.empty() && rq.client_order_id.empty())
        fail(Status::InvalidArgument, "modify needs a broker order id or a client order id");
    if (rq.quantity && !rq.quantity->is_positive())
        fail(Status::InvalidArgument, "quantity must be positive");

    FaultDraw faults = start_call(Op::Modify, timeout, "modify_order");

    OrderReport ack;
    std::optional<VenueError> refusal;
    {
        std::lock_guard lock(mu_);
        check_usable_locked();
        OrderState spare;  // an order memory forgot, read back (ended: only refused here)
        OrderState* o = lookup_locked(rq.account_id, rq.broker_order_id, rq.client_order_id, &spare);
        if (o == nullptr) {
            refusal.emplace(Status::NotFound,
                            "no order " +
                                (rq.broker_order_id.empty()
                                     ? "with client order id '" + rq.client_order_id + "'"
                                     : rq.broker_order_id) +
                                " at the paper venue");
        } else if (is_terminal(o->report.status)) {
            refusal.emplace(Status::Rejected, "order " + o->report.broker_order_id + " is " +
                                                  std::string(to_string(o->report.status)) +
                                                  "; it cannot be modified");
            refused_locked(*o, refusal->what(), "modify_refused");
        } else {
            OrderState c = *o;
            OrderReport& r = c.report;
            OrderType type = rq.order_type.value_or(r.order_type);
            std::optional<Decimal> price =
                rq.price ? rq.price : (is_limit_like(type) ? r.price : std::nullopt);
            std::optional<Decimal> trigger =
                rq.trigger_price ? rq.trigger_price
                                 : (is_stop_like(type) ? r.trigger_price : std::nullopt);
            validate_shape(type, price, trigger);  // throws InvalidArgument; nothing changed
            bool rearm = type != r.order_type || trigger != r.trigger_price;
            r.order_type = type;
            r.price = price;
            r.trigger_price = trigger;
            if (rq.quantity) r.quantity = *rq.quantity;
            if (rq.time_in_force) r.time_in_force = *rq.time_in_force;
            if (rearm) c.triggered = false;

            std::string reason;
            if (r.quantity <= r.filled_quantity) {
                reason = "quantity " + r.quantity.to_string() +
                         " must be greater than the filled quantity " +
                         r.filled_quantity.to_string();
            } else if (price && !on_grid(*price)) {
                reason = "price " + price->to_string() + " is not a multiple of the tick size " +
                         config_.tick_size.to_string();
            } else if (trigger && !on_grid(*trigger)) {
                reason = "trigger price " + trigger->to_string() +
                         " is not a multiple of the tick size " + config_.tick_size.to_string();
            } else if (r.side == Side::Buy) {
                Decimal need = (r.quantity - r.filled_quantity) * reference_price_locked(c);
                auto acc = accounts_.find(r.account_id);
                Decimal have = acc->second.cash - margin_locked(r.account_id) -
                               reserved_locked(r.account_id, c.number);
                if (need > have)
                    reason = "insufficient buying power: the order needs " + need.to_string() +
                             ", buying power is " + have.to_string();
            } else if (!config_.allow_short) {
                auto p = positions_.find({r.account_id, r.symbol, r.exchange});
                Decimal held = p == positions_.end() ? Decimal() : p->second.quantity;
                Decimal free =
                    held - open_sell_locked(r.account_id, r.symbol, r.exchange, c.number);
                if (r.quantity - r.filled_quantity > free)
                    reason = "insufficient position (allow_short is off)";
            }
            if (!reason.empty()) {
                refusal.emplace(Status::Rejected, reason);
                refused_locked(*o, reason, "modify_refused");
            } else {
                c.report.cancel_reject_reason.clear();  // this modify was accepted
                *o = std::move(c);
                // The pushed confirmation names the request it answers, as a venue's
                // execution report does; what follows it (a fill's update) answers none.
                o->report.request_id = rq.request_id;
                order_changed_locked(*o, "modified");
                o->report.request_id.clear();
                try_execute_locked(*o, true);
                ack = o->report;
                ack.request_id = rq.request_id;
            }
        }
    }
    if (faults.timeout_after)
        fail(Status::UnknownOutcome,
             "modify_order: injected loss of the answer after send "
             "(fault.timeout_after_send_ratio); look the order up");
    after_send(timeout, "modify_order");
    if (refusal) throw *refusal;
    return ack;
}

OrderReport PaperVenue::cancel_order(const std::string& account_id,
                                     const std::string& broker_order_id,
                                     const std::string& client_order_id,
                                     std::chrono::milliseconds timeout,
                                     const std::string& request_id) {
    if (broker_order_id.empty() && client_order_id.empty())
        fail(Status::InvalidArgument, "cancel needs a broker order id or a client order id");
    FaultDraw faults = start_call(Op::Cancel, timeout, "cancel_order");

    OrderReport ack;
    std::optional<VenueError> refusal;
    {
        std::lock_guard lock(mu_);
        check_usable_locked();
        OrderState spare;  // an order memory forgot, read back (ended: only refused here)
        OrderState* o = lookup_locked(account_id, broker_order_id, client_order_id, &spare);
        if (o == nullptr) {
            refusal.emplace(
                Status::NotFound,
                "no order " +
                    (broker_order_id.empty() ? "with client order id '" + client_order_id + "'"
                                             : broker_order_id) +
                    " at the paper venue");
        } else if (is_terminal(o->report.status)) {
            refusal.emplace(Status::Rejected, "order " + o->report.broker_order_id +
                                                  " is already " +
                                                  std::string(to_string(o->report.status)) +
                                                  "; it cannot be cancelled");
            refused_locked(*o, refusal->what(), "cancel_refused");
        } else {
            o->report.request_id = request_id;  // named by the pushed CANCELLED too
            ack = cancel_locked(*o);
            o->report.request_id.clear();
        }
    }
    if (faults.timeout_after)
        fail(Status::UnknownOutcome,
             "cancel_order: injected loss of the answer after send "
             "(fault.timeout_after_send_ratio); look the order up");
    after_send(timeout, "cancel_order");
    if (refusal) throw *refusal;
    return ack;
}

std::vector<OrderReport> PaperVenue::cancel_all(const std::string& account_id,
                                                std::chrono::milliseconds timeout) {
    FaultDraw faults = start_call(Op::Cancel, timeout, "cancel_all");
    std::vector<OrderReport> out;
    {
        std::lock_guard lock(mu_);
        check_usable_locked();
        if (!account_id.empty() && accounts_.count(account_id) == 0)
            fail(Status::NotFound, "unknown account '" + account_id + "'");
        std::vector<uint64_t> ids(open_.begin(), open_.end());
        for (uint64_t n : ids) {
            OrderState& o = orders_.at(n);
            if (!account_id.empty() && o.report.account_id != account_id) continue;
            out.push_back(cancel_locked(o));
        }
    }
    if (faults.timeout_after)
        fail(Status::UnknownOutcome,
             "cancel_all: injected loss of the answer after send "
             "(fault.timeout_after_send_ratio); list the open orders");
    after_send(timeout, "cancel_all");
    return out;
}

OrderReport PaperVenue::get_order(const std::string& account_id, const std::string& broker_order_id,
                                  const std::string& client_order_id) const {
    if (broker_order_id.empty() && client_order_id.empty())
        fail(Status::InvalidArgument, "get_order needs a broker order id or a client order id");
    std::lock_guard lock(mu_);
    check_usable_locked();
    OrderState spare;
    const OrderState* o = lookup_locked(account_id, broker_order_id, client_order_id, &spare);
    if (o == nullptr)
        fail(Status::NotFound,
             "no order " +
                 (broker_order_id.empty() ? "with client order id '" + client_order_id + "'"
                                          : broker_order_id) +
                 " at the paper venue");
    return o->report;
}

std::vector<OrderReport> PaperVenue::list_orders(const std::string& account_id, bool open_only,
                                                 int64_t since_ns) const {
    std::lock_guard lock(mu_);
    check_usable_locked();
    return list_orders_page_locked(account_id, open_only, since_ns, 0, 0).items;
}

std::vector<Fill> PaperVenue::list_fills(const std::string& account_id, int64_t since_ns) const {
    std::lock_guard lock(mu_);
    check_usable_locked();
    return list_fills_page_locked(account_id, since_ns, 0, 0).items;
}

uint64_t PaperVenue::cursor_number(const std::string& cursor, std::string_view prefix,
                                   uint64_t issued_below, const char* what) const {
    if (cursor.empty()) return 0;
    uint64_t n = parse_numbered_id(cursor, prefix);
    if (n == 0 || n >= issued_below)
        fail(Status::InvalidArgument,
             std::string(what) + ": '" + cursor + "' is not a cursor of this paper venue");
    return n;
}

ReportPage<OrderReport> PaperVenue::list_orders_page(const std::string& account_id,
                                                     bool open_only, int64_t since_ns,
                                                     const std::string& cursor,
                                                     uint32_t limit) const {
    std::lock_guard lock(mu_);
    check_usable_locked();
    const uint64_t after = cursor_number(cursor, kOrderCursor, next_order_, "list_orders_page");
    return list_orders_page_locked(account_id, open_only, since_ns, after, limit);
}

ReportPage<Fill> PaperVenue::list_fills_page(const std::string& account_id, int64_t since_ns,
                                             const std::string& cursor, uint32_t limit) const {
    std::lock_guard lock(mu_);
    check_usable_locked();
    const uint64_t after = cursor_number(cursor, kFillCursor, next_trade_, "list_fills_page");
    return list_fills_page_locked(account_id, since_ns, after, limit);
}

namespace {

// Adds items to a page in number order, at most `limit` (0: all); an item past a full page sets
// the cursor to the number of the page's last item instead.
template <typename T>
struct PageBuilder {
    ReportPage<T>& page;
    uint32_t limit;
    std::string_view prefix;
    uint64_t last = 0;

    // false: the page is full (and its cursor set).
    bool add(uint64_t number, const T& item) {
        if (limit != 0 && page.items.size() == limit) {
            page.next_cursor = std::string(prefix) + std::to_string(last);
            return false;
        }
        page.items.push_back(item);
        last = number;
        return true;
    }
};


}  // namespace

ReportPage<OrderReport> PaperVenue::list_orders_page_locked(const std::string& account_id,
                                                            bool open_only, int64_t since_ns,
                                                            uint64_t after, uint32_t limit) const {
    ReportPage<OrderReport> page;
    auto keep = [&](const OrderReport& r) {
        return (account_id.empty() || r.account_id == account_id) &&
               (open_only || r.updated_at_ns >= since_ns);
    };
    if (open_only) {  // open orders are never forgotten
        fill_page(
            open_.upper_bound(after), open_.end(), [](uint64_t n) { return n; },
            [this](uint64_t n) -> const OrderReport& { return orders_.at(n).report; }, keep, limit,
            kOrderCursor, page);
    } else if (!reaches_forgotten(since_ns)) {
        fill_page(
            orders_.upper_bound(after), orders_.end(),
            [](const auto& entry) { return entry.first; },
            [](const auto& entry) -> const OrderReport& { return entry.second.report; }, keep,
            limit, kOrderCursor, page);
    } else {
        // From before what memory holds: every number in turn, from memory or the journal,
        // skipping the blocks that all changed before since_ns and other accounts' records.
        PageBuilder<OrderReport> builder{page, limit, kOrderCursor};
        const uint8_t wanted =
            account_id.empty() ? RecordLines::kManyAccounts : account_tag(account_id);
        for (uint64_t n = after + 1; n < next_order_; ++n) {
            if (uint64_t end = order_lines_.block_end_before(n, since_ns)) {
                n = end;
                continue;
            }
            auto it = orders_.find(n);
            if (it != orders_.end()) {
                if (keep(it->second.report) && !builder.add(n, it->second.report)) break;
                continue;
            }
            if (!order_lines_.may_be_account(n, wanted)) continue;
            std::optional<OrderState> o = read_order_locked(n);
            if (o && keep(o->report) && !builder.add(n, o->report)) break;
        }
    }
    return page;
}

ReportPage<Fill> PaperVenue::list_fills_page_locked(const std::string& account_id,
                                                    int64_t since_ns, uint64_t after,
                                                    uint32_t limit) const {
    auto number = [](const Fill& f) { return parse_numbered_id(f.broker_trade_id, "PT-"); };
    auto keep = [&](const Fill& f) {
        return (account_id.empty() || f.account_id == account_id) && f.executed_at_ns >= since_ns;
    };
    // fills_ is in trade number order: numbers are drawn and fills appended under mu_, and the
    // journal replays them in that order. Memory forgets from its front.
    auto start = std::partition_point(fills_.begin(), fills_.end(),
                                      [&](const Fill& f) { return number(f) <= after; });
    ReportPage<Fill> page;
    PageBuilder<Fill> builder{page, limit, kFillCursor};
    if (reaches_forgotten(since_ns)) {
        // The forgotten fills first, from the journal, skipping blocks executed before since_ns.
        const uint64_t kept_from = fills_.empty() ? next_trade_ : number(fills_.front());
        const uint8_t wanted =
            account_id.empty() ? RecordLines::kManyAccounts : account_tag(account_id);
        for (uint64_t n = after + 1; n < kept_from; ++n) {
            if (uint64_t end = fill_lines_.block_end_before(n, since_ns)) {
                n = end;
                continue;
            }
            if (!fill_lines_.may_be_account(n, wanted)) continue;
            std::optional<Fill> f = read_fill_locked(n);
            if (f && keep(*f) && !builder.add(n, *f)) return page;
        }
    }
    for (auto it = start; it != fills_.end(); ++it)
        if (keep(*it) && !builder.add(number(*it), *it)) break;
    return page;
}

std::vector<Position> PaperVenue::positions(const std::string& account_id) const {
    std::lock_guard lock(mu_);
    check_usable_locked();
    if (!account_id.empty() && accounts_.count(account_id) == 0)
        fail(Status::NotFound, "unknown account '" + account_id + "'");
    std::vector<Position> out;
    for (const auto& [key, p] : positions_) {
        if (p.quantity.is_zero()) continue;
        if (!account_id.empty() && std::get<0>(key) != account_id) continue;
        out.push_back(Position{std::get<0>(key), std::get<1>(key), std::get<2>(key), p.quantity,
                               p.average_price});
    }
    return out;
}

Account PaperVenue::account(const std::string& account_id) {
    std::lock_guard lock(mu_);
    check_usable_locked();
    return account_locked(account_id);
}

Quote PaperVenue::quote(const std::string& symbol, const std::string& exchange) {
    if (symbol.empty()) fail(Status::InvalidArgument, "symbol is required");
    std::lock_guard lock(mu_);
    check_usable_locked();
    return quote_locked(symbol, exchange);
}

void PaperVenue::subscribe_prices(const std::vector<Instrument>& instruments) {
    std::lock_guard lock(mu_);
    check_usable_locked();
    for (const auto& i : instruments)
        if (i.symbol.empty()) fail(Status::InvalidArgument, "subscription with an empty symbol");
    subscriptions_ = instruments;
    for (const auto& i : subscriptions_) {
        VenueEvent ev;
        ev.kind = VenueEvent::Kind::Quote;
        ev.quote = quote_locked(i.symbol, i.exchange);
        emit_locked(std::move(ev));
    }
}

void PaperVenue::ping() const {
    std::lock_guard lock(mu_);
    check_usable_locked();
}

void PaperVenue::step_locked() {
    forget_history_locked();
    ++ticks_;
    const int64_t t = now();
    const int64_t m = config_.max_steps_per_tick;
    for (auto& [sym, s] : symbols_) {
        int64_t k = s.rng.uniform_int(-m, m);
        Decimal next = s.last + config_.tick_size * Decimal::from_int(k);
        if (next < config_.tick_size) next = config_.tick_size;
        s.last = next;
        ++s.steps;
        s.at_ns = t;
    }
    check_gtts_locked();
    std::vector<uint64_t> ids(open_.begin(), open_.end());
    for (uint64_t n : ids) try_execute_locked(orders_.at(n), false);
    for (const auto& i : subscriptions_) {
        VenueEvent ev;
        ev.kind = VenueEvent::Kind::Quote;
        ev.quote = quote_locked(i.symbol, i.exchange);
        emit_locked(std::move(ev));
    }
    if (journal_.is_open() && ticks_ % static_cast<uint64_t>(config_.journal_snapshot_ticks) == 0)
        snapshot_locked();
}

void PaperVenue::step(int n) {
    std::lock_guard lock(mu_);
    if (!failed_.empty()) fail(Status::Internal, "paper venue failed: " + failed_);
    if (closed_) fail(Status::Unavailable, "paper venue is closed");
    for (int i = 0; i < n; ++i) step_locked();
}

void PaperVenue::forget_history() {
    std::lock_guard lock(mu_);
    if (!failed_.empty()) fail(Status::Internal, "paper venue failed: " + failed_);
    if (closed_) fail(Status::Unavailable, "paper venue is closed");
    forget_history_locked();
}

void PaperVenue::set_disconnected(bool disconnected, const std::string& detail) {
    std::lock_guard lock(mu_);
    disconnected_ = disconnected;
    VenueEvent ev;
    ev.kind = VenueEvent::Kind::Connection;
    ev.connected = !disconnected;
    ev.detail = detail;
    emit_locked(std::move(ev));
}

bool PaperVenue::disconnected() const {
    std::lock_guard lock(mu_);
    return disconnected_;
}

uint64_t PaperVenue::ticks() const {
    std::lock_guard lock(mu_);
    return ticks_;
}

// ---- native GTT -------------------------------------------------------------------------------

namespace {
std::string gtt_id_text(uint64_t n) { return "PG-" + std::to_string(n); }
}  // namespace

void PaperVenue::gtt_call_start(std::chrono::milliseconds timeout, const char* what) {
    {
        std::lock_guard lock(mu_);
        check_usable_locked();
    }
    before_send(timeout, what);
}

PaperVenue::GttState* PaperVenue::find_gtt_locked(const std::string& account_id,
                                                   const std::string& gtt_id,
                                                   const std::string& broker_gtt_id) {
    if (!broker_gtt_id.empty()) {
        uint64_t n = parse_numbered_id(broker_gtt_id, "PG-");
        auto it = gtts_.find(n);
        if (n == 0 || it == gtts_.end()) return nullptr;
        if (!account_id.empty() && it->second.report.account_id != account_id) return nullptr;
        return &it->second;
    }
    if (gtt_id.empty()) return nullptr;
    if (!account_id.empty()) {
        auto it = gtt_by_id_.find({account_id, gtt_id});
        return it == gtt_by_id_.end() ? nullptr : &gtts_.at(it->second);
    }
    for (const auto& [key, n] : gtt_by_id_)
        if (key.second == gtt_id) return &gtts_.at(n);
    return nullptr;
}

void PaperVenue::arm_gtt_locked(GttState& g, const GttRequest& rq) {
    const size_t want = rq.type == GttType::Single ? 1 : 2;
    if (rq.legs.size() != want)
        fail(Status::InvalidArgument, std::string(to_string(rq.type)) + " takes " +
                                          std::to_string(want) + " legs, got " +
                                          std::to_string(rq.legs.size()));
    const Decimal last = symbol_locked(g.report.symbol).last;
    std::vector<bool> rises;
    for (size_t i = 0; i < rq.legs.size(); ++i) {
        const GttLeg& leg = rq.legs[i];
        if (leg.order.client_order_id.empty())
            fail(Status::InvalidArgument, "leg " + std::to_string(i + 1) + " has no client order id");
        if (!leg.order.quantity.is_positive())
            fail(Status::InvalidArgument, "leg " + std::to_string(i + 1) + " quantity must be positive");
        validate_shape(leg.order.order_type, leg.order.price, leg.order.trigger_price);
        if (!leg.trigger_price.is_positive())
            fail(Status::InvalidArgument, "leg " + std::to_string(i + 1) + " trigger must be positive");
        if (leg.trigger_price == last)
            fail(Status::Rejected, "leg " + std::to_string(i + 1) + " trigger " +
                                       leg.trigger_price.to_string() +
                                       " equals the last price");
        rises.push_back(leg.trigger_price > last);
    }
    if (rises.size() == 2 && rises[0] == rises[1])
        fail(Status::Rejected, "the legs of an OCO must sit on both sides of the last price " +
                                   last.to_string());
    g.report.type = rq.type;
    g.report.legs = rq.legs;
    for (GttLeg& leg : g.report.legs) {
        leg.order.account_id = g.report.account_id;
        leg.order.symbol = g.report.symbol;
        leg.order.exchange = g.report.exchange;
    }
    g.report.expires_at_ns = rq.expires_at_ns;
    g.rises = std::move(rises);
    g.leg_status.assign(g.report.legs.size(), "");
}

void PaperVenue::gtt_changed_locked(GttState& g, const char* journal_event, bool push) {
    g.report.updated_at_ns = now();
    if (journal_.is_open()) record_locked(gtt_record(g, journal_event));
    if (!push) return;
    VenueEvent ev;
    ev.kind = VenueEvent::Kind::Gtt;
    ev.gtt = g.report;
    emit_locked(std::move(ev));
}

GttReport PaperVenue::place_gtt(const GttRequest& rq, std::chrono::milliseconds timeout) {
    if (rq.gtt_id.empty()) fail(Status::InvalidArgument, "gtt_id is required");
    if (rq.account_id.empty()) fail(Status::InvalidArgument, "account_id is required");
    if (rq.symbol.empty()) fail(Status::InvalidArgument, "symbol is required");
    gtt_call_start(timeout, "place_gtt");
    GttReport out;
    {
        std::lock_guard lock(mu_);
        check_usable_locked();
        if (accounts_.count(rq.account_id) == 0)
            fail(Status::Rejected, "unknown account '" + rq.account_id + "'");
        if (GttState* existing = find_gtt_locked(rq.account_id, rq.gtt_id, "")) {
            out = existing->report;  // a retry of a place that arrived
        } else {
            GttState g;
            g.number = next_gtt_;
            g.report.gtt_id = rq.gtt_id;
            g.report.broker_gtt_id = gtt_id_text(g.number);
            g.report.account_id = rq.account_id;
            g.report.symbol = rq.symbol;
            g.report.exchange = rq.exchange;
            g.report.status = GttStatus::Active;
            arm_gtt_locked(g, rq);
            ++next_gtt_;
            GttState& stored = gtts_.emplace(g.number, std::move(g)).first->second;
            gtt_by_id_[{rq.account_id, rq.gtt_id}] = stored.number;
            gtt_changed_locked(stored, "created", false);
            out = stored.report;
        }
    }
    after_send(timeout, "place_gtt");
    return out;
}

GttReport PaperVenue::modify_gtt(const GttRequest& rq, std::chrono::milliseconds timeout) {
    gtt_call_start(timeout, "modify_gtt");
    GttReport out;
    {
        std::lock_guard lock(mu_);
        check_usable_locked();
        GttState* g = find_gtt_locked(rq.account_id, rq.gtt_id, rq.broker_gtt_id);
        if (g == nullptr) fail(Status::NotFound, "no GTT '" + rq.gtt_id + "'");
        if (g->report.status != GttStatus::Active)
            fail(Status::Rejected, "GTT " + g->report.broker_gtt_id + " is " +
                                       std::string(to_string(g->report.status)));
        GttState changed = *g;
        arm_gtt_locked(changed, rq);  // throws before anything changes
        *g = std::move(changed);
        gtt_changed_locked(*g, "modified", false);
        out = g->report;
    }
    after_send(timeout, "modify_gtt");
    return out;
}

GttReport PaperVenue::cancel_gtt(const GttRequest& rq, std::chrono::milliseconds timeout) {
    gtt_call_start(timeout, "cancel_gtt");
    GttReport out;
    {
        std::lock_guard lock(mu_);
        check_usable_locked();
        GttState* g = find_gtt_locked(rq.account_id, rq.gtt_id, rq.broker_gtt_id);
        if (g == nullptr) fail(Status::NotFound, "no GTT '" + rq.gtt_id + "'");
        if (g->report.status == GttStatus::Active) {
            g->report.status = GttStatus::Cancelled;
            g->report.reject_reason = "cancelled by the client";
            for (std::string& st : g->leg_status) st = "CANCELLED";
            gtt_changed_locked(*g, "cancelled", false);
        } else if (g->report.status != GttStatus::Cancelled) {
            fail(Status::Rejected, "GTT " + g->report.broker_gtt_id + " is " +
                                       std::string(to_string(g->report.status)));
        }
        out = g->report;
    }
    after_send(timeout, "cancel_gtt");
    return out;
}

GttReport PaperVenue::get_gtt(const std::string& account_id, const std::string& gtt_id,
                              const std::string& broker_gtt_id) const {
    std::lock_guard lock(mu_);
    check_usable_locked();
    auto* self = const_cast<PaperVenue*>(this);  // the finder does not change anything
    const GttState* g = self->find_gtt_locked(account_id, gtt_id, broker_gtt_id);
    if (g == nullptr)
        fail(Status::NotFound, "no GTT '" + (broker_gtt_id.empty() ? gtt_id : broker_gtt_id) + "'");
    return g->report;
}

std::vector<GttReport> PaperVenue::list_gtts(const std::string& account_id,
                                             bool active_only) const {
    std::lock_guard lock(mu_);
    check_usable_locked();
    std::vector<GttReport> out;
    for (const auto& [n, g] : gtts_) {
        if (!account_id.empty() && g.report.account_id != account_id) continue;
        if (active_only && g.report.status != GttStatus::Active) continue;
        out.push_back(g.report);
    }
    return out;
}

void PaperVenue::check_gtts_locked() {
    const int64_t t = now();
    for (auto& [n, g] : gtts_) {
        GttReport& r = g.report;
        if (r.status != GttStatus::Active) continue;
        if (r.expires_at_ns != 0 && t >= r.expires_at_ns) {
            r.status = GttStatus::Expired;
            r.reject_reason = "expired";
            gtt_changed_locked(g, "expired", true);
            continue;
        }
        const Decimal last = symbol_locked(r.symbol).last;
        for (size_t i = 0; i < r.legs.size(); ++i) {
            const Decimal& trigger = r.legs[i].trigger_price;
            if (!(g.rises[i] ? last >= trigger : last <= trigger)) continue;
            // Fires: the GTT's update first (naming the order to come), then the order.
            r.status = GttStatus::Triggered;
            r.triggered_leg = static_cast<uint32_t>(i);
            r.order_client_order_id = r.legs[i].order.client_order_id;
            r.broker_order_id = order_id_text(next_order_);
            for (size_t k = 0; k < g.leg_status.size(); ++k)
                g.leg_status[k] = k == i ? "TRIGGERED" : "CANCELLED";
            gtt_changed_locked(g, "triggered", true);
            place_gtt_leg_locked(g, i);
            break;
        }
    }
}

void PaperVenue::place_missing_gtt_orders_locked() {
    // check_gtts_locked writes a GTT's "triggered" line (naming the order to come) before the
    // order's first line: a crash between the two leaves a GTT naming an order the journal never
    // had. Its leg is placed now, under that number, so the number never goes to another order.
    for (auto& [n, g] : gtts_) {
        GttReport& r = g.report;
        if (r.status != GttStatus::Triggered || !r.triggered_leg ||
            *r.triggered_leg >= r.legs.size())
            continue;
        const uint64_t named = parse_numbered_id(r.broker_order_id, "P-");
        if (named == 0 || named < next_order_) continue;  // the order is in the journal
        next_order_ = named;
        if (env_.warn)
            env_.warn("journal '" + config_.journal_path + "': GTT " + r.broker_gtt_id +
                      " names order " + r.broker_order_id +
                      ", which the journal does not have (a crash between the two lines); "
                      "placed now");
        place_gtt_leg_locked(g, *r.triggered_leg);
    }
}

void PaperVenue::place_gtt_leg_locked(GttState& g, size_t leg) {
    GttReport& r = g.report;
    std::optional<VenueError> refusal;
    OrderRequest order = r.legs[leg].order;
    order.account_id = r.account_id;
    order.symbol = r.symbol;
    order.exchange = r.exchange;
    OrderReport placed = place_locked(order, false, &refusal);
    if (refusal) {
        r.status = GttStatus::Rejected;
        r.reject_reason = std::string("leg order refused: ") + refusal->what();
        r.broker_order_id = placed.broker_order_id;  // empty when no record was kept
        gtt_changed_locked(g, "rejected", true);
    }
}

JournalRecord PaperVenue::gtt_record(const GttState& g, const char* event) const {
    const GttReport& r = g.report;
    JournalRecord j{"G", {}};
    j.add("ev", event)
        .add("n", std::to_string(g.number))
        .add("gid", r.gtt_id)
        .add("acc", r.account_id)
        .add("sym", r.symbol)
        .add("exch", r.exchange)
        .add("type", std::string(to_string(r.type)))
        .add("status", std::string(to_string(r.status)))
        .add("expires", std::to_string(r.expires_at_ns))
        .add("tleg", r.triggered_leg ? std::to_string(*r.triggered_leg) : "")
        .add("ocid", r.order_client_order_id)
        .add("order", r.broker_order_id)
        .add("reason", r.reject_reason)
        .add("updated", std::to_string(r.updated_at_ns))
        .add("legs", std::to_string(r.legs.size()));
    for (size_t i = 0; i < r.legs.size(); ++i) {
        const std::string k = std::to_string(i);
        const OrderRequest& o = r.legs[i].order;
        j.add("trig" + k, r.legs[i].trigger_price.to_string())
            .add("dir" + k, g.rises[i] ? "RISES" : "FALLS")
            .add("st" + k, g.leg_status[i])
            .add("cid" + k, o.client_order_id)
            .add("side" + k, std::string(to_string(o.side)))
            .add("otype" + k, std::string(to_string(o.order_type)))
            .add("tif" + k, std::string(to_string(o.time_in_force)))
            .add("qty" + k, o.quantity.to_string())
            .add("price" + k, decimal_text(o.price))
            .add("ptrig" + k, decimal_text(o.trigger_price))
            .add("prod" + k, o.product)
            .add("tag" + k, o.tag)
            .add("extra" + k, o.extra_json);
    }
    return j;
}

void PaperVenue::replay_gtt(const JournalRecord& r) {
    GttState g;
    g.number = read_int<uint64_t>(r, "n");
    if (g.number == 0) throw JournalError("journal GTT with number 0");
    GttReport& rep = g.report;
    rep.gtt_id = r.at("gid");
    rep.broker_gtt_id = gtt_id_text(g.number);
    rep.account_id = r.at("acc");
    rep.symbol = r.at("sym");
    rep.exchange = r.at("exch");
    rep.type = read_enum<GttType>(r, "type", &parse_gtt_type);
    rep.status = read_enum<GttStatus>(r, "status", &parse_gtt_status);
    rep.expires_at_ns = read_int<int64_t>(r, "expires");
    if (!r.at("tleg").empty()) rep.triggered_leg = read_int<uint32_t>(r, "tleg");
    rep.order_client_order_id = r.at("ocid");
    rep.broker_order_id = r.at("order");
    rep.reject_reason = r.at("reason");
    rep.updated_at_ns = read_int<int64_t>(r, "updated");
    const size_t legs = read_int<size_t>(r, "legs");
    if (legs < 1 || legs > 2) throw JournalError("journal GTT with " + std::to_string(legs) + " legs");
    for (size_t i = 0; i < legs; ++i) {
        const std::string k = std::to_string(i);
        GttLeg leg;
        leg.trigger_price = read_decimal(r, "trig" + k);
        OrderRequest& o = leg.order;
        o.client_order_id = r.at("cid" + k);
        o.account_id = rep.account_id;
        o.symbol = rep.symbol;
        o.exchange = rep.exchange;
        o.side = read_enum<Side>(r, "side" + k, &parse_side);
        o.order_type = read_enum<OrderType>(r, "otype" + k, &parse_order_type);
        o.time_in_force = read_enum<TimeInForce>(r, "tif" + k, &parse_time_in_force);
        o.quantity = read_decimal(r, "qty" + k);
        o.price = read_opt_decimal(r, "price" + k);
        o.trigger_price = read_opt_decimal(r, "ptrig" + k);
        o.product = r.at("prod" + k);
        o.tag = r.at("tag" + k);
        o.extra_json = r.at("extra" + k);
        rep.legs.push_back(std::move(leg));
        g.rises.push_back(r.at("dir" + k) == "RISES");
        g.leg_status.push_back(r.at("st" + k));
    }
    gtt_by_id_[{rep.account_id, rep.gtt_id}] = g.number;
    next_gtt_ = std::max(next_gtt_, g.number + 1);
    gtts_[g.number] = std::move(g);
}

}  // namespace ordergate::paper
