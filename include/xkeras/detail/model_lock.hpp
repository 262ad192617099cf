// xkeras/detail/model_lock.hpp - the lock that makes calls on one model take turns.
#pragma once

#include <mutex>

namespace xkeras::detail {

/// The lock that serialises calls on one model (see basic_sequential's comment). Moving a model
/// gives the new one a lock of its own: a mutex cannot move, and a lock held during a move
/// would be a bug in the caller anyway.
struct model_lock {
    std::recursive_mutex mutex;
    model_lock() = default;
    model_lock(model_lock&&) noexcept {}
    model_lock& operator=(model_lock&&) noexcept { return *this; }
    std::unique_lock<std::recursive_mutex> hold() { return std::unique_lock(mutex); }
};

}  // namespace xkeras::detail
