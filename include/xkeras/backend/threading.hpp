// xkeras/backend/threading.hpp - the one knob for the number of threads.
//
// `set_num_threads(n)` sets both OpenBLAS's thread count and the count the library's own loops
// use. At start-up the count comes from the environment variable XKERAS_NUM_THREADS when set,
// otherwise from std::thread::hardware_concurrency().
#pragma once

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "../config.hpp"
#include "blas.hpp"

namespace xkeras {

namespace detail {
inline int default_num_threads() {
    if (const char* env = std::getenv("XKERAS_NUM_THREADS")) {
        char* end = nullptr;
        long v = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && v > 0 && v <= 4096) return static_cast<int>(v);
    }
    unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : static_cast<int>(hc);
}

inline std::atomic<int>& num_threads_state() {
    static std::atomic<int> n{[] {
        int v = default_num_threads();
        backend::blas_set_num_threads(v);
        return v;
    }()};
    return n;
}
}  // namespace detail

/// Number of threads used by OpenBLAS and by xkeras's own loops.
inline int get_num_threads() {
    return detail::num_threads_state().load();
}

/// Sets the number of threads used by OpenBLAS and by xkeras's own loops. Must be >= 1.
inline void set_num_threads(int n) {
    if (n < 1)
        throw value_error(detail::cat("set_num_threads: expected a thread count >= 1, got ", n));
    detail::num_threads_state().store(n);
    backend::blas_set_num_threads(n);
}

}  // namespace xkeras
