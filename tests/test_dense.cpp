// Dense: shapes, forward values, gradients, options and errors.
#include "gradient_check.hpp"
#include "isa_level.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

TEST_CASE("Dense computes x . kernel + bias with Keras's kernel layout (in, units)", "[dense]") {
    layers::Dense<double> d(2, {.bias_initializer = initializers::Constant(0.5)});
    d.build({3});
    REQUIRE(d.count_params() == 3 * 2 + 2);
    d.set_weights({xt::xarray<double>{{1, 2}, {3, 4}, {5, 6}}, xt::xarray<double>{0.5, -0.5}});
    xt::xarray<double> x{{1, 0, -1}, {2, 1, 0}};
    auto y = d.forward(x, false);
    CHECK((y == xt::xarray<double>{{1 - 5 + 0.5, 2 - 6 - 0.5}, {2 + 3 + 0.5, 4 + 4 - 0.5}}));
}

TEST_CASE("Dense output shapes follow Keras, including rank > 2 inputs", "[dense]") {
    layers::Dense<double> d(7);
    CHECK(d.compute_output_shape({5}) == shape_t{7});
    CHECK(d.compute_output_shape({4, 5}) == shape_t{4, 7});
    CHECK_THROWS_AS(d.compute_output_shape({}), shape_error);
}

TEST_CASE("Dense gradients match central differences for every activation", "[dense][gradient]") {
    for (const char* act : {"linear", "relu", "sigmoid", "tanh", "softmax"}) {
        SECTION(act) {
            utils::set_random_seed(11);
            layers::Dense<double> d(4, act);
            d.build({5});
            // non-zero bias so that relu kinks are not hit at 0
            d.params()[1]->value = random_tensor({4}, 3, -0.3, 0.3);
            check_layer_gradients(d, random_tensor({3, 5}, 5));
        }
    }
}

TEST_CASE("Dense gradients without bias and on rank-3 input", "[dense][gradient]") {
    utils::set_random_seed(12);
    layers::Dense<double> nobias(3, {.activation = "tanh", .use_bias = false});
    nobias.build({4});
    CHECK(nobias.params().size() == 1);
    check_layer_gradients(nobias, random_tensor({2, 4}, 8));

    layers::Dense<double> rank3(3, "sigmoid");
    rank3.build({2, 4});
    CHECK(rank3.output_shape() == shape_t{2, 3});
    check_layer_gradients(rank3, random_tensor({2, 2, 4}, 9));
}

TEST_CASE("Dense multiplies mostly-zero inputs by their nonzero entries, with the same results",
          "[dense][gradient][sparse]") {
    // 64 units of doubles: the sparse route runs below a density of 1/3 - 10/64 = 18% (1 in 10
    // here), and at batch 1 up to 85% where the units fill whole vectors; a dense input keeps
    // the GEMM
    auto sparse_x = [](std::size_t rows, std::size_t in, std::uint64_t seed) {
        auto x = random_tensor({rows, in}, seed);
        for (std::size_t i = 0; i < x.size(); ++i)
            if (i % 10 != 3) x.data()[i] = 0.0;
        return x;
    };
    utils::set_random_seed(13);
    layers::Dense<double> d(64, "tanh");
    d.build({40});
    d.params()[1]->value = random_tensor({64}, 4, -0.3, 0.3);
    for (std::size_t rows : {std::size_t(1), std::size_t(5)}) {
        const auto x = sparse_x(rows, 40, 20 + rows);
        const xt::xarray<double> y = d.forward(x, false);
        CHECK(d.sparse_input());
        const auto& w = d.params()[0]->value;
        const auto& b = d.params()[1]->value;
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t u = 0; u < 64; ++u) {
                double z = b(u);
                for (std::size_t i = 0; i < 40; ++i) z += x(r, i) * w(i, u);
                CHECK(y(r, u) == Approx(std::tanh(z)).epsilon(1e-12));
            }
    }
    SECTION("gradients, the weight gradient through the transposed sparse product") {
        check_layer_gradients(d, sparse_x(6, 40, 30));
        CHECK(d.sparse_input());
    }
    SECTION("batch 1") {
        check_layer_gradients(d, sparse_x(1, 40, 31));
        CHECK(d.sparse_input());
    }
    SECTION("batch 1: up to 85% on whole vectors of units, never with a partial vector") {
        auto with_density = [](std::size_t in, std::size_t nonzero) {
            xt::xarray<float> x = xt::cast<float>(random_tensor({1, in}, 34, 0.1, 1.0));
            for (std::size_t i = nonzero; i < in; ++i) x.data()[i] = 0.f;
            return x;
        };
        layers::Dense<float> whole(64), partial(10);
        whole.build({100});
        partial.build({100});
        whole.forward(with_density(100, 80), false);
        CHECK(whole.sparse_input());
        whole.forward(with_density(100, 90), false);
        CHECK_FALSE(whole.sparse_input());
        partial.forward(with_density(100, 20), false);
        CHECK_FALSE(partial.sparse_input());
    }
    SECTION("a dense input keeps the GEMM") {
        d.forward(random_tensor({6, 40}, 32), false);
        CHECK_FALSE(d.sparse_input());
    }
    SECTION("floats at 30%: sparse where the level compresses 16 values at a time") {
        // below 1/2 - 5/64 = 42% at the AVX-512 level, else below 18%; the same values either way
        const auto level = GENERATE(from_range(testing::available_isas()));
        INFO("instruction-set level " << backend::name(level));
        testing::scoped_isa at(level);
        layers::Dense<float> f(64);
        f.build({40});
        xt::xarray<float> x = random_tensor({8, 40}, 33);
        for (std::size_t i = 0; i < x.size(); ++i)
            if (i % 10 > 2) x.data()[i] = 0.f;
        const xt::xarray<float> y = f.forward(x, false);
        CHECK(f.sparse_input() == backend::fast_compress<float>());
        const auto& w = f.params()[0]->value;  // the bias starts at zero
        for (std::size_t r = 0; r < 8; ++r)
            for (std::size_t u = 0; u < 64; ++u) {
                double z = 0.0;
                for (std::size_t i = 0; i < 40; ++i) z += double(x(r, i)) * double(w(i, u));
                CHECK(y(r, u) == Approx(z).margin(1e-5));
            }
    }
}

