// backend/fast_math.hpp: exp, sigmoid and tanh in float against the C library's in double,
// swept over their whole useful range (every 97th float bit pattern), with the edges: the
// clamps, tiny arguments, infinities and NaN.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include <xkeras/backend/fast_math.hpp>

namespace fast = xkeras::backend::fast;

namespace {

/// Every 97th float from lo to hi (both > 0 or both < 0 in bit order), calling f on each.
template <class F>
void sweep(float lo, float hi, F&& f) {
    std::uint32_t a, b;
    std::memcpy(&a, &lo, 4);
    std::memcpy(&b, &hi, 4);
    if (a > b) std::swap(a, b);
    for (std::uint32_t u = a; u <= b; u += 97) {
        float x;
        std::memcpy(&x, &u, 4);
        f(x);
    }
}

/// |a - b| in units of the float spacing at b.
double ulps(double a, double b) {
    const double spacing =
        std::nextafter(float(b), std::numeric_limits<float>::infinity()) - float(b);
    return std::abs(a - b) / std::abs(spacing);
}

}  // namespace

TEST_CASE("fast::exp is within 2 ulp of exp over float's normal range", "[fast_math]") {
    double worst = 0;
    float at = 0;
    auto check = [&](float x) {
        const double e = ulps(fast::exp(x), std::exp(double(x)));
        if (e > worst) worst = e, at = x;
    };
    sweep(1e-30f, 87.3f, check);
    sweep(-1e-30f, -87.3f, check);
    INFO("worst " << worst << " ulp at x = " << at);
    CHECK(worst <= 2.0);
    CHECK(fast::exp(0.0f) == 1.0f);
    // outside the clamps: finite and monotone, as far as a float goes
    CHECK(fast::exp(1000.0f) == fast::exp(88.3f));
    CHECK(std::isfinite(fast::exp(std::numeric_limits<float>::infinity())));
    CHECK(fast::exp(-1000.0f) > 0.0f);
    CHECK(fast::exp(-1000.0f) < 1e-37f);
    CHECK(std::isnan(fast::exp(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("fast::sigmoid and fast::tanh are within a few ulp everywhere", "[fast_math]") {
    double worst_s = 0, worst_t = 0;
    float at_s = 0, at_t = 0;
    auto check = [&](float x) {
        const double s = 1.0 / (1.0 + std::exp(-double(x)));
        const double es = ulps(fast::sigmoid(x), s);
        if (es > worst_s) worst_s = es, at_s = x;
        const double et = ulps(fast::tanh(x), std::tanh(double(x)));
        if (et > worst_t) worst_t = et, at_t = x;
    };
    sweep(1e-38f, 80.0f, check);
    sweep(-1e-38f, -80.0f, check);
    INFO("sigmoid: worst " << worst_s << " ulp at " << at_s << "; tanh: worst " << worst_t
                           << " ulp at " << at_t);
    CHECK(worst_s <= 4.0);
    CHECK(worst_t <= 4.0);
    // the limits, and the sign of zero kept
    CHECK(fast::sigmoid(200.0f) == 1.0f);
    CHECK(fast::sigmoid(-200.0f) < 1e-37f);
    CHECK(fast::tanh(200.0f) == 1.0f);
    CHECK(fast::tanh(-200.0f) == -1.0f);
    CHECK(std::signbit(fast::tanh(-0.0f)));
    CHECK(fast::tanh(1e-20f) == 1e-20f);
    CHECK(std::isnan(fast::sigmoid(std::numeric_limits<float>::quiet_NaN())));
    CHECK(std::isnan(fast::tanh(std::numeric_limits<float>::quiet_NaN())));
}
