// Optimizers: three steps of every update rule against values computed by hand from Keras 3's
// formulas (keras/src/optimizers/*.py), in double precision.
#include <catch2/catch.hpp>

#include <cmath>

#include <xkeras/xkeras.hpp>

using namespace xkeras;

namespace {

// One parameter w = (1.0, -2.0) and three fixed gradients.
const double w0[2] = {1.0, -2.0};
const double grads[3][2] = {{0.5, -1.0}, {0.1, 0.2}, {-0.3, 0.4}};

/// Runs three steps of `opt` and returns w after each step.
std::vector<std::array<double, 2>> run(optimizers::Optimizer<double>& opt) {
    layers::Param<double> p;
    p.name = "dense/kernel";
    p.value = xt::xarray<double>{w0[0], w0[1]};
    p.grad = xt::zeros<double>({2});
    std::vector<std::array<double, 2>> out;
    for (const auto& g : grads) {
        p.grad = xt::xarray<double>{g[0], g[1]};
        opt.apply({&p});
        out.push_back({p.value(0), p.value(1)});
    }
    return out;
}

void check_steps(const std::vector<std::array<double, 2>>& got,
                 const std::vector<std::array<double, 2>>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t s = 0; s < got.size(); ++s)
        for (int i = 0; i < 2; ++i) {
            INFO("step " << s + 1 << ", w[" << i << "]");
            CHECK(got[s][i] == Approx(want[s][i]).epsilon(1e-12));
        }
}

}  // namespace

TEST_CASE("SGD: plain, momentum and nesterov follow Keras 3", "[optimizers]") {
    {
        optimizers::SGD<double> sgd(0.1);
        // w -= lr g
        check_steps(run(sgd), {{{0.95, -1.9}}, {{0.94, -1.92}}, {{0.97, -1.96}}});
        CHECK(sgd.iterations() == 3);
    }
    {
        optimizers::SGD<double> sgd({.learning_rate = 0.1, .momentum = 0.9});
        // m = 0.9 m - 0.1 g; w += m
        // m1 = (-0.05, 0.1), w1 = (0.95, -1.9)
        // m2 = (-0.045 - 0.01, 0.09 - 0.02) = (-0.055, 0.07), w2 = (0.895, -1.83)
        // m3 = (-0.0495 + 0.03, 0.063 - 0.04) = (-0.0195, 0.023), w3 = (0.8755, -1.807)
        check_steps(run(sgd), {{{0.95, -1.9}}, {{0.895, -1.83}}, {{0.8755, -1.807}}});
    }
    {
        optimizers::SGD<double> sgd({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});
        // w += 0.9 m_new - 0.1 g
        // w1 = 1 + 0.9(-0.05) - 0.05 = 0.905 ; -2 + 0.09 + 0.1 = -1.81
        // w2 = 0.905 + 0.9(-0.055) - 0.01 = 0.8455 ; -1.81 + 0.063 - 0.02 = -1.767
        // w3 = 0.8455 + 0.9(-0.0195) + 0.03 = 0.85795 ; -1.767 + 0.0207 - 0.04 = -1.7863
        check_steps(run(sgd), {{{0.905, -1.81}}, {{0.8455, -1.767}}, {{0.85795, -1.7863}}});
    }
}

TEST_CASE("Adam and AMSGrad follow Keras 3 (epsilon added to the uncorrected sqrt(v))",
          "[optimizers]") {
    for (bool amsgrad : {false, true}) {
        optimizers::Adam<double> adam({.learning_rate = 0.01, .amsgrad = amsgrad});
        double w[2] = {w0[0], w0[1]}, m[2] = {0, 0}, v[2] = {0, 0}, vh[2] = {0, 0};
        std::vector<std::array<double, 2>> want;
        for (int t = 1; t <= 3; ++t) {
            double alpha = 0.01 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
            for (int i = 0; i < 2; ++i) {
                double g = grads[t - 1][i];
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                vh[i] = std::max(vh[i], v[i]);
                w[i] -= alpha * m[i] / (std::sqrt(amsgrad ? vh[i] : v[i]) + 1e-7);
            }
            want.push_back({w[0], w[1]});
        }
        INFO("amsgrad " << amsgrad);
        check_steps(run(adam), want);
    }
    // the first Adam step moves each weight by about lr, whatever the gradient's scale
    optimizers::Adam<double> adam(0.01);
    auto steps = run(adam);
    CHECK(steps[0][0] == Approx(1.0 - 0.01).epsilon(1e-5));
}

