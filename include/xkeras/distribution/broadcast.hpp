// xkeras/distribution/broadcast.hpp - rank 0's values to every process, checked: what makes the
// processes of a data-parallel run start from the same model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../tensor.hpp"
#include "communicator.hpp"

namespace xkeras::distribution {

/// Rank 0's `v` on every process.
template <class V>
void broadcast_value(Communicator& comm, V& v) {
    comm.broadcast(&v, sizeof(V), 0);
}

/// Rank 0's values of `t` on every process, whose `t` must have the same size; `what` names it.
template <class T>
void broadcast_tensor(Communicator& comm, tensor<T>& t, const std::string& what) {
    std::uint64_t n = t.size();
    broadcast_value(comm, n);
    if (n != t.size())
        throw state_error(xkeras::detail::cat(
            "data-parallel training: ", what, " holds ", t.size(), " values on rank ", comm.rank(),
            " but ", n, " on rank 0: every process must build the same model"));
    comm.broadcast(t.data(), t.size() * sizeof(T), 0);
}

/// Rank 0's `s` on every process (at most `limit` bytes).
inline void broadcast_string(Communicator& comm, std::string& s, std::size_t limit) {
    std::uint64_t n = s.size();
    broadcast_value(comm, n);
    if (n > limit)
        throw value_error(xkeras::detail::cat("data-parallel training: rank 0 sends ", n,
                                              " bytes of state, more than ", limit));
    s.resize(std::size_t(n));
    comm.broadcast(s.data(), s.size(), 0);
}

}  // namespace xkeras::distribution
