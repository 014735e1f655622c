#include "stream/event_log.hpp"

#include "orders/fill_math.hpp"
#include "positions/effective_fills.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>

#include "common/thread_name.hpp"
#include "json/json.hpp"

namespace ordergate::stream {

Cursor judge_cursor(const AccountEventPage& page, int64_t since) {
    if (since > page.last_seq) return Cursor::NeverGiven;
    if (page.last_seq > since && (page.oldest_seq == 0 || page.oldest_seq > since + 1))
        return Cursor::Pruned;
    return Cursor::Ok;
}

bool EventLog::supported(ports::StoragePort& storage, std::string* why) {
    try {
        storage.list_account_events("", 0, 0);
        return true;
    } catch (const sdk::Error& e) {
        if (why) *why = e.what();
        if (e.status() == Status::Unsupported) return false;
        // Another failure (the store is down at start-up) is not an answer about the ABI.
        throw;
    }
}

bool EventLog::others_may_write(ports::StoragePort& storage) {
    try {
        storage.wait_account_events(std::chrono::milliseconds(0));
        return true;
    } catch (const sdk::Error& e) {
        if (e.status() == Status::Unsupported) return false;
        // Down at start-up, or anything else: not an answer about the store's writers.
        spdlog::warn(
            "event=event_log_writers_unknown detail=\"following other hosts' fills\" "
            "error=\"{}\"",
            e.what());
        return true;
    }
}

EventLog::EventLog(ports::StoragePort& storage, Renderers renderers, std::shared_ptr<Clock> clock,
                   EventLogOptions options)
    : storage_(storage),
      renderers_(std::move(renderers)),
      clock_(std::move(clock)),
      options_(options) {}

EventLog::~EventLog() { stop(); }

void EventLog::seed_positions(const positions::PositionBook& book) { book_.copy_from(book); }

void EventLog::set_price_source(PriceSource price) { price_ = std::move(price); }

void EventLog::price_into(positions::PositionBook& book, const std::string& symbol,
                          const std::string& exchange) const {
    if (!price_) return;
    if (std::optional<Decimal> last = price_(symbol, exchange))
        book.set_last_price(symbol, exchange, *last);
}

void EventLog::note_position(size_t index, const positions::PositionView& p) {
    noted_.push_back(
        NotedPosition{index, positions::PositionKey{p.account_id, p.broker, p.symbol, p.exchange},
                      p.unrealized_pnl});
}

namespace {
// A price-driven entry queued by mark_once(): its position's key rides in the op's fill record,
// which storage does not read for an AppendEvent.
bool is_mark(const WriteOp& op) {
    return op.kind == WriteKind::AppendEvent && op.account_event.topic == kTopicPositions &&
           !op.fill.symbol.empty();
}
}  // namespace

void EventLog::entry(std::vector<WriteOp>* out, const std::string& account, const char* topic,
                     std::string data, int64_t at_ns) {
    // Built in place: a WriteOp holds every kind of record, and moving one costs more than
    // the entry's own fields.
    WriteOp& op = out->emplace_back();
    op.kind = WriteKind::AppendEvent;
    op.requires_previous = true;
    op.account_event.account_id = account;
    op.account_event.topic = topic;
    op.account_event.data_json = std::move(data);
    op.account_event.at_ns = at_ns;
}

std::string EventLog::render_one(const WriteOp& op) const {
    switch (op.kind) {
        case WriteKind::InsertOrder:
        case WriteKind::UpdateOrder:
            return op.order.account_id.empty() ? std::string() : renderers_.order(op.order);
        case WriteKind::InsertFill:
            return op.fill.account_id.empty() ? std::string() : renderers_.fill(op.fill);
        case WriteKind::UpsertGtt:
            if (op.gtt.account_id.empty()) return std::string();
            return renderers_.gtt ? renderers_.gtt(op.gtt) : op.gtt.body_json;
        default:
            return std::string();
    }
}

std::vector<std::string> EventLog::render_ahead(const std::vector<WriteOp>& ops) const {
    std::vector<std::string> out(ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
        try {
            out[i] = render_one(ops[i]);
        } catch (const std::exception&) {
            // Left empty: annotate() renders it again, and logs what fails.
        }
    }
    return out;
}

void EventLog::annotate(const std::vector<WriteOp>& ops, std::vector<WriteOp>* out,
                        std::vector<size_t>* index_of, std::vector<std::string>* rendered) {
    out->clear();
    index_of->clear();
    noted_.clear();
    out->reserve(ops.size() * 3);  // an op and its entries: a fill has two (trade, position)
    const int64_t now = clock_->now_ns();
    // Positions within this batch build on each other: a scratch book, seeded key by key from
    // the committed one.
    positions::PositionBook scratch;
    std::set<positions::PositionKey> seeded;
    for (size_t i = 0; i < ops.size(); ++i) {
        const WriteOp& op = ops[i];
        index_of->push_back(out->size());
        out->push_back(op);
        // The op's document: rendered ahead by the thread that queued it, or here.
        auto document = [&] {
            if (rendered && i < rendered->size() && !(*rendered)[i].empty())
                return std::move((*rendered)[i]);
            return render_one(op);
        };
        try {
            switch (op.kind) {
                case WriteKind::InsertOrder:
                case WriteKind::UpdateOrder:
                    if (!op.order.account_id.empty())
                        entry(out, op.order.account_id, kTopicOrders, document(),
                              op.order.updated_at_ns ? op.order.updated_at_ns : now);
                    break;
                case WriteKind::InsertFill: {
                    const FillRecord& f = op.fill;
                    if (f.account_id.empty()) break;  // adopted later by reconciliation
                    {
                        std::lock_guard lock(follow_mu_);
                        if (following_) pending_local_.insert(f.id);
                    }
                    entry(out, f.account_id, kTopicTrades, document(), now);
                    positions::PositionKey key{f.account_id, f.broker, f.symbol, f.exchange};
                    if (seeded.insert(key).second) scratch.copy_key_from(book_, key);
                    price_into(scratch, f.symbol, f.exchange);
                    positions::PositionView p = apply_to(scratch, f);
                    entry(out, f.account_id, kTopicPositions, renderers_.position(p), now);
                    note_position(out->size() - 1, p);
                    break;
                }
                case WriteKind::UpsertGtt:
                    if (!op.gtt.account_id.empty())
                        entry(out, op.gtt.account_id, kTopicGtt, document(),
                              op.gtt.updated_at_ns ? op.gtt.updated_at_ns : now);
                    break;
                case WriteKind::AppendEvent:
                    if (is_mark(op)) {
                        // The position as of this point of the commit order (its fills of this
                        // batch included); the document rendered when it was queued otherwise.
                        const positions::PositionKey key{op.fill.account_id, op.fill.broker,
                                                         op.fill.symbol, op.fill.exchange};
                        positions::PositionBook& book = seeded.count(key) ? scratch : book_;
                        price_into(book, key.symbol, key.exchange);
                        if (std::optional<positions::PositionView> p = book.get(key)) {
                            WriteOp& mine = out->back();
                            mine.account_event.data_json = renderers_.position(*p);
                            mine.account_event.at_ns = now;
                            note_position(out->size() - 1, *p);
                        }
                    }
                    break;
                case WriteKind::UpsertReconRun:
                case WriteKind::ClaimIdempotency:  // no client sees a key
                case WriteKind::CompleteIdempotency:
                    break;
            }
        } catch (const std::exception& e) {
            // The change is written without its entry rather than not at all: loud.
            spdlog::error("event=event_log_entry_failed kind={} error=\"{}\"",
                          static_cast<int>(op.kind), e.what());
            out->resize(index_of->back() + 1);
            while (!noted_.empty() && noted_.back().index >= out->size()) noted_.pop_back();
        }
    }
}

void EventLog::committed(const std::vector<WriteOp>& annotated,
                         const std::vector<Status>& results) {
    std::vector<std::string> accounts;
    bool duplicate_fill = false;
    for (size_t i = 0; i < annotated.size() && i < results.size(); ++i) {
        const WriteOp& op = annotated[i];
        if (op.kind == WriteKind::InsertFill) {
            if (results[i] != Status::Ok) {
                duplicate_fill = duplicate_fill || !op.fill.account_id.empty();
                std::lock_guard lock(follow_mu_);
                pending_local_.erase(op.fill.id);  // not written by this instance: no entry
                continue;
            }
            const FillRecord& f = op.fill;
            try {
                apply_to(book_, f);
            } catch (const std::exception& e) {
                spdlog::error("event=event_log_position_failed broker_trade_id={} error=\"{}\"",
                              f.broker_trade_id, e.what());
            }
        } else if (op.kind == WriteKind::AppendEvent && results[i] == Status::Ok) {
            if (std::find(accounts.begin(), accounts.end(), op.account_event.account_id) ==
                accounts.end())
                accounts.push_back(op.account_event.account_id);
        }
    }
    if (!noted_.empty()) {
        std::lock_guard lock(marks_mu_);
        for (const NotedPosition& n : noted_) {
            if (n.index >= results.size() || results[n.index] != Status::Ok) continue;
            marked_[n.key] = n.unrealized;
            if (is_mark(annotated[n.index])) marks_written_.fetch_add(1);
        }
        noted_.clear();
    }
    if (duplicate_fill)
        // A duplicate's position entry was skipped with it; a later fill of the same position in
        // the same batch was computed on top of it (rare: a replayed fill and a new one in one
        // batch). The committed book is right; say that an entry may not be.
        spdlog::warn(
            "event=event_log_duplicate_fill detail=\"a later position entry of this "
            "batch may count a duplicate fill\"");
    if (accounts.empty()) return;
    CommitListener l;
    {
        std::lock_guard lock(listener_mu_);
        l = listener_;
    }
    if (l) l(accounts);
}

AccountEventPage EventLog::read(const std::string& account_id, int64_t after_seq, uint32_t limit) {
    return storage_.list_account_events(account_id, after_seq, limit);
}

void EventLog::set_commit_listener(CommitListener listener) {
    std::lock_guard lock(listener_mu_);
    listener_ = std::move(listener);
}

void EventLog::start_retention() {
    std::lock_guard lock(retention_mu_);
    if (retention_.joinable()) return;
    stopping_ = false;
    retention_ = std::thread([this] {
        name_this_thread("og-log-retain");
        every_until_stopped(options_.prune_every, [this] { prune_once(); });
    });
}

void EventLog::stop() {
    {
        std::lock_guard lock(retention_mu_);
        stopping_ = true;
    }
    retention_cv_.notify_all();
    if (retention_.joinable()) retention_.join();
    if (follower_.joinable()) follower_.join();
    if (marker_.joinable()) marker_.join();
}

void EventLog::start_marks(Marks marks) {
    if (marker_.joinable() || !price_ || !marks.write) return;
    marks_ = std::move(marks);
    if (marks_.every.count() <= 0) return;  // passes by mark_once() alone
    {
        std::lock_guard lock(retention_mu_);
        stopping_ = false;
    }
    marker_ = std::thread([this] {
        name_this_thread("og-log-marks");
        every_until_stopped(marks_.every, [this] {
            try {
                mark_once();
            } catch (const std::exception& e) {
                // Nothing of the pass was written: the next one computes its entries again.
                spdlog::warn("event=position_marks_failed error=\"{}\"", e.what());
            }
        });
    });
}

size_t EventLog::mark_once() {
    if (!price_ || !marks_.write) return 0;
    std::vector<WriteOp> ops;
    const int64_t now = clock_->now_ns();
    for (const positions::PositionView& held : book_.snapshot()) {
        // A flat position's unrealized P&L is 0 at any price.
        if (held.quantity.is_zero()) continue;
        const positions::PositionKey key{held.account_id, held.broker, held.symbol, held.exchange};
        price_into(book_, key.symbol, key.exchange);
        std::optional<positions::PositionView> p = book_.get(key);
        if (!p || !p->unrealized_pnl) continue;  // no price known yet
        {
            std::lock_guard lock(marks_mu_);
            auto it = marked_.find(key);
            if (it != marked_.end() && it->second == p->unrealized_pnl) continue;
        }
        WriteOp& op = ops.emplace_back();
        op.kind = WriteKind::AppendEvent;
        op.account_event.account_id = key.account_id;
        op.account_event.topic = kTopicPositions;
        op.account_event.data_json = renderers_.position(*p);  // rendered again at commit
        op.account_event.at_ns = now;
        op.fill.account_id = key.account_id;
        op.fill.broker = key.broker;
        op.fill.symbol = key.symbol;
        op.fill.exchange = key.exchange;
    }
    // Asked only when there is something to write: an idle gateway renews no lease.
    if (ops.empty() || (marks_.may_mark && !marks_.may_mark())) return 0;
    const std::vector<Status> results = marks_.write(std::move(ops));
    return static_cast<size_t>(std::count(results.begin(), results.end(), Status::Ok));
}

void EventLog::follow(std::map<std::string, int64_t> cursors, std::vector<uint64_t> loaded,
                      std::function<void(const FillRecord&)> apply,
                      std::chrono::milliseconds every) {
    {
        std::lock_guard lock(follow_mu_);
        if (following_) return;
        following_ = true;
        cursors_ = std::move(cursors);
        loaded_ = std::move(loaded);
        std::sort(loaded_.begin(), loaded_.end());
        apply_ = std::move(apply);
    }
    {
        std::lock_guard lock(retention_mu_);
        stopping_ = false;
    }
    follower_ = std::thread([this, every] {
        name_this_thread("og-log-follow");
        every_until_stopped(every, [this] {
            try {
                follow_once();
            } catch (const std::exception& e) {
                // Read again on the next pass from the same cursors: nothing is skipped.
                spdlog::warn("event=position_follow_failed error=\"{}\"", e.what());
            }
        });
    });
}

namespace {

// The id of a trades entry as the gateway writes it ({"id":"trd_..." first), without parsing the
// rest; empty when the text starts otherwise (then the whole entry is parsed).
std::string_view leading_id(std::string_view data_json) {
    constexpr std::string_view kPrefix = "{\"id\":\"";
    if (data_json.substr(0, kPrefix.size()) != kPrefix) return {};
    data_json.remove_prefix(kPrefix.size());
    const size_t end = data_json.find_first_of("\"\\");
    if (end == std::string_view::npos || data_json[end] != '"') return {};
    return data_json.substr(0, end);
}

// A "trades" entry back into the fill it renders (api/wire.cpp write_fill); nullopt when it is
// not one.
std::optional<FillRecord> fill_of(const AccountEvent& e) {
    json::Value v;
    std::string why;
    if (!json::parse(e.data_json, &v, &why)) return std::nullopt;
    auto text = [&](const char* k) -> std::string {
        const json::Value* f = v.find(k);
        return f && f->is_string() ? f->text() : "";
    };
    auto dec = [&](const char* k, Decimal* out) { return Decimal::parse(text(k), out); };
    FillRecord f;
    f.id = text("id");
    f.order_id = text("order_id");
    f.broker = text("broker");
    f.broker_trade_id = text("broker_trade_id");
    f.account_id = e.account_id;
    f.symbol = text("symbol");
    f.exchange = text("exchange");
    const std::string side = text("side");
    if (side != "BUY" && side != "SELL") return std::nullopt;
    f.side = side == "BUY" ? Side::Buy : Side::Sell;
    if (f.id.empty() || !dec("quantity", &f.quantity) || !dec("price", &f.price) ||
        !dec("fee", &f.fee))
        return std::nullopt;
    f.executed_at_ns = e.at_ns;
    // ABI 1.5: absent in an entry written before it (a trade).
    const std::string kind = text("kind");
    if (kind == "BUST") f.kind = FillKind::Bust;
    else if (kind == "CORRECTION") f.kind = FillKind::Correction;
    else if (!kind.empty() && kind != "TRADE") return std::nullopt;
    f.ref_trade_id = text("ref_trade_id");
    if (f.kind != FillKind::Trade && f.ref_trade_id.empty()) return std::nullopt;
    return f;
}

}  // namespace

positions::PositionView EventLog::apply_to(positions::PositionBook& book, const FillRecord& f) {
    const positions::PositionKey key{f.account_id, f.broker, f.symbol, f.exchange};
    if (f.kind == FillKind::Trade)
        return book.apply_fill(key, f.side, f.quantity, f.price, f.fee, f.executed_at_ns);
    // A bust or correction: the key's position again from its effective fills, `f` counted
    // whether or not it is committed yet.
    std::vector<FillRecord> records = orders::stored_fills_of_position(storage_, key);
    if (std::none_of(records.begin(), records.end(),
                     [&](const FillRecord& r) { return r.id == f.id; }))
        records.push_back(f);
    return book.rebuild(key, positions::effective_fills(records), f.executed_at_ns);
}

void EventLog::follow_once() {
    std::map<std::string, int64_t> cursors;
    {
        std::lock_guard lock(follow_mu_);
        cursors = cursors_;
    }
    const std::hash<std::string> hash;
    for (auto& [account, cursor] : cursors) {
        for (;;) {
            AccountEventPage page = storage_.list_account_events(account, cursor, 500);
            if (cursor > 0 && page.oldest_seq > cursor + 1)
                // Pruned before this instance read them: its positions miss those fills until
                // it restarts. Loud; never silent.
                spdlog::error(
                    "event=position_follow_gap account_id={} after_seq={} oldest_seq={} "
                    "detail=\"entries pruned before they were read: restart this "
                    "instance to rebuild its positions from storage\"",
                    account, cursor, page.oldest_seq);
            for (const AccountEvent& e : page.items) {
                cursor = e.seq;
                if (e.topic != kTopicTrades) continue;
                // This instance's own entries (nearly all of them) are known by their id: no
                // parse of the fill for them.
                if (std::string_view id = leading_id(e.data_json); !id.empty()) {
                    const std::string key(id);
                    std::lock_guard lock(follow_mu_);
                    if (pending_local_.erase(key)) continue;
                    if (std::binary_search(loaded_.begin(), loaded_.end(), hash(key))) continue;
                }
                std::optional<FillRecord> f = fill_of(e);
                if (!f) {
                    spdlog::error("event=position_follow_unreadable account_id={} seq={}", account,
                                  e.seq);
                    continue;
                }
                {
                    std::lock_guard lock(follow_mu_);
                    if (pending_local_.erase(f->id)) continue;  // this instance's own
                    if (std::binary_search(loaded_.begin(), loaded_.end(), hash(f->id))) continue;
                }
                apply_to(book_, *f);
                if (apply_) apply_(*f);
                followed_.fetch_add(1);
                spdlog::debug("event=position_followed account_id={} seq={} fill_id={}", account,
                              e.seq, f->id);
            }
            if (page.items.size() < 500) break;
        }
    }
    std::lock_guard lock(follow_mu_);
    for (const auto& [account, cursor] : cursors) cursors_[account] = cursor;
    // Fills loaded at start-up can only come back in the first pass's entries.
    loaded_.clear();
    loaded_.shrink_to_fit();
}

void EventLog::prune_once() {
    const int64_t before =
        clock_->now_ns() -
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.retention).count();
    try {
        uint64_t n = 0, total = 0;
        // Bounded statements, so a large backlog never holds the store for long.
        do {
            n = storage_.prune_account_events(before, 10000);
            total += n;
        } while (n == 10000);
        if (total > 0) spdlog::info("event=event_log_pruned entries={}", total);
    } catch (const std::exception& e) {
        spdlog::warn("event=event_log_prune_failed error=\"{}\"", e.what());
    }
}

void EventLog::every_until_stopped(std::chrono::milliseconds every,
                                   const std::function<void()>& pass) {
    std::unique_lock lock(retention_mu_);
    while (!stopping_) {
        lock.unlock();
        pass();
        lock.lock();
        retention_cv_.wait_for(lock, every, [this] { return stopping_; });
    }
}

}  // namespace ordergate::stream
