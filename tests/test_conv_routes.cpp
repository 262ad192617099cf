// Conv2D's routes (backend/conv/route.hpp): every route that can run a pass, forced, against the
// plain GEMM route on the same inputs, forward (inference and training) and backward (weight,
// bias and input gradients), at every instruction-set level the CPU runs; what select_route
// picks; and a forced route that cannot run.
#include "gradient_check.hpp"
#include "isa_level.hpp"
#include "thread_count.hpp"

using namespace xkeras;
using testing::random_tensor;
using pass = backend::conv::pass;
using route = backend::conv::route;

namespace {

constexpr route all_routes[] = {route::gemm, route::small_patch, route::direct, route::winograd_2x2,
                                route::winograd_4x4};

struct geometry_case {
    const char* what;
    int filters;
    layers::size2 window, strides, dilation;
    shape_t input;
    const char* padding;
    const char* activation;
};

const geometry_case cases[] = {
    {"3x3 same, 16 channels to 32, ReLU", 32, 3, 1, 1, {9, 10, 16}, "same", "relu"},
    {"a first layer: 3x3 on one channel to 32, ReLU", 32, 3, 1, 1, {12, 11, 1}, "same", "relu"},
    {"a first layer: 2x2 valid on 3 channels to 16, no activation",
     16,
     2,
     1,
     1,
     {7, 6, 3},
     "valid",
     "linear"},
    {"5x5 valid, 8 channels to 16, tanh", 16, 5, 1, 1, {9, 8, 8}, "valid", "tanh"},
    {"1x1, 24 channels to 16, sigmoid", 16, 1, 1, 1, {5, 6, 24}, "valid", "sigmoid"},
    {"strides 2, 3x3 same, 8 channels to 16", 16, 3, 2, 1, {9, 9, 8}, "same", "relu"},
    {"dilation 2, 3x3 on one channel to 8", 8, 3, 1, 2, {10, 9, 1}, "same", "relu"},
    {"12 filters (not whole vectors), 3x3 on one channel", 12, 3, 1, 1, {6, 7, 1}, "same", "relu"},
    {"4x4 Winograd tiles: 22x21 output, 16 channels to 16",
     16,
     3,
     1,
     1,
     {22, 21, 16},
     "same",
     "linear"},
    // a single image large enough to be shared out over the threads (min_parallel_flops)
    {"one image shared out: 14x14x32 to 64, ReLU", 64, 3, 1, 1, {14, 14, 32}, "same", "relu"},
};

/// Largest |a - b| over the scale of b (at least 1).
double relative_difference(const xt::xarray<float>& a, const xt::xarray<float>& b) {
    REQUIRE(a.shape() == b.shape());
    const double scale = std::max(1.0, double(xt::amax(xt::abs(b))()));
    return double(xt::amax(xt::abs(a - b))()) / scale;
}

/// Winograd's transforms round differently from a sum of products (winograd.hpp).
double tolerance(route r) {
    return r == route::winograd_4x4 ? 2e-5 : r == route::winograd_2x2 ? 1e-5 : 2e-6;
}

struct gradients {
    xt::xarray<float> kernel, bias, input;
};

gradients backward_by(layers::Conv2D<float>& conv, const xt::xarray<float>& x,
                      const xt::xarray<float>& dy, bool need_input_grad) {
    conv.forward(x, true);
    gradients g;
    g.input = conv.backward(dy, need_input_grad);
    g.kernel = conv.params()[0]->grad;
    g.bias = conv.params()[1]->grad;
    return g;
}

}  // namespace

