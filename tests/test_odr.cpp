// Two TUs include the whole library (this one and odr_second_tu.cpp); the test links them.
#include <catch2/catch.hpp>

#include <xkeras/plot.hpp>
#include <xkeras/xkeras.hpp>

namespace testing {
std::string second_tu_shape();
}

TEST_CASE("Two translation units including everything link together", "[odr]") {
    CHECK(testing::second_tu_shape() == xkeras::shape_str({1, 2}, true));
    CHECK(testing::second_tu_shape() == "(None, 1, 2)");
}