TEST_CASE("AdamW decays the weights before the Adam step", "[optimizers]") {
    optimizers::AdamW<double> adamw(0.01);
    double w[2] = {w0[0], w0[1]}, m[2] = {0, 0}, v[2] = {0, 0};
    std::vector<std::array<double, 2>> want;
    for (int t = 1; t <= 3; ++t) {
        double alpha = 0.01 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
        for (int i = 0; i < 2; ++i) {
            double g = grads[t - 1][i];
            w[i] -= w[i] * 0.004 * 0.01;
            m[i] = 0.9 * m[i] + 0.1 * g;
            v[i] = 0.999 * v[i] + 0.001 * g * g;
            w[i] -= alpha * m[i] / (std::sqrt(v[i]) + 1e-7);
        }
        want.push_back({w[0], w[1]});
    }
    check_steps(run(adamw), want);
}

TEST_CASE("RMSprop: plain, centered and momentum follow Keras 3", "[optimizers]") {
    struct Case {
        bool centered;
        double momentum;
    };
    for (Case c : {Case{false, 0.0}, Case{true, 0.0}, Case{false, 0.5}, Case{true, 0.5}}) {
        optimizers::RMSprop<double> rms(
            {.learning_rate = 0.01, .momentum = c.momentum, .centered = c.centered});
        double w[2] = {w0[0], w0[1]}, v[2] = {0, 0}, a[2] = {0, 0}, mom[2] = {0, 0};
        std::vector<std::array<double, 2>> want;
        for (int t = 0; t < 3; ++t) {
            for (int i = 0; i < 2; ++i) {
                double g = grads[t][i];
                v[i] = 0.9 * v[i] + 0.1 * g * g;
                double den = v[i] + 1e-7;
                if (c.centered) {
                    a[i] = 0.9 * a[i] + 0.1 * g;
                    den = v[i] - a[i] * a[i] + 1e-7;
                }
                double inc = 0.01 * g / std::sqrt(den);
                if (c.momentum > 0) {
                    mom[i] = c.momentum * mom[i] + inc;
                    w[i] -= mom[i];
                } else {
                    w[i] -= inc;
                }
            }
            want.push_back({w[0], w[1]});
        }
        INFO("centered " << c.centered << ", momentum " << c.momentum);
        check_steps(run(rms), want);
    }
}

TEST_CASE("Adagrad follows Keras 3", "[optimizers]") {
    optimizers::Adagrad<double> ada(0.1);
    double w[2] = {w0[0], w0[1]}, acc[2] = {0.1, 0.1};
    std::vector<std::array<double, 2>> want;
    for (int t = 0; t < 3; ++t) {
        for (int i = 0; i < 2; ++i) {
            double g = grads[t][i];
            acc[i] += g * g;
            w[i] -= 0.1 * g / std::sqrt(acc[i] + 1e-7);
        }
        want.push_back({w[0], w[1]});
    }
    check_steps(run(ada), want);
}

