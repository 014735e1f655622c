#include "metrics/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace ordergate::metrics {

namespace {
// Requests and broker calls: 50 µs .. 10 s.
const prometheus::Histogram::BucketBoundaries kLatency = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
const prometheus::Histogram::BucketBoundaries kBatchOps = {1, 2, 4, 8, 16, 32, 64, 128, 256};

template <typename M>
prometheus::Family<M>& family(prometheus::Registry& r, const std::string& name,
                              const std::string& help);
template <>
prometheus::Family<prometheus::Counter>& family(prometheus::Registry& r, const std::string& name,
                                                const std::string& help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}
template <>
prometheus::Family<prometheus::Histogram>& family(prometheus::Registry& r, const std::string& name,
                                                  const std::string& help) {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}
template <>
prometheus::Family<prometheus::Gauge>& family(prometheus::Registry& r, const std::string& name,
                                              const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

template <typename M>
M& add_child(prometheus::Family<M>& f, const std::map<std::string, std::string>& labels,
             const std::vector<double>&) {
    return f.Add(labels);
}
template <>
prometheus::Histogram& add_child(prometheus::Family<prometheus::Histogram>& f,
                                 const std::map<std::string, std::string>& labels,
                                 const std::vector<double>& b) {
    return f.Add(labels, b);
}
}  // namespace

template <typename M>
M& LabelledFamily<M>::with(const std::vector<std::string>& values) {
    {
        std::shared_lock lock(mutex_);
        auto it = children_.find(values);
        if (it != children_.end()) return *it->second;
    }
    std::unique_lock lock(mutex_);
    auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
    std::map<std::string, std::string> labels;
    for (size_t i = 0; i < names_.size() && i < values.size(); ++i) labels[names_[i]] = values[i];
    M& child = add_child(family_, labels, buckets_);
    children_.emplace(values, &child);
    return child;
}

template class LabelledFamily<prometheus::Counter>;
template class LabelledFamily<prometheus::Histogram>;
template class LabelledFamily<prometheus::Gauge>;

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      http_requests_(family<prometheus::Counter>(*registry_, "ordergate_http_requests_total",
                                                 "HTTP requests by route, method and status"),
                     {"route", "method", "status"}),
      http_duration_(family<prometheus::Histogram>(*registry_,
                                                   "ordergate_http_request_duration_seconds",
                                                   "HTTP request latency by route"),
                     {"route", "method"}, kLatency),
      orders_(family<prometheus::Counter>(*registry_, "ordergate_orders_total",
                                          "Order placements by broker and result"),
              {"broker", "result"}),
      broker_duration_(family<prometheus::Histogram>(*registry_,
                                                     "ordergate_broker_call_duration_seconds",
                                                     "Broker plugin call latency"),
                       {"broker", "op"}, kLatency),
      broker_calls_(family<prometheus::Counter>(*registry_, "ordergate_broker_calls_total",
                                                "Broker plugin calls by status"),
                    {"broker", "op", "status"}),
      broker_timed_out_(family<prometheus::Counter>(
                            *registry_, "ordergate_broker_calls_timed_out_total",
                            "Broker plugin calls still running when the host's deadline passed"),
                        {"broker", "op"}),
      broker_stuck_(family<prometheus::Gauge>(
                        *registry_, "ordergate_broker_calls_stuck",
                        "Broker plugin calls past their deadline and still in the plugin"),
                    {"broker"}),
      broker_events_queued_(family<prometheus::Gauge>(
                                *registry_, "ordergate_broker_events_queued",
                                "Events a batched broker pushed that are not applied yet"),
                            {"broker"}),
      idempotency_(family<prometheus::Counter>(*registry_, "ordergate_idempotency_total",
                                               "Idempotency outcomes"),
                   {"outcome"}),
      illegal_transitions_(family<prometheus::Counter>(
                               *registry_, "ordergate_order_illegal_transitions_total",
                               "Order state transitions refused by the state machine"),
                           {"from", "to"}),
      broker_events_(family<prometheus::Counter>(*registry_, "ordergate_broker_events_total",
                                                 "Events pushed by broker plugins"),
                     {"broker", "kind", "result"}),
      storage_batches_(family<prometheus::Counter>(*registry_,
                                                   "ordergate_storage_batches_total",
                                                   "Storage write batches (group commits)"),
                       {"result"}),
      storage_batch_ops_(family<prometheus::Histogram>(*registry_,
                                                       "ordergate_storage_batch_ops",
                                                       "Writes per storage batch"),
                         {}, kBatchOps),
      storage_batch_duration_(family<prometheus::Histogram>(
                                  *registry_, "ordergate_storage_batch_duration_seconds",
                                  "Storage write batch latency"),
                              {}, kLatency),
      auth_(family<prometheus::Counter>(*registry_, "ordergate_auth_total",
                                        "Authentication results"),
            {"result"}),
      plugin_garbage_(family<prometheus::Counter>(
                          *registry_, "ordergate_plugin_invalid_payloads_total",
                          "Malformed data refused from plugins"),
                      {"plugin"}),
      ready_(family<prometheus::Gauge>(*registry_, "ordergate_component_up",
                                       "1 when a dependency answers"),
             {"component"}),
      open_orders_(family<prometheus::Gauge>(*registry_, "ordergate_open_orders",
                                             "Orders not yet in a terminal status, in memory"),
                   {}),
      reconcile_runs_(family<prometheus::Counter>(*registry_, "ordergate_reconcile_runs_total",
                                                  "Reconciliation runs by result"),
                      {"broker", "status"}),
      reconcile_duration_(family<prometheus::Histogram>(
                              *registry_, "ordergate_reconcile_duration_seconds",
                              "Time one reconciliation run took"),
                          {"broker"}, {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}),
      reconcile_drift_(family<prometheus::Counter>(
                           *registry_, "ordergate_reconcile_drift_total",
                           "Differences reconciliation found between the gateway and a broker"),
                       {"broker", "kind"}),
      reconcile_last_success_(family<prometheus::Gauge>(
                                  *registry_, "ordergate_reconcile_last_success_timestamp_seconds",
                                  "Unix time of the last reconciliation run that completed"),
                              {"broker"}),
      stream_clients_(family<prometheus::Gauge>(*registry_, "ordergate_stream_clients",
                                                "WebSocket stream connections open"),
                      {}),
      stream_closes_(family<prometheus::Counter>(
                         *registry_, "ordergate_stream_closes_total",
                         "WebSocket stream connections ended, by close code (4008: slow "
                         "consumer; none: cut off without a close frame)"),
                     {"code"}) {
    // The codes the gateway closes with, at 0 from the start: an alert's increase() sees the
    // first one, and a scrape shows the series before any connection ended.
    for (const char* code : {"1000", "1001", "1002", "1009", "1011", "4008", "none"})
        stream_closes_.with({code});
    stream_clients_.with({}).Set(0);
}

std::string Metrics::serialize() const {
    prometheus::TextSerializer s;
    std::ostringstream out;
    s.Serialize(out, registry_->Collect());
    return out.str();
}

void Metrics::http_request(std::string_view route, std::string_view method, int status,
                           double seconds) {
    http_requests_.with({std::string(route), std::string(method), std::to_string(status)})
        .Increment();
    http_duration_.with({std::string(route), std::string(method)}).Observe(seconds);
}
void Metrics::order_result(std::string_view broker, std::string_view result) {
    orders_.with({std::string(broker), std::string(result)}).Increment();
}
void Metrics::broker_call(std::string_view broker, std::string_view op, std::string_view status,
                          double seconds) {
    broker_duration_.with({std::string(broker), std::string(op)}).Observe(seconds);
    broker_calls_.with({std::string(broker), std::string(op), std::string(status)}).Increment();
}
void Metrics::broker_call_timed_out(std::string_view broker, std::string_view op) {
    broker_timed_out_.with({std::string(broker), std::string(op)}).Increment();
}
void Metrics::set_broker_calls_stuck(std::string_view broker, size_t n) {
    broker_stuck_.with({std::string(broker)}).Set(static_cast<double>(n));
}
void Metrics::set_broker_events_queued(std::string_view broker, size_t n) {
    broker_events_queued_.with({std::string(broker)}).Set(static_cast<double>(n));
}
void Metrics::idempotency(std::string_view outcome) {
    idempotency_.with({std::string(outcome)}).Increment();
}
void Metrics::illegal_transition(std::string_view from, std::string_view to) {
    illegal_transitions_.with({std::string(from), std::string(to)}).Increment();
}
void Metrics::broker_event(std::string_view broker, std::string_view kind,
                           std::string_view result) {
    broker_events_.with({std::string(broker), std::string(kind), std::string(result)})
        .Increment();
}
void Metrics::storage_batch(size_t ops, double seconds, bool ok) {
    storage_batches_.with({ok ? "ok" : "error"}).Increment();
    storage_batch_ops_.with({}).Observe(static_cast<double>(ops));
    storage_batch_duration_.with({}).Observe(seconds);
}
void Metrics::auth_result(std::string_view result) { auth_.with({std::string(result)}).Increment(); }
void Metrics::plugin_garbage(std::string_view plugin) {
    plugin_garbage_.with({std::string(plugin)}).Increment();
}
void Metrics::set_ready(std::string_view component, bool up) {
    ready_.with({std::string(component)}).Set(up ? 1 : 0);
}
void Metrics::set_open_orders(double n) { open_orders_.with({}).Set(n); }

void Metrics::set_stream_clients(size_t n) {
    stream_clients_.with({}).Set(static_cast<double>(n));
}

void Metrics::stream_closed(int code) {
    stream_closes_.with({code > 0 ? std::to_string(code) : std::string("none")}).Increment();
}
void Metrics::reconcile_run(std::string_view broker, std::string_view status, double seconds) {
    reconcile_runs_.with({std::string(broker), std::string(status)}).Increment();
    reconcile_duration_.with({std::string(broker)}).Observe(seconds);
}
void Metrics::reconcile_drift(std::string_view broker, std::string_view kind, uint64_t n) {
    reconcile_drift_.with({std::string(broker), std::string(kind)})
        .Increment(static_cast<double>(n));
}
void Metrics::set_reconcile_last_success(std::string_view broker, double unix_seconds) {
    reconcile_last_success_.with({std::string(broker)}).Set(unix_seconds);
}

}  // namespace ordergate::metrics
