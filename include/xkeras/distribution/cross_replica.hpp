// xkeras/distribution/cross_replica.hpp - sums over the processes during a data-parallel training
// step, for a layer whose training computation spans the whole global batch: BatchNormalization
// with synchronized=True (tf.distribute's ReplicaContext.all_reduce).
//
// The Trainer opens a cross_replica_scope around a step's forward and backward passes when the
// step's batch is split over more than one process; a layer calls cross_replica_sum, which every
// process must then reach in the same order with the same count, as any collective. Outside a
// scope the sum is the process's own value: the layer computes what it computes in one process.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "communicator.hpp"
#include "tree_sum.hpp"

namespace xkeras::distribution {

namespace detail {
inline Communicator*& replicas() {
    thread_local Communicator* comm = nullptr;
    return comm;
}
}  // namespace detail

/// While alive, this thread's training step is one process's part of a global batch split over
/// `comm`'s processes.
class cross_replica_scope {
  public:
    explicit cross_replica_scope(Communicator& comm) : previous_(detail::replicas()) {
        detail::replicas() = &comm;
    }
    ~cross_replica_scope() { detail::replicas() = previous_; }
    cross_replica_scope(const cross_replica_scope&) = delete;
    cross_replica_scope& operator=(const cross_replica_scope&) = delete;

  private:
    Communicator* previous_;
};

/// Whether this thread runs a part of a global batch split over processes.
inline bool in_cross_replica_step() {
    return detail::replicas() != nullptr;
}

/// Replaces each of `values` with its sum over `comm`'s processes, the same bits on every
/// process (the fixed tree of tree_sum.hpp over the ranks). A collective.
inline void all_sum(Communicator& comm, std::span<double> values) {
    if (values.empty()) return;
    thread_local std::vector<double> all, column;
    const std::size_t ranks = std::size_t(comm.size()), width = values.size();
    all.resize(ranks * width);
    column.resize(ranks);
    comm.allgather(values.data(), width * sizeof(double), all.data());
    for (std::size_t k = 0; k < width; ++k) {
        for (std::size_t r = 0; r < ranks; ++r) column[r] = all[r * width + k];
        values[k] = tree_sum(std::span<const double>(column));
    }
}

/// all_sum over the processes of the current scope; outside a scope, leaves `values`.
inline void cross_replica_sum(std::span<double> values) {
    if (Communicator* comm = detail::replicas()) all_sum(*comm, values);
}

}  // namespace xkeras::distribution