TEST_CASE("Optimizer defaults, names and validation are Keras's", "[optimizers]") {
    CHECK(optimizers::get<float>("Adam")->learning_rate() == Approx(0.001));
    CHECK(optimizers::get<float>("sgd")->learning_rate() == Approx(0.01));
    CHECK(optimizers::get<float>("RMSprop")->class_name() == "RMSprop");
    CHECK(optimizers::get<float>("adamw")->class_name() == "AdamW");
    CHECK(optimizers::get<float>("adagrad")->class_name() == "Adagrad");
    optimizers::Adam<float> adam;
    CHECK(adam.options().beta_1 == 0.9);
    CHECK(adam.options().beta_2 == 0.999);
    CHECK(adam.options().epsilon == 1e-7);
    CHECK_THROWS_WITH(optimizers::get<float>("adamax"),
                      Catch::Contains("unknown optimizer 'adamax'"));
    CHECK_THROWS_WITH(optimizers::Adam<float>(-1.0),
                      Catch::Contains("Adam") && Catch::Contains("learning_rate"));
    CHECK_THROWS_AS(optimizers::Adam<float>({.beta_1 = 1.0}), value_error);
    CHECK_THROWS_AS(optimizers::SGD<float>({.momentum = -0.5}), value_error);
    CHECK_THROWS_AS(optimizers::RMSprop<float>({.rho = 2.0}), value_error);
}

TEST_CASE("Optimizer configs of Keras 2 are read, or refused by name", "[optimizers]") {
    using json = nlohmann::json;
    // Keras 2.1's Adam: "lr", and "decay" 0 (no decay)
    const auto adam = optimizers::from_config<float>(json::parse(
        R"({"class_name": "Adam", "config": {"lr": 0.002, "beta_1": 0.9, "decay": 0.0}})"));
    CHECK(adam->learning_rate() == Approx(0.002));
    CHECK_THROWS_WITH(
        optimizers::from_config<float>(
            json::parse(R"({"class_name": "SGD", "config": {"lr": 0.01, "decay": 1e-6}})")),
        "optimizer SGD: Keras 2's option 'decay' = 1e-06 is not supported by xkeras (use a "
        "learning-rate schedule)");
    // Keras 3's names of the slots, in the order the optimizers keep them
    CHECK(optimizers::Adam<float>().keras_slot_names() ==
          std::vector<std::string>{"momentum", "velocity"});
    CHECK(optimizers::Adam<float>({.amsgrad = true}).keras_slot_names().back() == "velocity_hat");
    CHECK(optimizers::SGD<float>().keras_slot_names().empty());
    CHECK(optimizers::RMSprop<float>({.momentum = 0.5, .centered = true}).keras_slot_names() ==
          std::vector<std::string>{"velocity", "momentum", "average_gradient"});
    CHECK(optimizers::Adagrad<float>().keras_slot_names() ==
          std::vector<std::string>{"accumulator"});
    // one name per slot, whatever the options
    const optimizers::Adam<float> amsgrad({.amsgrad = true});
    const optimizers::SGD<float> momentum({.momentum = 0.9});
    const optimizers::RMSprop<float> centered({.centered = true});
    const std::vector<const optimizers::Optimizer<float>*> all{&amsgrad, &momentum, &centered};
    for (const auto* o : all) CHECK(o->keras_slot_names().size() == o->slots_per_weight());
}

TEST_CASE("Optimizer state is per parameter and the step counter is per step", "[optimizers]") {
    optimizers::Adam<double> adam;
    layers::Param<double> a{"a/kernel", xt::xarray<double>{1.0}, xt::xarray<double>{0.1}};
    layers::Param<double> b{"b/kernel", xt::xarray<double>{1.0, 2.0}, xt::xarray<double>{0.1, 0.2}};
    adam.apply({&a, &b});
    adam.apply({&a, &b});
    CHECK(adam.iterations() == 2);  // once per step, not once per tensor
    CHECK(adam.slots().size() == 2);
    CHECK(adam.slots().at("b/kernel").size() == 2);  // m and v
    CHECK(adam.count_variables() == 2 + 2 * 1 + 2 * 2);
    // a frozen parameter is left alone
    layers::Param<double> frozen{"c/kernel", xt::xarray<double>{1.0}, xt::xarray<double>{5.0},
                                 false};
    adam.apply({&frozen});
    CHECK(frozen.value(0) == 1.0);
}
