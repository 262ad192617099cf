// BatchNormalization: batch statistics in training, moving statistics otherwise, Keras's
// moving-average update, weights and counts, gradients in both modes.
#include <barrier>
#include <cstring>
#include <thread>
#include <vector>

#include "gradient_check.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

TEST_CASE("BatchNormalization normalises with batch statistics in training", "[bn]") {
    layers::BatchNormalization<double> bn;
    bn.build({3});
    auto x = random_tensor({50, 3}, 1, 2.0, 6.0);
    auto y = bn.forward(x, true);
    for (std::size_t c = 0; c < 3; ++c) {
        auto col = xt::view(y, xt::all(), c);
        CHECK(xt::mean(col)() == Approx(0.0).margin(1e-9));
        // biased variance, eps 1e-3: var(y) = var / (var + eps)
        double var = xt::variance(xt::view(x, xt::all(), c))();
        CHECK(xt::variance(col)() == Approx(var / (var + 1e-3)));
    }
    // moving = moving * 0.99 + batch * 0.01, from mean 0 / variance 1
    auto w = bn.get_weights();
    REQUIRE(w.size() == 4);
    double mean0 = xt::mean(xt::view(x, xt::all(), 0))();
    double var0 = xt::variance(xt::view(x, xt::all(), 0))();
    CHECK(w[2](0) == Approx(0.01 * mean0));
    CHECK(w[3](0) == Approx(0.99 + 0.01 * var0));
}

TEST_CASE("BatchNormalization's float statistics hold for a large mean and many rows", "[bn]") {
    // 10,007 rows (several blocks and tasks, a ragged end), mean 1000 against a spread of 0.1:
    // E[x^2] - E[x]^2 in float would lose the variance entirely
    const std::size_t rows = 10007, C = 3;
    auto x = random_tensor({rows, C}, 7, -0.2, 0.2);
    xt::xarray<float> xf = xt::cast<float>(x + 1000.0);
    const int before = get_num_threads();
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        layers::BatchNormalization<float> bn({.momentum = 0.0});
        bn.build({C});
        bn.forward(xf, true);
        auto w = bn.get_weights();
        for (std::size_t c = 0; c < C; ++c) {
            const xt::xarray<double> col = xt::cast<double>(xt::view(xf, xt::all(), c));
            const double mean = xt::mean(col)(), var = xt::variance(col)();
            CHECK(double(w[2](c)) == Approx(mean).epsilon(1e-7));
            CHECK(double(w[3](c)) == Approx(var).epsilon(1e-4));
        }
    }
    set_num_threads(before);
}

TEST_CASE("BatchNormalization on an empty batch in training moves nothing", "[bn]") {
    layers::BatchNormalization<float> bn;
    bn.build({3});
    const auto before = bn.get_weights();
    xt::xarray<float> x = xt::zeros<float>({std::size_t(0), std::size_t(3)});
    const auto& y = bn.forward(x, true);
    CHECK(y.shape() == x.shape());
    const auto after = bn.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((after[i] == before[i]));
}

TEST_CASE("BatchNormalization uses the moving statistics outside training", "[bn]") {
    layers::BatchNormalization<double> bn({.epsilon = 0.01});
    bn.build({2});
    bn.set_weights({xt::xarray<double>{2.0, 1.0}, xt::xarray<double>{0.5, 0.0},
                    xt::xarray<double>{1.0, -1.0}, xt::xarray<double>{4.0, 0.99}});
    xt::xarray<double> x{{3.0, 0.0}};
    auto y = bn.forward(x, false);
    CHECK(y(0, 0) == Approx(2.0 * (3.0 - 1.0) / std::sqrt(4.01) + 0.5));
    CHECK(y(0, 1) == Approx((0.0 + 1.0) / 1.0));
    // a frozen layer uses them in training too, and does not update them
    bn.trainable = false;
    auto y2 = bn.forward(x, true);
    CHECK(y2(0, 0) == Approx(y(0, 0)));
    CHECK(bn.get_weights()[2](0) == 1.0);
}

