// GET /api/v1/events?account_id=&since_seq=&limit=: an account's event log (API.md "Streaming"),
// the same entries the stream sends: {"items":[{"account_id","topic","seq","at","data":{…}}],
// "next_cursor"}; next_cursor is the seq to pass as since_seq for the next page.
#include <charconv>

#include "api/handlers.hpp"
#include "common/time.hpp"
#include "stream/event_log.hpp"

namespace ordergate::api::handlers {

using http::Request;
using http::Response;

void account_events(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    Query q;
    if (!parse_query(req, {"account_id", "since_seq", "limit", "cursor"}, &q, res)) return;
    uint32_t limit;
    if (!parse_limit(q, &limit, req, res)) return;
    auto account = q.get("account_id");
    if (!account || account->empty())
        return problem(res, ErrorCode::InvalidParameter, "account_id is required", req);
    // Another account answers as a missing one does (API.md "Conventions").
    if (!scope_of(who).allows(*account) || cx.deps.orders->broker_of(*account).empty())
        return problem(res, ErrorCode::NotFound, "account '" + *account + "' not found", req);
    int64_t since = 0;
    auto since_text = q.get("cursor") ? q.get("cursor") : q.get("since_seq");
    if (q.get("cursor") && q.get("since_seq"))
        return problem(res, ErrorCode::InvalidParameter, "give since_seq or cursor, not both", req);
    if (since_text) {
        auto r =
            std::from_chars(since_text->data(), since_text->data() + since_text->size(), since);
        if (since_text->empty() || r.ec != std::errc() ||
            r.ptr != since_text->data() + since_text->size() || since < 0)
            return problem(res, ErrorCode::InvalidParameter,
                           "since_seq must be a non-negative integer", req);
    }
    if (!cx.deps.event_log)
        return problem(res, ErrorCode::EventLogUnsupported,
                       "this gateway keeps no event log: " + cx.deps.event_log_absent_reason, req);
    AccountEventPage page;
    try {
        page = cx.deps.event_log->read(*account, since, limit);
    } catch (const sdk::Error& e) {
        Error err = Error::make(ErrorCode::StorageUnavailable, "the event log cannot be read now");
        err.retry_after_seconds = 1;
        return problem(res, err, req);
    }
    switch (stream::judge_cursor(page, since)) {
        case stream::Cursor::Ok:
            break;
        case stream::Cursor::NeverGiven:
            return problem(res, ErrorCode::InvalidParameter,
                           "since_seq " + std::to_string(since) +
                               " is after the account's newest entry (" +
                               std::to_string(page.last_seq) +
                               "); read the state over REST and continue from at most that seq",
                           req);
        case stream::Cursor::Pruned:
            return problem(res, ErrorCode::ResumeTooOld,
                           "entries after " + std::to_string(since) +
                               " are no longer kept; the oldest is " +
                               std::to_string(page.oldest_seq) + "; read the state over REST",
                           req);
    }
    std::string items;
    json::Writer w(&items);
    w.begin_array();
    for (const AccountEvent& e : page.items) {
        w.begin_object()
            .field("account_id", e.account_id)
            .field("topic", e.topic)
            .key("seq")
            .raw(std::to_string(e.seq))
            .field("at", timefmt::rfc3339_ms(e.at_ns))
            .key("data")
            .raw(e.data_json.empty() ? "null" : e.data_json)
            .end_object();
    }
    w.end_array();
    std::string next;
    if (page.items.size() == limit && page.items.back().seq < page.last_seq)
        next = std::to_string(page.items.back().seq);
    res.json(200, list_envelope(items, next));
}

}  // namespace ordergate::api::handlers
