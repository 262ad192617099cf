// xkeras/backend/threading.hpp - the one knob for the number of threads.
//
// `set_num_threads(n)` sets the number of threads of xkeras's pool, which runs every parallel
// part of the library, GEMMs included (OpenBLAS itself stays at one thread, so that its threads
// and ours do not compete). The default comes from the environment variable XKERAS_NUM_THREADS
// when set, otherwise from std::thread::hardware_concurrency().
#pragma once

#include "../config.hpp"
#include "parallel.hpp"

namespace xkeras {

/// Number of threads xkeras uses.
inline int get_num_threads() {
    return backend::thread_pool::instance().size();
}

/// Sets the number of threads xkeras uses (>= 1). Call it between, not during, fit / predict.
inline void set_num_threads(int n) {
    if (n < 1)
        throw value_error(detail::cat("set_num_threads: expected a thread count >= 1, got ", n));
    backend::thread_pool::instance().resize(n);
    backend::blas_set_num_threads(1);
}

}  // namespace xkeras