TEST_CASE("BatchNormalization weights: gamma, beta trainable, moving stats not", "[bn]") {
    Sequential m;
    m.add(layers::Dense(8, {.input_shape = {4}}));
    m.add(layers::BatchNormalization());
    CHECK(m.count_params() == 40 + 32);
    auto ps = m.layers()[1]->params();
    REQUIRE(ps.size() == 4);
    CHECK(ps[0]->name.ends_with("/gamma"));
    CHECK(ps[3]->name.ends_with("/moving_variance"));
    CHECK(ps[0]->trainable);
    CHECK_FALSE(ps[2]->trainable);
    CHECK(m.trainable_params().size() == 4);  // dense kernel, bias, gamma, beta
    CHECK_THAT(m.summary_string(76), Catch::Contains(" Trainable params: 56 (") &&
                                         Catch::Contains(" Non-trainable params: 16 ("));
    CHECK_THROWS_AS(layers::BatchNormalization<float>({.momentum = 1.5}), value_error);
    layers::BatchNormalization<float> axis1({.axis = 1});
    CHECK_THROWS_WITH(axis1.build({4, 4, 3}), Catch::Contains("axis -1"));
}

TEST_CASE("BatchNormalization gradients in both modes", "[bn][gradient]") {
    SECTION("training (batch statistics), rank 4") {
        layers::BatchNormalization<double> bn;
        bn.build({3, 2, 4});
        bn.params()[0]->value = random_tensor({4}, 2, 0.5, 1.5);
        bn.params()[1]->value = random_tensor({4}, 3);
        check_layer_gradients(bn, random_tensor({3, 3, 2, 4}, 4));
    }
    SECTION("frozen (moving statistics)") {
        layers::BatchNormalization<double> bn;
        bn.build({5});
        bn.params()[2]->value = random_tensor({5}, 5);
        bn.params()[3]->value = random_tensor({5}, 6, 0.5, 2.0);
        bn.trainable = false;
        check_layer_gradients(bn, random_tensor({4, 5}, 7));
    }
    SECTION("no center, no scale") {
        layers::BatchNormalization<double> bn({.center = false, .scale = false});
        bn.build({3});
        CHECK(bn.params().size() == 2);
        check_layer_gradients(bn, random_tensor({6, 3}, 8));
    }
}

namespace {

/// Two replicas of a data-parallel step as two threads of this process: an all-gather is a
/// shared buffer between two barriers. Only what cross_replica_sum needs.
struct thread_replicas {
    std::barrier<> meet{2};
    std::vector<char> buffer;
};

class thread_communicator : public distribution::Communicator {
  public:
    thread_communicator(thread_replicas& shared, int rank) : shared_(shared), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return 2; }
    std::string describe() const override { return "two threads"; }
    void broadcast(void*, std::size_t, int) override { throw state_error("not used"); }
    void allgather(const void* mine, std::size_t bytes, void* all) override {
        if (rank_ == 0) shared_.buffer.resize(2 * bytes);
        shared_.meet.arrive_and_wait();
        std::memcpy(shared_.buffer.data() + std::size_t(rank_) * bytes, mine, bytes);
        shared_.meet.arrive_and_wait();
        std::memcpy(all, shared_.buffer.data(), 2 * bytes);
        shared_.meet.arrive_and_wait();
    }
    distribution::request isend(const void*, std::size_t, int, int) override {
        throw state_error("not used");
    }
    distribution::request irecv(void*, std::size_t, int, int) override {
        throw state_error("not used");
    }
    bool test(std::span<const distribution::request>) override { return true; }
    void wait(std::span<const distribution::request>) override {}
    void release() override {}

  private:
    thread_replicas& shared_;
    int rank_;
};

}  // namespace

