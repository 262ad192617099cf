// tests/isa_level.hpp - a test's steps at a forced instruction-set level (backend/cpu.hpp).
#pragma once

#include <vector>

#include <xkeras/backend/cpu.hpp>

namespace testing {

/// The levels this CPU runs (one in a program built with XKERAS_ONE_LEVEL), lowest first: the
/// suite runs the dispatched kernels at each.
inline std::vector<xkeras::backend::isa> available_isas() {
    using xkeras::backend::isa;
    std::vector<isa> levels;
    for (isa level : {isa::generic, isa::avx2, isa::avx512})
        if (level >= xkeras::backend::lowest_isa() && level <= xkeras::backend::detected_isa())
            levels.push_back(level);
    return levels;
}

/// Forces a level for a scope and gives back the one found on entry when the scope ends, also
/// when a REQUIRE fails in between.
class scoped_isa {
  public:
    explicit scoped_isa(xkeras::backend::isa level) : before_(xkeras::backend::active_isa()) {
        xkeras::backend::set_isa(level);
    }
    ~scoped_isa() { xkeras::backend::set_isa(before_); }
    scoped_isa(const scoped_isa&) = delete;
    scoped_isa& operator=(const scoped_isa&) = delete;

  private:
    xkeras::backend::isa before_;
};

}  // namespace testing
