// A second translation unit that includes everything (the plotting headers too): if any
// non-template function in a header were not `inline`, linking it with the other test TUs would
// fail (multiple definitions).
#include <xkeras/plot.hpp>
#include <xkeras/xkeras.hpp>

namespace testing {
std::string second_tu_shape() {
    return xkeras::shape_str({1, 2}, true);
}
}  // namespace testing