TEST_CASE("synchronized BatchNormalization takes the whole batch's moments over replicas", "[bn]") {
    // 10 rows, mean 100 against a spread of 1, split 4 + 6 over two replicas; dy stands for
    // the gradient of the whole batch's loss
    const std::size_t rows = 10, C = 3, split = 4;
    const auto x = xt::eval(random_tensor({rows, C}, 21, 99.0, 101.0));
    const auto dy = random_tensor({rows, C}, 22);
    const auto gamma = random_tensor({C}, 23, 0.5, 1.5), beta = random_tensor({C}, 24);
    auto make = [&](bool synchronized) {
        layers::BatchNormalization<double> bn({.momentum = 0.9, .synchronized = synchronized});
        bn.build({C});
        bn.params()[0]->value = gamma;
        bn.params()[1]->value = beta;
        return bn;
    };
    // one process: the option changes nothing
    auto whole = make(true), plain = make(false);
    const xt::xarray<double> y = whole.forward(x, true), dx = whole.backward(dy, true);
    const xt::xarray<double> y_plain = plain.forward(x, true);
    CHECK(bool(y == y_plain));
    CHECK(bool(dx == plain.backward(dy, true)));

    for (bool synchronized : {true, false}) {
        INFO("synchronized " << synchronized);
        thread_replicas shared;
        std::vector<layers::BatchNormalization<double>> parts{make(synchronized),
                                                              make(synchronized)};
        std::vector<xt::xarray<double>> ys(2), dxs(2);
        auto run = [&](int r) {
            thread_communicator comm(shared, r);
            distribution::cross_replica_scope scope(comm);
            const std::size_t a = r == 0 ? 0 : split, b = r == 0 ? split : rows;
            const xt::xarray<double> xr = xt::view(x, xt::range(a, b), xt::all());
            const xt::xarray<double> dyr = xt::view(dy, xt::range(a, b), xt::all());
            ys[std::size_t(r)] = parts[std::size_t(r)].forward(xr, true);
            dxs[std::size_t(r)] = parts[std::size_t(r)].backward(dyr, true);
        };
        const int threads = get_num_threads();
        set_num_threads(1);
        std::thread other(run, 1);
        run(0);
        other.join();
        set_num_threads(threads);
        const xt::xarray<double> y2 = xt::concatenate(xt::xtuple(ys[0], ys[1])),
                                 dx2 = xt::concatenate(xt::xtuple(dxs[0], dxs[1]));
        const double y_error = xt::amax(xt::abs(y2 - y))(),
                     dx_error = xt::amax(xt::abs(dx2 - dx))();
        const auto w0 = parts[0].get_weights(), w1 = parts[1].get_weights(),
                   w = whole.get_weights();
        if (synchronized) {
            CHECK(y_error < 1e-12);
            CHECK(dx_error < 1e-12);
            // the same moving statistics on both, those of the whole batch
            for (std::size_t i : {2, 3}) {
                CHECK(bool(w0[i] == w1[i]));
                const double error = xt::amax(xt::abs(w0[i] - w[i]))();
                CHECK(error < 1e-12);
            }
        } else {  // each part normalised alone
            CHECK(y_error > 1e-3);
            CHECK(dx_error > 1e-3);
        }
        // gamma's and beta's gradients are each replica's share: their sum is the whole's
        for (std::size_t i : {0, 1}) {
            const xt::xarray<double> sum = parts[0].params()[i]->grad + parts[1].params()[i]->grad;
            const double error = xt::amax(xt::abs(sum - whole.params()[i]->grad))();
            if (synchronized) CHECK(error < 1e-12);
        }
    }
}

TEST_CASE("BatchNormalization's synchronized option is Keras's config key", "[bn]") {
    layers::BatchNormalization<float> bn({.synchronized = true});
    bn.build({4});
    const auto config = bn.get_config();
    CHECK(config.at("synchronized") == true);
    const auto back = layers::BatchNormalization<float>::from_config(config);
    CHECK(back->synchronized());
    CHECK(back->get_config().at("synchronized") == true);
    back->trainable = false;  // a frozen layer uses its moving statistics: nothing to share
    CHECK_FALSE(back->synchronized());
    CHECK_FALSE(layers::BatchNormalization<float>().synchronized());
}
