// xkeras/distribution/gradient_reducer.hpp - the gradients of a data-parallel step, summed over
// every micro-batch of every process in a fixed order, in buckets whose exchange starts while the
// backward pass is still running.
//
// The trainable weights are grouped into buckets in reverse layer order (the order backward
// fills them), each at least `bucket_bytes`. For each micro-batch a process runs, the bucket's
// gradients, scaled by the micro-batch's share of the global batch, become one leaf. When the
// backward pass of the process's last micro-batch has filled a bucket, the process sums its leaves
// (distribution/tree_sum.hpp) and starts the exchange, without blocking: each process owns one
// chunk of the bucket, receives every other process's chunk of it, sums the chunks in rank order
// by the same tree, and sends the sum back to every process (a reduce-scatter and an all-gather:
// 2 (N - 1) / N of the bucket's bytes sent per process, as a ring's). Later layers' backward calls
// progress() between layers; finish() waits for what remains and writes the sums back.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "../config.hpp"
#include "../layers/layer.hpp"
#include "communicator.hpp"
#include "tree_sum.hpp"

namespace xkeras::distribution {

/// What the exchanges cost, summed over the steps measured.
struct reducer_stats {
    std::size_t steps = 0;
    std::size_t buckets = 0;          ///< per step
    std::size_t bytes = 0;            ///< gradient bytes per step
    double overlapped_seconds = 0.0;  ///< from the first bucket's start to finish()
    double exposed_seconds = 0.0;     ///< inside finish(): the exchange not hidden
    std::size_t hidden_bytes = 0;     ///< of buckets whose exchange had ended by finish()
};

template <class T>
class GradientReducer {
  public:
    /// `layers[i]` lists layer i's trainable weights; `leaves` is the number of micro-batches
    /// this process runs per step. The steps' costs are added to `stats` (when not null), which
    /// must outlive the reducer.
    GradientReducer(Communicator& comm, const std::vector<std::vector<layers::Param<T>*>>& layers,
                    std::size_t bucket_bytes, std::size_t leaves, reducer_stats* stats = nullptr)
        : comm_(comm), leaves_(leaves), stats_(stats ? stats : &own_stats_) {
        for (std::size_t i = layers.size(); i-- > 0;) {
            for (auto* p : layers[i]) {
                if (buckets_.empty() || buckets_.back().size * sizeof(T) >= bucket_bytes)
                    buckets_.emplace_back();
                auto& b = buckets_.back();
                b.params.push_back({p, b.size});
                b.size += p->value.size();
                b.ready_at = i;
            }
        }
        // two tags per bucket, inside the 32767 every MPI allows
        if (buckets_.size() > 16383)
            throw value_error(
                xkeras::detail::cat("data-parallel training: ", buckets_.size(),
                                    " gradient buckets are more than 16383; use a larger "
                                    "bucket_bytes"));
        const std::size_t n = std::size_t(comm_.size());
        std::size_t bytes = 0;
        for (auto& b : buckets_) {
            // one leaf per process (the default) is written straight into the sum
            b.leaves.assign(leaves_ > 1 ? leaves_ : 0, std::vector<T>(b.size));
            b.chunk.resize(n + 1);
            for (std::size_t c = 0; c <= n; ++c) b.chunk[c] = c * b.size / n;
            b.sum.resize(b.size);
            const std::size_t own = b.chunk[rank() + 1] - b.chunk[rank()];
            b.received.assign(n, std::vector<T>(own));
            b.total.resize(own);
            b.parts.resize(n);
            b.leaf_pointers.resize(b.leaves.size());
            for (std::size_t l = 0; l < b.leaves.size(); ++l)
                b.leaf_pointers[l] = b.leaves[l].data();
            bytes += b.size * sizeof(T);
        }
        stats_->buckets = buckets_.size();
        stats_->bytes = bytes;
    }

    const reducer_stats& stats() const { return *stats_; }

    /// Starts a step: no bucket has a leaf yet.
    void begin_step() {
        for (auto& b : buckets_) b.state = stage::filling;
        started_ = false;
    }

    /// Layer `layer`'s backward pass of micro-batch `leaf` has run: every bucket it completes
    /// takes its gradients times `scale` as the leaf; after the last leaf the bucket's exchange
    /// starts.
    void layer_done(std::size_t layer, std::size_t leaf, T scale) {
        for (auto& b : buckets_) {
            if (b.ready_at != layer) continue;
            T* dst = leaves_ > 1 ? b.leaves[leaf].data() : b.sum.data();
            for (const auto& s : b.params) {
                const T* g = s.p->grad.data();
                const std::size_t n = s.p->grad.size();
                if (scale == T(1))
                    std::copy_n(g, n, dst + s.offset);
                else
                    for (std::size_t i = 0; i < n; ++i) dst[s.offset + i] = g[i] * scale;
            }
            if (leaf + 1 == leaves_) start(b);
        }
        progress();
    }