TEST_CASE("Every Conv2D route gives the GEMM route's results, forward and backward",
          "[conv2d][routes]") {
    const auto level = GENERATE(from_range(testing::available_isas()));
    INFO("instruction-set level " << backend::name(level));
    testing::scoped_isa at(level);
    testing::scoped_threads threads(2);
    std::set<std::pair<pass, route>> tried;
    for (const auto& c : cases) {
        INFO(c.what);
        {
            utils::set_random_seed(5);
            layers::Conv2D<float> conv(
                c.filters, c.window,
                {.strides = c.strides,
                 .padding = c.padding,
                 .dilation_rate = c.dilation,
                 .activation = c.activation,
                 .bias_initializer = initializers::RandomUniform(-0.2, 0.2)});
            conv.build(c.input);
            const std::size_t n = c.input[0] * c.input[1] >= 196 ? 1 : 3;
            shape_t xs = c.input;
            xs.insert(xs.begin(), n);
            const xt::xarray<float> x = xt::cast<float>(random_tensor(xs, 3));
            shape_t ys = conv.output_shape();
            ys.insert(ys.begin(), n);
            const xt::xarray<float> dy = xt::cast<float>(random_tensor(ys, 4));
            // makes pass p take route r; false (and nothing changed) where r cannot run it
            auto force = [&](pass p, route r) {
                try {
                    conv.force_route(p, r);
                    return true;
                } catch (const value_error&) {
                    return false;
                }
            };
            for (pass p : {pass::inference, pass::training}) {
                conv.force_route(p, route::gemm);
                const xt::xarray<float> reference = conv.forward(x, p == pass::training);
                for (route r : all_routes) {
                    if (!force(p, r)) continue;
                    INFO(backend::conv::name(p) << " by " << backend::conv::name(r));
                    tried.insert({p, r});
                    CHECK(relative_difference(conv.forward(x, p == pass::training), reference) <=
                          tolerance(r));
                }
                conv.force_route(p, std::nullopt);
            }
            conv.force_route(pass::training, route::gemm);
            for (bool need_input_grad : {true, false}) {
                conv.force_route(pass::weight_gradient, route::gemm);
                conv.force_route(pass::input_gradient, route::gemm);
                const gradients reference = backward_by(conv, x, dy, need_input_grad);
                for (pass p : {pass::weight_gradient, pass::input_gradient}) {
                    if (p == pass::input_gradient && !need_input_grad) continue;
                    for (route r : all_routes) {
                        if (!force(p, r)) continue;
                        INFO(backend::conv::name(p)
                             << " by " << backend::conv::name(r)
                             << (need_input_grad ? "" : ", no input gradient"));
                        tried.insert({p, r});
                        const gradients by = backward_by(conv, x, dy, need_input_grad);
                        CHECK(relative_difference(by.kernel, reference.kernel) <= 2e-6);
                        CHECK(relative_difference(by.bias, reference.bias) <= 2e-6);
                        if (need_input_grad)
                            CHECK(relative_difference(by.input, reference.input) <= 2e-6);
                        conv.force_route(p, route::gemm);
                    }
                }
            }
        }
    }
    // every route of every pass was run against the GEMM route
    for (pass p : {pass::inference, pass::training, pass::weight_gradient, pass::input_gradient})
        for (route r : all_routes) {
            const bool exists =
                p == pass::inference || ((r == route::gemm || r == route::direct) ||
                                         (r == route::small_patch && p != pass::input_gradient));
            INFO(backend::conv::name(p) << " by " << backend::conv::name(r));
            CHECK(tried.count({p, r}) == std::size_t(exists));
        }
}

TEST_CASE("select_route takes each route where its kernels win", "[conv2d][routes]") {
    auto layer = [](int filters, shape_t input, int window = 3, int strides = 1) {
        layers::Conv2D<float> conv(filters, window, {.strides = strides, .padding = "same"});
        conv.build(input);
        return conv;
    };
    // a first layer on one channel: small patches, its weight gradient in one pass over dy
    auto first = layer(32, {28, 28, 1});
    CHECK(first.route_of(pass::inference) == route::small_patch);
    CHECK(first.route_of(pass::training) == route::small_patch);
    CHECK(first.route_of(pass::weight_gradient, false) == route::small_patch);
    CHECK(first.route_of(pass::weight_gradient, true) == route::gemm);
    // 3x3 on 32 channels to 32: Winograd at inference (2x2 tiles under 400 output pixels, 4x4
    // from there), the direct kernels in training (with AVX2's and AVX-512's vectors alike)
    auto middle = layer(32, {14, 14, 32});
    CHECK(middle.route_of(pass::inference) == route::winograd_2x2);
    CHECK(middle.route_of(pass::training) == route::direct);
    CHECK(middle.route_of(pass::weight_gradient) == route::direct);
    CHECK(middle.route_of(pass::input_gradient) == route::direct);
    CHECK(layer(32, {24, 24, 32}).route_of(pass::inference) == route::winograd_4x4);
    // strides 2, filters not in whole vectors, 1x1 windows: GEMM
    CHECK(layer(64, {14, 14, 32}, 3, 2).route_of(pass::training) == route::gemm);
    CHECK(layer(60, {14, 14, 32}).route_of(pass::inference) == route::gemm);
    CHECK(layer(64, {14, 14, 32}, 1).route_of(pass::inference) == route::gemm);
}

TEST_CASE("A forced route that cannot run the convolution is refused, naming it",
          "[conv2d][routes][errors]") {
    layers::Conv2D<float> conv(12, 3, {.strides = 2, .name = "c"});
    CHECK_THROWS_AS(conv.force_route(pass::inference, route::direct), state_error);  // unbuilt
    conv.build({8, 8, 4});
    CHECK_THROWS_WITH(conv.force_route(pass::inference, route::direct),
                      Catch::Contains("layer 'c' (Conv2D)") &&
                          Catch::Contains("direct route cannot run the inference pass"));
    CHECK_THROWS_AS(conv.force_route(pass::training, route::winograd_2x2), value_error);
    CHECK_THROWS_AS(conv.force_route(pass::input_gradient, route::small_patch), value_error);
    conv.force_route(pass::inference, route::gemm);
    CHECK(conv.route_of(pass::inference) == route::gemm);
}
