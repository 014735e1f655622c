// ordergate::metrics — the Prometheus registry of the gateway and the metrics it exports.
//
// One registry per process (the only global besides the logger, per STYLE.md), served by the
// gateway's own HTTP server at /metrics through prometheus::TextSerializer. Names follow
// ordergate_<what>_<unit>; labels never carry ids. Every recording function is thread-safe and
// cheap on the hot path: a metric's labelled child is created once and then cached.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ordergate::metrics {

// Caches the children of a family by their label values.
template <typename M>
class LabelledFamily {
public:
    LabelledFamily(prometheus::Family<M>& family, std::vector<std::string> label_names,
                   std::vector<double> buckets = {})
        : family_(family), names_(std::move(label_names)), buckets_(std::move(buckets)) {}

    M& with(const std::vector<std::string>& values);

private:
    prometheus::Family<M>& family_;
    std::vector<std::string> names_;
    std::vector<double> buckets_;
    std::shared_mutex mutex_;
    std::map<std::vector<std::string>, M*> children_;
};

class Metrics {
public:
    Metrics();
    std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
    // The text exposition of every metric.
    std::string serialize() const;

    void http_request(std::string_view route, std::string_view method, int status,
                      double seconds);
    void order_result(std::string_view broker, std::string_view result);
    void broker_call(std::string_view broker, std::string_view op, std::string_view status,
                     double seconds);
    // A broker call the host's deadline left running in the plugin; and how many such calls of
    // the broker are still there.
    void broker_call_timed_out(std::string_view broker, std::string_view op);
    void set_broker_calls_stuck(std::string_view broker, size_t n);
    // A batched broker's pushed events not yet applied (ABI 1.6; the queue holds 16,384).
    void set_broker_events_queued(std::string_view broker, size_t n);
    void idempotency(std::string_view outcome);
    void illegal_transition(std::string_view from, std::string_view to);
    void broker_event(std::string_view broker, std::string_view kind, std::string_view result);
    void storage_batch(size_t ops, double seconds, bool ok);
    void auth_result(std::string_view result);
    void plugin_garbage(std::string_view plugin);
    void set_ready(std::string_view component, bool up);
    void set_open_orders(double n);
    // Reconciliation (host/reconcile): a finished run by its status (OK, DRIFT, FAILED,
    // ABORTED, SKIPPED) and duration; each difference found between the gateway and a broker,
    // by kind (missing_fill, missing_transition, external_order, not_found_at_broker, position,
    // …); the time of the broker's last run that completed.
    void reconcile_run(std::string_view broker, std::string_view status, double seconds);
    void reconcile_drift(std::string_view broker, std::string_view kind, uint64_t n = 1);
    void set_reconcile_last_success(std::string_view broker, double unix_seconds);
    // WebSocket stream: connections open, and each connection's end by its close code (0: cut
    // off without a close frame).
    void set_stream_clients(size_t n);
    void stream_closed(int code);

private:
    std::shared_ptr<prometheus::Registry> registry_;
    LabelledFamily<prometheus::Counter> http_requests_;
    LabelledFamily<prometheus::Histogram> http_duration_;
    LabelledFamily<prometheus::Counter> orders_;
    LabelledFamily<prometheus::Histogram> broker_duration_;
    LabelledFamily<prometheus::Counter> broker_calls_;
    LabelledFamily<prometheus::Counter> broker_timed_out_;
    LabelledFamily<prometheus::Gauge> broker_stuck_;
    LabelledFamily<prometheus::Gauge> broker_events_queued_;
    LabelledFamily<prometheus::Counter> idempotency_;
    LabelledFamily<prometheus::Counter> illegal_transitions_;
    LabelledFamily<prometheus::Counter> broker_events_;
    LabelledFamily<prometheus::Counter> storage_batches_;
    LabelledFamily<prometheus::Histogram> storage_batch_ops_;
    LabelledFamily<prometheus::Histogram> storage_batch_duration_;
    LabelledFamily<prometheus::Counter> auth_;
    LabelledFamily<prometheus::Counter> plugin_garbage_;
    LabelledFamily<prometheus::Gauge> ready_;
    LabelledFamily<prometheus::Gauge> open_orders_;
    LabelledFamily<prometheus::Counter> reconcile_runs_;
    LabelledFamily<prometheus::Histogram> reconcile_duration_;
    LabelledFamily<prometheus::Counter> reconcile_drift_;
    LabelledFamily<prometheus::Gauge> reconcile_last_success_;
    LabelledFamily<prometheus::Gauge> stream_clients_;
    LabelledFamily<prometheus::Counter> stream_closes_;
};

}  // namespace ordergate::metrics
