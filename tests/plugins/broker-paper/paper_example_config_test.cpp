// plugins/broker-paper/paper.example.yaml stays a valid configuration that says the defaults.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "paper_config.hpp"
#include "paper_venue.hpp"

#ifndef OG_PAPER_EXAMPLE_YAML
#error "OG_PAPER_EXAMPLE_YAML must name plugins/broker-paper/paper.example.yaml"
#endif

namespace ordergate::paper {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

// Flattens as the host does: nested keys joined with '.', list items as '.N'.
void flatten(const YAML::Node& node, const std::string& prefix, Entries& out) {
    if (node.IsMap()) {
        for (const auto& kv : node) {
            std::string key = kv.first.as<std::string>();
            flatten(kv.second, prefix.empty() ? key : prefix + "." + key, out);
        }
    } else if (node.IsSequence()) {
        for (std::size_t i = 0; i < node.size(); ++i)
            flatten(node[i], prefix + "." + std::to_string(i), out);
    } else if (node.IsScalar()) {
        out.emplace_back(prefix, node.Scalar());
    }
}

TEST(PaperExampleConfig, ParsesAndStatesTheDefaults) {
    Entries entries;
    flatten(YAML::LoadFile(OG_PAPER_EXAMPLE_YAML), "", entries);
    PaperSettings s = parse_paper_settings(sdk::Config(entries));
    PaperSettings d = parse_paper_settings(sdk::Config());
    EXPECT_EQ(s.venue.accounts, d.venue.accounts);
    EXPECT_TRUE(s.venue.initial_cash == d.venue.initial_cash);
    EXPECT_EQ(s.venue.currency, d.venue.currency);
    EXPECT_EQ(s.venue.seed, d.venue.seed);
    EXPECT_TRUE(s.venue.initial_price == d.venue.initial_price);
    EXPECT_EQ(s.tick, d.tick);
    EXPECT_TRUE(s.venue.tick_size == d.venue.tick_size);
    EXPECT_EQ(s.venue.max_steps_per_tick, d.venue.max_steps_per_tick);
    EXPECT_TRUE(s.venue.partial_fill_ratio == d.venue.partial_fill_ratio);
    EXPECT_TRUE(s.venue.max_fill_per_tick == d.venue.max_fill_per_tick);
    EXPECT_TRUE(s.venue.fee_per_fill == d.venue.fee_per_fill);
    EXPECT_TRUE(s.venue.fee_rate == d.venue.fee_rate);
    EXPECT_EQ(s.venue.allow_short, d.venue.allow_short);
    EXPECT_EQ(s.venue.send_delay, d.venue.send_delay);
    EXPECT_EQ(s.venue.latency, d.venue.latency);
    EXPECT_TRUE(s.venue.fault.reject_ratio == d.venue.fault.reject_ratio);
    EXPECT_TRUE(s.venue.fault.timeout_before_send_ratio == d.venue.fault.timeout_before_send_ratio);
    EXPECT_TRUE(s.venue.fault.timeout_after_send_ratio == d.venue.fault.timeout_after_send_ratio);
    EXPECT_EQ(s.venue.fault.disconnect, d.venue.fault.disconnect);
    EXPECT_EQ(s.venue.journal_path, d.venue.journal_path);
    EXPECT_EQ(s.venue.journal_fsync, d.venue.journal_fsync);
    EXPECT_EQ(s.venue.journal_snapshot_ticks, d.venue.journal_snapshot_ticks);
    EXPECT_EQ(s.venue.prices.size(), 2u);
    PaperVenue venue(s.venue);  // and the venue accepts it
    EXPECT_EQ(venue.quote("TCS", "NSE").last, Decimal::must_parse("3900.00"));
}

}  // namespace
}  // namespace ordergate::paper
