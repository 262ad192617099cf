// tests/thread_count.hpp - a test's steps at a given thread count.
#pragma once

#include <xkeras/xkeras.hpp>

namespace testing {

/// Sets the pool's thread count for a scope, and gives back the count found on entry when the
/// scope ends: also when a REQUIRE fails in between, so that one failing test cannot leave the
/// next ones on another thread count.
class scoped_threads {
  public:
    explicit scoped_threads(int n) : before_(xkeras::get_num_threads()) {
        xkeras::set_num_threads(n);
    }
    ~scoped_threads() { xkeras::set_num_threads(before_); }
    scoped_threads(const scoped_threads&) = delete;
    scoped_threads& operator=(const scoped_threads&) = delete;

  private:
    int before_;
};

}  // namespace testing
