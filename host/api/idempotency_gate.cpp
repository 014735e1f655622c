#include "api/idempotency_gate.hpp"

#include <spdlog/spdlog.h>
#include <strings.h>

#include "idempotency/idempotency.hpp"
#include "metrics/metrics.hpp"

namespace ordergate::api {

using http::Request;
using http::Response;

namespace {

void refuse_unavailable(const Context& cx, Response& res, const Request& req,
                        const std::exception& e) {
    spdlog::error("event=idempotency_unavailable request_id={} error=\"{}\"", req.request_id,
                  e.what());
    if (cx.deps.metrics) cx.deps.metrics->idempotency("unavailable");
    Error err = Error::make(ErrorCode::IdempotencyUnavailable,
                            "the idempotency store is unavailable; nothing was sent to the "
                            "broker");
    err.retry_after_seconds = 1;
    problem(res, err, req);
}

void release(const Context& cx, const std::string& scoped, const std::string& fp,
             const Request& req) {
    try {
        cx.deps.idempotency->release(scoped, fp);
    } catch (const std::exception& e) {
        spdlog::error("event=idempotency_release_failed request_id={} error=\"{}\"", req.request_id,
                      e.what());
    }
}

}  // namespace

namespace {

using Run = std::function<void(Response&, bool&, orders::KeyClaim*)>;

// idempotent() and idempotent_folded(): `fold` says whether `run` can write the claim.
void run_keyed(const Context& cx, Request& req, Response& res, const auth::Principal& who,
               const std::string& canonical, bool fold, const Run& run_with) {
    auto run = [&](Response& out, bool& called) { run_with(out, called, nullptr); };
    bool broker_called = false;
    if (!req.has_header("idempotency-key") || !cx.deps.idempotency) {
        if (cx.options.require_idempotency_key && !req.has_header("idempotency-key")) {
            problem(res, ErrorCode::IdempotencyKeyRequired,
                    "this gateway requires an Idempotency-Key header on writes", req);
            return;
        }
        if (cx.deps.idempotency && cx.options.idempotency_required) {
            // Fail-closed holds for every write, keyed or not: while the required store is
            // unreachable nothing reaches the broker.
            try {
                cx.deps.idempotency->check();
            } catch (const idempotency::IdempotencyUnavailable& e) {
                refuse_unavailable(cx, res, req, e);
                return;
            }
        }
        run(res, broker_called);
        return;
    }
    std::string_view key = req.header("idempotency-key");
    if (!idempotency::valid_key(key)) {
        problem(res, ErrorCode::IdempotencyKeyInvalid,
                "Idempotency-Key must be 1 to 255 printable ASCII characters", req);
        return;
    }
    std::string target = req.path;
    if (!req.query.empty()) target += "?" + req.query;
    const std::string scoped = idempotency::scoped_key(who.key(), key);
    const std::string fp = idempotency::fingerprint(req.method, target, canonical);
    idempotency::BeginResult begun;
    fold = fold && cx.deps.idempotency->folds_claims();
    try {
        begun = fold ? cx.deps.idempotency->peek(scoped, fp)
                     : cx.deps.idempotency->begin(scoped, fp);
    } catch (const idempotency::IdempotencyUnavailable& e) {
        if (cx.options.idempotency_required) {
            refuse_unavailable(cx, res, req, e);
            return;
        }
        spdlog::warn(
            "event=idempotency_bypassed request_id={} reason=store_unavailable "
            "backstop=client_order_id error=\"{}\"",
            req.request_id, e.what());
        if (cx.deps.metrics) cx.deps.metrics->idempotency("bypassed");
        run(res, broker_called);
        return;
    }
    switch (begun.outcome) {
        case idempotency::Outcome::Replay:
            if (cx.deps.metrics) cx.deps.metrics->idempotency("replayed");
            res.status = begun.response.status;
            res.body = begun.response.body;
            res.content_type.clear();
            res.headers.clear();
            for (const auto& [k, v] : begun.response.headers) {
                if (strcasecmp(k.c_str(), "content-type") == 0)
                    res.content_type = v;
                else
                    res.set_header(k, v);
            }
            res.set_header("Idempotent-Replayed", "true");
            return;
        case idempotency::Outcome::InFlight:
            if (cx.deps.metrics) cx.deps.metrics->idempotency("in_flight");
            problem(res, ErrorCode::IdempotencyInFlight,
                    "a request with this Idempotency-Key is still in progress", req);
            return;
        case idempotency::Outcome::Reused:
            if (cx.deps.metrics) cx.deps.metrics->idempotency("reused");
            problem(res, ErrorCode::IdempotencyKeyReused,
                    "this Idempotency-Key was used for a different request", req);
            return;
        case idempotency::Outcome::Proceed:
            break;
    }
    // An exception leaves the in-flight marker to its lease: whether the broker was called
    // cannot be told, so the key is not given back (a retry meets 409 until the lease ends,
    // then the derived client_order_id finds the order if one was placed).
    std::optional<orders::KeyClaim> claim;
    if (fold) {
        // Nothing is written yet: the claim goes with the request's first write.
        idempotency::IdempotencyStore::Marker m = cx.deps.idempotency->claim_marker(scoped, fp);
        claim.emplace();
        claim->marker.key = std::move(m.key);
        claim->marker.fingerprint = std::move(m.fingerprint);
        claim->marker.expires_at_ns = m.expires_at_ns;
        claim->now_ns = m.now_ns;
        run_with(res, broker_called, &*claim);
        if (claim->taken) {
            // Another request took the key between the read and the write (its answer, or its
            // 409, is the key's): this one wrote nothing and stores nothing.
            if (cx.deps.metrics) cx.deps.metrics->idempotency("in_flight");
            return;
        }
        if (cx.deps.metrics) cx.deps.metrics->idempotency("proceeded");
        if (res.status >= 500 && !broker_called) {
            if (claim->written) release(cx, scoped, fp, req);
            return;
        }
    } else {
        if (cx.deps.metrics) cx.deps.metrics->idempotency("proceeded");
        run(res, broker_called);
    }
    if (res.status >= 500 && !broker_called) {
        // Nothing happened (a dependency was down before the broker was called): a retry
        // with the same key must be able to go through.
        release(cx, scoped, fp, req);
        return;
    }
    // From here the answer is the request's decision, a 5xx after the broker call included
    // (a retry would re-send): it is stored and replayed.
    idempotency::StoredResponse stored;
    stored.status = res.status;
    stored.body = res.body;
    stored.headers.emplace_back("Content-Type", res.content_type);
    for (const auto& h : res.headers) stored.headers.push_back(h);
    try {
        cx.deps.idempotency->complete(scoped, fp, stored);
    } catch (const std::exception& e) {
        // The request took effect; only its replay is lost. The client_order_id backstop
        // still refuses a duplicate.
        spdlog::error("event=idempotency_complete_failed request_id={} error=\"{}\"",
                      req.request_id, e.what());
        if (cx.deps.metrics) cx.deps.metrics->idempotency("complete_failed");
    }
}

}  // namespace

// Runs `run` under the request's Idempotency-Key (when given). `canonical` is the canonical
// form of the request body. `run` sets its bool when the broker was called (Error's
// broker_called): only a request that provably never reached the broker gives its key back.
void idempotent(const Context& cx, Request& req, Response& res, const auth::Principal& who,
                const std::string& canonical, const std::function<void(Response&, bool&)>& run) {
    run_keyed(cx, req, res, who, canonical, false,
              [&](Response& out, bool& called, orders::KeyClaim*) { run(out, called); });
}

void idempotent_folded(const Context& cx, Request& req, Response& res,
                       const auth::Principal& who, const std::string& canonical,
                       const Run& run) {
    run_keyed(cx, req, res, who, canonical, true, run);
}

}  // namespace ordergate::api
