#include "watermark_store.hpp"

#include <algorithm>

namespace ordergate {
namespace fixplugin {

WatermarkStore::WatermarkStore(FIX::MessageStore* inner, FIX::MessageStoreFactory& inner_factory)
    : inner_(inner), inner_factory_(inner_factory) {
    next_target_ = persisted_ = inner_->getNextTargetMsgSeqNum();
}

WatermarkStore::~WatermarkStore() { inner_factory_.destroy(inner_); }

bool WatermarkStore::set(int seq, const std::string& msg) throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    return inner_->set(seq, msg);
}

void WatermarkStore::get(int begin, int end, std::vector<std::string>& out) const
    throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    inner_->get(begin, end, out);
}

int WatermarkStore::getNextSenderMsgSeqNum() const throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    return inner_->getNextSenderMsgSeqNum();
}

int WatermarkStore::getNextTargetMsgSeqNum() const throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    return next_target_;
}

void WatermarkStore::setNextSenderMsgSeqNum(int n) throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    inner_->setNextSenderMsgSeqNum(n);
}

void WatermarkStore::setNextTargetMsgSeqNum(int n) throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    next_target_ = n;
    persist_locked();
}

void WatermarkStore::incrNextSenderMsgSeqNum() throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    inner_->incrNextSenderMsgSeqNum();
}

void WatermarkStore::incrNextTargetMsgSeqNum() throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    ++next_target_;
    persist_locked();
}

FIX::UtcTimeStamp WatermarkStore::getCreationTime() const throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    return inner_->getCreationTime();
}

void WatermarkStore::reset() throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    pending_.clear();
    pending_seqs_.clear();
    inner_->reset();
    next_target_ = persisted_ = inner_->getNextTargetMsgSeqNum();
}

void WatermarkStore::refresh() throw(FIX::IOException) {
    std::lock_guard<std::mutex> l(mu_);
    pending_.clear();
    pending_seqs_.clear();
    inner_->refresh();
    next_target_ = persisted_ = inner_->getNextTargetMsgSeqNum();
}

void WatermarkStore::pushed(int seq) {
    std::lock_guard<std::mutex> l(mu_);
    pending_.emplace(++last_point_, seq);
    pending_seqs_.insert(seq);
}

uint64_t WatermarkStore::sync_point() const {
    std::lock_guard<std::mutex> l(mu_);
    return last_point_;
}

void WatermarkStore::confirmed(uint64_t point) {
    std::lock_guard<std::mutex> l(mu_);
    const auto end = pending_.upper_bound(point);
    for (auto it = pending_.begin(); it != end; ++it)
        pending_seqs_.erase(pending_seqs_.find(it->second));
    pending_.erase(pending_.begin(), end);
    persist_locked();
}

bool WatermarkStore::has_pending() const {
    std::lock_guard<std::mutex> l(mu_);
    return !pending_.empty();
}

int WatermarkStore::persisted_target() const {
    std::lock_guard<std::mutex> l(mu_);
    return persisted_;
}

void WatermarkStore::persist_locked() {
    const int mark =
        pending_seqs_.empty() ? next_target_ : std::min(*pending_seqs_.begin(), next_target_);
    if (mark == persisted_) return;
    inner_->setNextTargetMsgSeqNum(mark);
    persisted_ = mark;
}

FIX::MessageStore* WatermarkStoreFactory::create(const FIX::SessionID& id) {
    FIX::MessageStore* inner = inner_.create(id);
    if (!hold_target_) return inner;
    WatermarkStore* s = nullptr;
    try {
        s = new WatermarkStore(inner, inner_);
    } catch (...) {
        inner_.destroy(inner);
        throw;
    }
    std::lock_guard<std::mutex> l(mu_);
    store_ = s;
    return s;
}

void WatermarkStoreFactory::destroy(FIX::MessageStore* store) {
    if (!hold_target_) return inner_.destroy(store);
    {
        std::lock_guard<std::mutex> l(mu_);
        if (store_ == store) store_ = nullptr;
    }
    delete store;
}

WatermarkStore* WatermarkStoreFactory::store() const {
    std::lock_guard<std::mutex> l(mu_);
    return store_;
}

}  // namespace fixplugin
}  // namespace ordergate