TEST_CASE("Dense rejects bad configuration and wrong input shapes", "[dense][errors]") {
    CHECK_THROWS_AS(layers::Dense<float>(0), value_error);
    CHECK_THROWS_AS(layers::Dense<float>(-3), value_error);
    CHECK_THROWS_WITH(layers::Dense<float>(3, "relux"),
                      Catch::Contains("unknown activation 'relux'"));
    CHECK_THROWS_WITH(layers::Dense<float>(3, {.kernel_initializer = "glorot"}),
                      Catch::Contains("unknown initializer 'glorot'"));
    layers::Dense<float> d(3, {.name = "my_dense"});
    d.build({4});
    xt::xarray<float> x = xt::zeros<float>({2, 5});
    CHECK_THROWS_WITH(d.forward(x, false), Catch::Contains("my_dense") &&
                                               Catch::Contains("(None, 4)") &&
                                               Catch::Contains("(2, 5)"));
}

TEST_CASE("Dense set_weights checks count and shapes and names the layer", "[dense][errors]") {
    layers::Dense<float> d(3, {.name = "head"});
    d.build({2});
    CHECK_THROWS_AS(d.set_weights({xt::xarray<float>(xt::zeros<float>({2, 3}))}), value_error);
    CHECK_THROWS_WITH(
        d.set_weights({xt::xarray<float>(xt::zeros<float>({3, 2})),
                       xt::xarray<float>(xt::zeros<float>({3}))}),
        Catch::Contains("head/kernel") && Catch::Contains("(2, 3)") && Catch::Contains("(3, 2)"));
}

TEST_CASE("Layers get Keras's automatic names", "[dense][names]") {
    backend::clear_session();
    layers::Dense<float> a(1), b(1);
    layers::Dropout<float> c(0.1);
    layers::Dense<float> e(1);
    CHECK(a.name() == "dense");
    CHECK(b.name() == "dense_1");
    CHECK(c.name() == "dropout");
    CHECK(e.name() == "dense_2");
    CHECK(a.params().empty());  // not built yet
    a.build({2});
    CHECK(a.params()[0]->name == "dense/kernel");
    CHECK(a.params()[1]->name == "dense/bias");
}

TEST_CASE("Kernel and bias regularizers add their gradient through the model",
          "[dense][regularizers]") {
    regularizers::Regularizer r = regularizers::L1L2(0.01, 0.02);
    xt::xarray<double> w{1.0, -2.0, 0.0};
    CHECK(r.penalty(w.data(), w.size()) == Approx(0.01 * 3 + 0.02 * 5));
    xt::xarray<double> g = xt::zeros<double>({3});
    r.add_gradient(w.data(), g.data(), 3);
    CHECK(g(0) == Approx(0.01 + 0.04));
    CHECK(g(1) == Approx(-0.01 - 0.08));
    CHECK(g(2) == Approx(0.0));
    CHECK(regularizers::Regularizer("l2").l2 == 0.01);
    CHECK(regularizers::Regularizer("l1").l1 == 0.01);
    CHECK_THROWS_AS(regularizers::Regularizer("l3"), value_error);
    CHECK_THROWS_AS(regularizers::L2(-1.0), value_error);
}
