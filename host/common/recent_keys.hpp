// ordergate::RecentKeys — a set of the most recent keys, bounded: at most `capacity` are kept and
// the oldest inserted is forgotten first. For caches in front of storage (trade ids known stored,
// orders recently finished), where forgetting costs a storage read and never a wrong answer.
//
// Each key is held once: the insertion ring owns the strings (a deque never moves its elements
// when it grows or shrinks at the ends) and the lookup set holds views of them. erase() takes a
// key out of the set at once; its slot in the ring counts towards the capacity until it is the
// oldest.
//
// Not thread-safe: callers hold their own lock.
#pragma once

#include <cstddef>
#include <deque>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>

namespace ordergate {

class RecentKeys {
public:
    // Throws std::invalid_argument on a capacity of 0.
    explicit RecentKeys(size_t capacity) : capacity_(capacity) {
        if (capacity_ == 0) throw std::invalid_argument("RecentKeys: capacity must be >= 1");
    }
    RecentKeys(const RecentKeys&) = delete;
    RecentKeys& operator=(const RecentKeys&) = delete;

    bool contains(std::string_view key) const { return !key.empty() && set_.count(key) > 0; }

    // Inserts `key` unless it is held already (then nothing changes, its age included); returns
    // whether it was inserted. An empty key is never held.
    bool insert(std::string key) {
        if (key.empty() || set_.count(key)) return false;
        ring_.push_back(std::move(key));
        set_.insert(std::string_view(ring_.back()));
        while (ring_.size() > capacity_) pop_oldest();
        return true;
    }

    // Forgets `key` now. Its slot in the ring stays until it is the oldest; popping it then
    // leaves alone a later insert of the same key (a view of another slot).
    void erase(std::string_view key) { set_.erase(key); }

    size_t size() const { return set_.size(); }
    size_t capacity() const { return capacity_; }

private:
    void pop_oldest() {
        const std::string& front = ring_.front();
        auto it = set_.find(std::string_view(front));
        if (it != set_.end() && it->data() == front.data()) set_.erase(it);
        ring_.pop_front();
    }

    size_t capacity_;
    std::deque<std::string> ring_;              // oldest first
    std::unordered_set<std::string_view> set_;  // views into ring_
};

}  // namespace ordergate
