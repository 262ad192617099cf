// tests/gradient_check.hpp - numerical gradient checks in double precision.
//
// For a layer f, the scalar L = sum(f(x) * r) with a fixed random r has dL/dy = r, so
// backward(r) must give dL/dx and dL/dparams; each is compared with central differences.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>

#include <xkeras/xkeras.hpp>

namespace testing {

namespace xk = xkeras;

/// Tensor of `shape` with values uniform in [lo, hi), from `seed`.
inline xt::xarray<double> random_tensor(const xk::shape_t& shape, std::uint64_t seed,
                                        double lo = -1.0, double hi = 1.0) {
    xk::detail::rng gen(seed);
    xt::xarray<double> t(shape);
    for (auto* p = t.data(); p != t.data() + t.size(); ++p) *p = gen.uniform(lo, hi);
    return t;
}

/// A batch of n samples of `shape` (batch axis excluded), as random_tensor.
inline xt::xarray<double> random_batch(std::size_t n, xk::shape_t shape, std::uint64_t seed,
                                       double lo = -1.0, double hi = 1.0) {
    shape.insert(shape.begin(), n);
    return random_tensor(shape, seed, lo, hi);
}

/// Largest |a - n| / max(1e-8, |a| + |n|) over all entries.
inline double max_relative_error(const xt::xarray<double>& analytic,
                                 const xt::xarray<double>& numeric) {
    double worst = 0.0;
    for (std::size_t i = 0; i < analytic.size(); ++i) {
        double a = analytic.data()[i], n = numeric.data()[i];
        double err = std::abs(a - n) / std::max(1e-8, std::abs(a) + std::abs(n));
        if (std::abs(a - n) < 1e-9) err = 0.0;  // both (near) zero
        worst = std::max(worst, err);
    }
    return worst;
}

/// Central difference of `f` with respect to every entry of `v`.
inline xt::xarray<double> numeric_gradient(xt::xarray<double>& v, const std::function<double()>& f,
                                           double h = 1e-6) {
    xt::xarray<double> g = xt::zeros<double>(v.shape());
    for (std::size_t i = 0; i < v.size(); ++i) {
        double keep = v.data()[i];
        v.data()[i] = keep + h;
        double up = f();
        v.data()[i] = keep - h;
        double down = f();
        v.data()[i] = keep;
        g.data()[i] = (up - down) / (2 * h);
    }
    return g;
}

/// Central difference of L = sum(f() * r) with respect to every entry of `v`. The two passes'
/// outputs are subtracted entry by entry before they are weighted and summed: outputs the
/// perturbation leaves alone cancel exactly, so the rounding error scales with the outputs that
/// change, not with the whole of L (which, for a layer with many outputs, can swamp a small
/// gradient entry).
inline xt::xarray<double> numeric_output_gradient(
    xt::xarray<double>& v, const std::function<const xt::xarray<double>&()>& f,
    const xt::xarray<double>& r, double h = 1e-6) {
    xt::xarray<double> g = xt::zeros<double>(v.shape());
    for (std::size_t i = 0; i < v.size(); ++i) {
        const double keep = v.data()[i];
        v.data()[i] = keep + h;
        const xt::xarray<double> up = f();
        v.data()[i] = keep - h;
        const auto& down = f();  // may be `v` itself (an identity layer): read before restoring
        double s = 0.0;
        for (std::size_t j = 0; j < up.size(); ++j)
            s += (up.data()[j] - down.data()[j]) * r.data()[j];
        v.data()[i] = keep;
        g.data()[i] = s / (2 * h);
    }
    return g;
}

/// Checks dL/dx and dL/d(trainable params) of `layer` (built already) at input `x`, in training
/// mode. A layer with a training state (Dropout's mask stream) is given the state it had on
/// entry before every pass, so that each pass draws the same masks.
inline void check_layer_gradients(xk::layers::Layer<double>& layer, xt::xarray<double> x,
                                  double tolerance = 1e-6, std::uint64_t seed = 7,
                                  bool input_gradient = true) {
    const nlohmann::json state = layer.training_state();
    auto forward = [&]() -> const xt::xarray<double>& {
        if (!state.is_null()) layer.set_training_state(state);
        return layer.forward(x, true);
    };
    auto y0 = forward();
    auto r = random_tensor(xk::shape_of(y0), seed);
    forward();
    xt::xarray<double> dx = layer.backward(r, true);
    std::vector<xt::xarray<double>> grads;
    for (auto* p : layer.params()) grads.push_back(p->grad);

    if (input_gradient) {
        auto ndx = numeric_output_gradient(x, forward, r);
        INFO("layer " << layer.name() << " (" << layer.class_name() << "): dL/dx");
        CHECK(max_relative_error(dx, ndx) < tolerance);
    }
    auto params = layer.params();
    for (std::size_t k = 0; k < params.size(); ++k) {
        if (!params[k]->trainable) continue;  // moving statistics have no gradient
        auto ng = numeric_output_gradient(params[k]->value, forward, r);
        INFO("param " << params[k]->name);
        CHECK(max_relative_error(grads[k], ng) < tolerance);
    }
}

}  // namespace testing
