// The behaviour every IdempotencyStore shares (MemoryStore and RedisStore run the same cases).
// Each test executable instantiates the suite with a factory:
//   INSTANTIATE_TEST_SUITE_P(Memory, StoreConformance, testing::Values(StoreFactory{...}));
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "idempotency/idempotency.hpp"

namespace ordergate::idempotency::testing_support {

struct StoreFactory {
    std::string name;
    // A fresh store whose keys no other store of the run shares.
    std::function<std::unique_ptr<IdempotencyStore>()> make;
};

// Shows the store's name (not its bytes) in test listings.
inline void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::string factory_name(const ::testing::TestParamInfo<StoreFactory>& info) {
    return info.param.name;
}

class StoreConformance : public ::testing::TestWithParam<StoreFactory> {
protected:
    void SetUp() override { store_ = GetParam().make(); }
    std::unique_ptr<IdempotencyStore> store_;
};

}  // namespace ordergate::idempotency::testing_support
