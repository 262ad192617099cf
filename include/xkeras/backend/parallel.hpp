// xkeras/backend/parallel.hpp - the library's one thread pool.
//
// All parallel work in xkeras runs here: layers split a batch into tasks, and large GEMMs are
// split into row or column blocks, each task calling a single-threaded OpenBLAS GEMM. OpenBLAS
// itself is kept at one thread, so its threads and ours never compete for the cores (the
// oversubscription that makes PyTorch's 2-thread MLP slower than its 1-thread one).
//
// `parallel_for(n, f)` runs f(task, thread) for task in [0, n) on the pool and the calling
// thread, and returns when all are done; `thread` in [0, num_threads()) indexes per-thread
// scratch buffers. Tasks are claimed dynamically. A nested call runs serially (and pool_size()
// inside a task is 1, so that kernels size their splits for one thread); a call with one task
// runs it on the caller without opening a region, so that task may open its own.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "blas.hpp"

namespace xkeras::backend {

/// XKERAS_NUM_THREADS when set to a positive number, otherwise the number of cores.
inline int default_num_threads() {
    if (const char* env = std::getenv("XKERAS_NUM_THREADS")) {
        char* end = nullptr;
        long v = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && v > 0 && v <= 1024) return static_cast<int>(v);
    }
    unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : static_cast<int>(hc);
}

class thread_pool {
  public:
    /// The pool, created at first use with default_num_threads() threads; OpenBLAS is set to one
    /// thread at the same time.
    static thread_pool& instance() {
        static thread_pool pool(default_num_threads());
        return pool;
    }

    ~thread_pool() { stop(); }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    /// Number of threads taking part in a parallel_for (workers + the caller).
    int size() const { return int(workers_.size()) + 1; }

    /// Whether the calling thread is running a task of a parallel_for.
    static bool in_task() { return in_parallel(); }

    /// Sets the number of threads (>= 1). Not to be called while a parallel_for runs.
    void resize(int n) {
        if (n == size()) return;
        stop();
        stopping_.store(false);
        for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { work(i); });
    }

    /// Runs f(task, thread) for every task in [0, n_tasks).
    ///
    /// The caller takes tasks too and waits only for tasks that have been claimed, never for a
    /// worker to show up: when the other cores are busy (another process, a compile) a
    /// descheduled worker costs nothing, the caller simply runs the tasks itself. Workers enter
    /// a region through `active_` and only while it is `open_`; the caller closes it and waits
    /// for the entered ones to leave before the next region may reuse `job_`.
    template <class F>
    void run(std::size_t n_tasks, F&& f) {
        if (n_tasks == 0) return;
        if (workers_.empty() || n_tasks == 1 || in_parallel()) {
            for (std::size_t t = 0; t < n_tasks; ++t) f(t, 0);
            return;
        }
        std::unique_lock<std::mutex> run_lock(run_mutex_);  // one parallel region at a time
        // The region is published by open_ (release: a worker that finds it open sees the rest)
        // and by the generation's increment below. Only those two order anything: each further
        // ordered store would wait for the worker's core to give up a line it is reading, which
        // costs a round trip between the cores each, dear when the host puts the two CPUs apart
        // (docs/performance.md).
        job_ = [&f](std::size_t task, int thread) { f(task, thread); };
        n_tasks_ = n_tasks;
        next_.store(0, std::memory_order_relaxed);
        finished_.store(0, std::memory_order_relaxed);
        failed_.store(false, std::memory_order_relaxed);
        error_ = nullptr;
        open_.store(true, std::memory_order_release);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            generation_.fetch_add(1);
        }
        wake_.notify_all();
        execute(0);
        // every task is claimed now; wait for the ones still running elsewhere
        for (int spin = 0; finished_.load() < n_tasks_; ++spin) relax(spin);
        open_.store(false);
        // a worker may be between entering and finding no task left
        for (int spin = 0; active_.load() != 0; ++spin) relax(spin);
        job_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

  private:
    explicit thread_pool(int n) {
        detail::single_threaded_blas();
        resize(n);
    }

    static bool& in_parallel() {
        thread_local bool flag = false;
        return flag;
    }

    /// Claims and runs tasks until none is left; every claimed task counts as finished, also
    /// when it threw (the first exception is kept and the remaining tasks are skipped).
    void execute(int thread) {
        in_parallel() = true;
        for (std::size_t t; (t = next_.fetch_add(1)) < n_tasks_;) {
            try {
                if (!failed_.load()) job_(t, thread);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                if (!error_) error_ = std::current_exception();
                failed_.store(true);
            }
            finished_.fetch_add(1);
        }
        in_parallel() = false;
    }

    void work(int thread) {
        std::uint64_t seen = 0;
        for (;;) {
            // Spin a little (a training step runs parallel regions back to back), then sleep.
            for (int spin = 0; generation_.load() == seen && !stopping_.load() && spin < spin_limit;
                 ++spin)
                pause();
            if (generation_.load() == seen) {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return stopping_.load() || generation_.load() != seen; });
            }
            if (stopping_.load()) return;
            seen = generation_.load();
            active_.fetch_add(1);
            if (open_.load()) execute(thread);
            active_.fetch_sub(1);
        }
    }

    static void pause() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#else
        std::this_thread::yield();
