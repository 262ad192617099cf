// xkeras/distribution/data_parallel.hpp - Keras 3's `keras.distribution.DataParallel` and
// `set_distribution`: the same program trains one model as one process or as N (`mpirun -np N`),
// each process running its share of every global batch.
//
//   xkeras::distribution::mpi::session mpi(argc, argv);   // distribution/mpi.hpp
//   xkeras::distribution::set_distribution(xkeras::distribution::DataParallel(mpi.world()));
//   model.fit(x, y, {.batch_size = 128});                 // unchanged
//
// What fit then does (training/trainer.hpp, docs/distributed.md): rank 0's weights, optimizer
// state and shuffling seed are broadcast at the start; every process shuffles the whole data the
// same way (a function of seed and epoch) and runs its micro-batches of each global batch; the
// gradients are summed in a fixed order (distribution/gradient_reducer.hpp); the losses, metrics
// and moving statistics are reduced too, so every process logs the global values and its
// callbacks decide alike. ModelCheckpoint, CSVLogger and the progress bar act on rank 0 only.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "../config.hpp"
#include "communicator.hpp"
#include "gradient_reducer.hpp"

namespace xkeras::distribution {

/// Options of DataParallel.
struct data_parallel_options {
    /// The micro-batches each global batch is split into, the leaves of the summation tree: 0
    /// for one per process. The processes must divide it. The same `micro_batches` gives the
    /// same weights, bit for bit, for every power-of-two process count dividing it (each
    /// process's threads fixed); one per process is the fastest.
    std::size_t micro_batches = 0;
    /// A gradient bucket's smallest size: the exchange of a bucket starts when the backward pass
    /// has filled it, so smaller buckets start sooner, in more messages.
    std::size_t bucket_bytes = 262144;  ///< 256 KiB
};

/// Data parallelism over the processes of `comm` (Keras's DataParallel over devices).
class DataParallel {
  public:
    explicit DataParallel(std::shared_ptr<Communicator> comm, data_parallel_options o = {})
        : comm_(std::move(comm)), options_(o), stats_(std::make_shared<reducer_stats>()) {
        if (!comm_) throw value_error("DataParallel: the communicator is null");
        const std::size_t n = std::size_t(comm_->size());
        if (options_.micro_batches == 0) options_.micro_batches = n;
        if (options_.micro_batches % n != 0)
            throw value_error(
                xkeras::detail::cat("DataParallel: micro_batches = ", options_.micro_batches,
                                    " is not a multiple of the ", n, " processes (",
                                    comm_->describe(), "); each process runs the same number"));
        if (options_.micro_batches > 4096)
            throw value_error(xkeras::detail::cat(
                "DataParallel: micro_batches = ", options_.micro_batches, " is more than 4096"));
    }

    Communicator& communicator() const { return *comm_; }
    const data_parallel_options& options() const { return options_; }
    int rank() const { return comm_->rank(); }
    int size() const { return comm_->size(); }
    /// The micro-batches each process runs per global batch.
    std::size_t micro_batches_per_process() const {
        return options_.micro_batches / std::size_t(comm_->size());
    }

    /// Rows [first, first + count) of a global batch of `rows`: this process's micro-batch `j`
    /// (of micro_batches_per_process()), micro-batch k = rank * that + j holding rows
    /// [k rows / K, (k + 1) rows / K) of K.
    struct row_range {
        std::size_t first = 0, count = 0;
    };
    row_range micro_batch_rows(std::size_t rows, std::size_t j) const {
        const std::size_t k = std::size_t(rank()) * micro_batches_per_process() + j,
                          K = options_.micro_batches, first = k * rows / K;
        return {first, (k + 1) * rows / K - first};
    }

    /// What the gradient exchanges of every training step under this distribution cost: the
    /// time between the first bucket's start and the end of the backward pass (overlapped) and
    /// the time waited after it (exposed).
    reducer_stats& stats() const { return *stats_; }

  private:
    std::shared_ptr<Communicator> comm_;
    data_parallel_options options_;
    std::shared_ptr<reducer_stats> stats_;
};

namespace detail {
/// Never destroyed: an MPI session ending at static destruction still finds it.
inline std::shared_ptr<const DataParallel>& current() {
    static auto* d = new std::shared_ptr<const DataParallel>();
    return *d;
}
}  // namespace detail

/// Makes `d` the distribution every later fit, evaluate and train_on_batch uses (Keras's
/// keras.distribution.set_distribution).
inline void set_distribution(DataParallel d) {
    detail::current() = std::make_shared<const DataParallel>(std::move(d));
}
/// Back to one process.
inline void clear_distribution() {
    detail::current().reset();
}
/// The current distribution, or null (Keras's keras.distribution.distribution()).
inline std::shared_ptr<const DataParallel> distribution() {
    return detail::current();
}

/// This process's rank under the current distribution; 0 without one. For code that writes
/// files or prints only once.
inline int process_index() {
    return detail::current() ? detail::current()->rank() : 0;
}
/// The number of processes under the current distribution; 1 without one.
inline int process_count() {
    return detail::current() ? detail::current()->size() : 1;
}

}  // namespace xkeras::distribution