    /// A micro-batch with no samples: its leaves are zero.
    void empty_leaf(std::size_t leaf) {
        for (auto& b : buckets_) {
            auto& dst = leaves_ > 1 ? b.leaves[leaf] : b.sum;
            std::fill(dst.begin(), dst.end(), T(0));
            if (leaf + 1 == leaves_) start(b);
        }
        progress();
    }

    /// Moves every started exchange on without waiting.
    void progress() {
        for (auto& b : buckets_)
            if (b.state == stage::scattering && comm_.test(b.requests)) gather(b);
    }

    /// Waits for every exchange: the sums are then ready for write_back().
    void finish() {
        const auto t0 = clock::now();
        progress();
        for (auto& b : buckets_)
            if (b.state == stage::gathering && comm_.test(b.requests))
                stats_->hidden_bytes += b.size * sizeof(T);
        for (auto& b : buckets_) {
            if (b.state == stage::filling)
                throw state_error(
                    "data-parallel training: a gradient bucket was never filled "
                    "(a layer's backward pass did not run)");
            if (b.state == stage::scattering) {
                comm_.wait(b.requests);
                gather(b);
            }
        }
        for (auto& b : buckets_) comm_.wait(b.requests);
        comm_.release();
        const auto t1 = clock::now();
        ++stats_->steps;
        stats_->exposed_seconds += seconds(t1 - t0);
        if (started_) stats_->overlapped_seconds += seconds(t0 - first_start_);
    }

    /// Sets each weight's grad to its sum over every micro-batch of every process.
    void write_back() {
        for (auto& b : buckets_)
            for (const auto& s : b.params)
                std::copy_n(b.sum.data() + s.offset, s.p->grad.size(), s.p->grad.data());
    }

  private:
    using clock = std::chrono::steady_clock;
    static double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }

    enum class stage { filling, scattering, gathering };
    struct slot {
        layers::Param<T>* p;
        std::size_t offset;  ///< in the bucket
    };
    struct bucket {
        std::vector<slot> params;
        std::size_t size = 0;
        std::size_t ready_at = 0;  ///< the layer whose backward pass completes the bucket
        std::vector<std::vector<T>> leaves;
        std::vector<std::size_t> chunk;  ///< chunk c is [chunk[c], chunk[c + 1]), owned by rank c
        std::vector<T> sum;              ///< this process's leaves' sum, then everyone's
        std::vector<std::vector<T>> received;        ///< the other ranks' sums of this rank's chunk
        std::vector<T> total;                        ///< their sum with this rank's
        std::vector<const T*> parts, leaf_pointers;  ///< what the tree sums add up
        std::vector<request> requests;
        stage state = stage::filling;
    };

    std::size_t rank() const { return std::size_t(comm_.rank()); }
    int tag(const bucket& b, int phase) const { return int(&b - buckets_.data()) * 2 + phase; }

    /// Sums the process's leaves and sends every other rank its chunk.
    void start(bucket& b) {
        if (!started_) first_start_ = clock::now(), started_ = true;
        if (leaves_ > 1) tree_sum<T>(b.leaf_pointers, b.size, b.sum.data());
        b.requests.clear();
        const int n = comm_.size(), me = comm_.rank();
        for (int c = 0; c < n; ++c) {
            if (c == me) continue;
            const std::size_t from = b.chunk[std::size_t(c)],
                              count = b.chunk[std::size_t(c) + 1] - from;
            b.requests.push_back(comm_.isend(b.sum.data() + from, count * sizeof(T), c, tag(b, 0)));
            b.requests.push_back(comm_.irecv(b.received[std::size_t(c)].data(),
                                             b.received[std::size_t(c)].size() * sizeof(T), c,
                                             tag(b, 0)));
        }
        b.state = stage::scattering;
    }

    /// Every rank's sum of this rank's chunk has come: sums them in rank order and sends the
    /// result to every other rank, receiving theirs.
    void gather(bucket& b) {
        const std::size_t n = std::size_t(comm_.size()), me = rank();
        const std::size_t from = b.chunk[me], count = b.chunk[me + 1] - from;
        for (std::size_t c = 0; c < n; ++c)
            b.parts[c] = c == me ? b.sum.data() + from : b.received[c].data();
        if (count) tree_sum<T>(b.parts, count, b.total.data());
        std::copy(b.total.begin(), b.total.end(), b.sum.begin() + std::ptrdiff_t(from));
        b.requests.clear();
        for (std::size_t c = 0; c < n; ++c) {
            if (c == me) continue;
            const std::size_t cf = b.chunk[c], cc = b.chunk[c + 1] - cf;
            b.requests.push_back(
                comm_.isend(b.sum.data() + from, count * sizeof(T), int(c), tag(b, 1)));
            b.requests.push_back(comm_.irecv(b.sum.data() + cf, cc * sizeof(T), int(c), tag(b, 1)));
        }
        b.state = stage::gathering;
    }

    Communicator& comm_;
    std::size_t leaves_;
    std::vector<bucket> buckets_;
    reducer_stats own_stats_;
    reducer_stats* stats_;
    bool started_ = false;
    clock::time_point first_start_{};
};

}  // namespace xkeras::distribution