#endif
    }
    static constexpr int spin_limit = 200000;  // a few milliseconds
    /// Busy-waits briefly, then gives the core away on every further round.
    static void relax(int spin) {
        if (spin < spin_limit)
            pause();
        else
            std::this_thread::yield();
    }

    void stop() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_.store(true);
        }
        wake_.notify_all();
        for (auto& w : workers_) w.join();
        workers_.clear();
    }

    std::vector<std::thread> workers_;
    std::mutex run_mutex_, mutex_;
    std::condition_variable wake_;
    // The region's description, written by the caller before it is published; the counters the
    // threads update while it runs; and the generation the idle workers spin on, each on a cache
    // line of its own, so that a worker spinning on one does not take the others from the caller.
    alignas(64) std::function<void(std::size_t, int)> job_;
    std::size_t n_tasks_ = 0;
    std::exception_ptr error_;
    alignas(64) std::atomic<std::size_t> next_{0}, finished_{0};
    std::atomic<int> active_{0};
    std::atomic<bool> open_{false}, failed_{false};
    alignas(64) std::atomic<std::uint64_t> generation_{0};
    std::atomic<bool> stopping_{false};
};

/// Work of fewer floating-point operations than this runs on one thread: below it, handing half
/// of it to another thread costs more than it saves (docs/performance.md).
inline constexpr double min_parallel_flops = 4e6;

/// Whether a product of `mults` multiply-adds over values of T is worth sharing out over the
/// threads: a matrix product from min_parallel_flops; a matrix-vector product (one row or column
/// of the result), which is bound by reading its `mults`-value matrix, once that matrix outgrows a
/// core's L2 share (256 KB). The rule of gemm_parallel and of sparse_gemm.
template <class T>
bool worth_sharing(double mults, bool vector_product) {
    return vector_product ? mults * double(sizeof(T)) >= double(1 << 18)
                          : 2.0 * mults >= min_parallel_flops;
}

/// Runs f(task, thread) for task in [0, n_tasks) on the pool (see the file comment).
template <class F>
void parallel_for(std::size_t n_tasks, F&& f) {
    thread_pool::instance().run(n_tasks, std::forward<F>(f));
}

/// Number of threads a parallel_for called here runs on: the pool's size, or 1 inside a task
/// (where a nested call runs serially).
inline int pool_size() {
    return thread_pool::in_task() ? 1 : thread_pool::instance().size();
}

/// Runs f(begin, end) on contiguous ranges covering [0, n), one per thread, each of at least
/// `min_per_range` items; fewer items run as f(0, n) on the caller. For passes bound by memory
/// (copies, scans), where a second core adds bandwidth.
template <class F>
void parallel_ranges(std::size_t n, std::size_t min_per_range, F&& f) {
    const std::size_t parts =
        std::min(std::size_t(pool_size()), n / std::max<std::size_t>(min_per_range, 1));
    if (parts <= 1) {
        f(std::size_t(0), n);
        return;
    }
    parallel_for(parts, [&](std::size_t t, int) { f(n * t / parts, n * (t + 1) / parts); });
}

}  // namespace xkeras::backend
