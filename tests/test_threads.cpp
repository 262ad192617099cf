// Threads: one model used from several threads (its calls run one at a time), two models trained
// at once, and the shared thread pool entered from several threads. These are the tests the
// ThreadSanitizer build runs (scripts/sanitize.sh thread); in the ordinary build they check the
// results. Catch2's assertions are not thread-safe: the threads record, the test thread checks.
#include "gradient_check.hpp"
#include "thread_count.hpp"

#include <atomic>
#include <thread>

using namespace xkeras;
using testing::random_tensor;

namespace {

/// A small CNN with every kind of parallel work: conv (windows, GEMMs), pooling, dropout, dense.
void small_cnn(Sequential& m, std::uint64_t seed) {
    utils::set_random_seed(seed);
    m.add(layers::Conv2D(8, 3, {.activation = "relu", .input_shape = {12, 12, 1}}));
    m.add(layers::MaxPooling2D(2));
    m.add(layers::Flatten());
    m.add(layers::Dropout(0.25));
    m.add(layers::Dense(5, "softmax"));
    m.compile(optimizers::Adam(0.01), "categorical_crossentropy", {"accuracy"});
}

struct toy_images {
    xt::xarray<float> x, y;
    explicit toy_images(std::size_t n, std::uint64_t seed) {
        x = xt::cast<float>(random_tensor({n, 12, 12, 1}, seed));
        xt::xarray<int> labels = xt::zeros<int>({n});
        for (std::size_t i = 0; i < n; ++i) labels(i) = int(i % 5);
        y = utils::to_categorical<float>(labels, 5);
    }
};

bool same(const xt::xarray<float>& a, const xt::xarray<float>& b) {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

TEST_CASE("predict called on one model from several threads gives the serial results",
          "[threads]") {
    Sequential m;
    small_cnn(m, 4);
    const toy_images data(50, 5);
    const std::vector<std::size_t> batch_sizes{1, 7, 32};
    std::vector<xt::xarray<float>> expected;
    for (auto b : batch_sizes) expected.push_back(m.predict(data.x, b));

    std::atomic<int> wrong{0}, calls{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int r = 0; r < 3; ++r) {
                const std::size_t k = std::size_t(t + r) % batch_sizes.size();
                if (!same(m.predict(data.x, batch_sizes[k]), expected[k])) ++wrong;
                ++calls;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(calls == 12);
    CHECK(wrong == 0);
}

TEST_CASE("Two models trained at once end bit-identical to the same two trained in turn",
          "[threads]") {
    const toy_images a(64, 6), b(48, 7);
    auto train = [](Sequential& m, const toy_images& d) {
        m.fit(d.x, d.y, {.batch_size = 16, .epochs = 2, .verbose = 0});
    };
    Sequential ma, mb;
    small_cnn(ma, 11);
    small_cnn(mb, 12);
    train(ma, a);
    train(mb, b);

    // the same models again (seeds are drawn when they are built and compiled), trained at once
    Sequential pa, pb;
    small_cnn(pa, 11);
    small_cnn(pb, 12);
    std::thread ta([&] { train(pa, a); });
    std::thread tb([&] { train(pb, b); });
    ta.join();
    tb.join();
    const auto wa = ma.get_weights(), wpa = pa.get_weights();
    const auto wb = mb.get_weights(), wpb = pb.get_weights();
    REQUIRE(wa.size() == wpa.size());
    for (std::size_t i = 0; i < wa.size(); ++i) CHECK(same(wa[i], wpa[i]));
    for (std::size_t i = 0; i < wb.size(); ++i) CHECK(same(wb[i], wpb[i]));
}

TEST_CASE("predict while another thread trains the same model waits its turn", "[threads]") {
    Sequential m;
    small_cnn(m, 13);
    const toy_images data(64, 8);
    std::atomic<bool> done{false};
    std::atomic<int> bad_rows{0}, predictions{0};
    std::thread trainer([&] {
        m.fit(data.x, data.y, {.batch_size = 8, .epochs = 3, .verbose = 0});
        done = true;
    });
    // every answer is a whole forward pass with one set of weights: rows are distributions
    do {
        const auto p = m.predict(data.x, 16);
        for (std::size_t i = 0; i < p.shape()[0]; ++i) {
            double sum = 0;
            for (std::size_t j = 0; j < p.shape()[1]; ++j) sum += p(i, j);
            if (!(std::abs(sum - 1.0) < 1e-4)) ++bad_rows;
        }
        ++predictions;
    } while (!done);
    trainer.join();
    CHECK(predictions >= 1);
    CHECK(bad_rows == 0);
}

TEST_CASE("parallel_for entered from several threads runs every task once", "[threads]") {
    constexpr std::size_t n = 1000;
    std::vector<std::vector<std::atomic<int>>> counts(4);
    for (auto& c : counts) c = std::vector<std::atomic<int>>(n);
    std::atomic<int> bad_thread{0};
    const int pool = backend::pool_size();
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < counts.size(); ++t)
        threads.emplace_back([&, t] {
            for (int r = 0; r < 20; ++r)
                backend::parallel_for(n, [&](std::size_t task, int thread) {
                    if (thread < 0 || thread >= pool) ++bad_thread;
                    ++counts[t][task];
                });
        });
    for (auto& th : threads) th.join();
    CHECK(bad_thread == 0);
    for (const auto& c : counts)
        CHECK(std::all_of(c.begin(), c.end(), [](const auto& v) { return v.load() == 20; }));
}

namespace {

/// A registered layer that passes its input on and notes the batch sizes it sees (predict
/// copies it through the registry like the built-in ones).
class RowCounter : public layers::Layer<float> {
  public:
    explicit RowCounter(std::string name = {}) : Layer<float>("row_counter", std::move(name), {}) {}
    std::string class_name() const override { return "RowCounter"; }
    static std::unique_ptr<Layer<float>> from_config(const nlohmann::json& cfg) {
        return std::make_unique<RowCounter>(cfg.at("name").get<std::string>());
    }
    shape_t compute_output_shape(const shape_t& in) const override { return in; }
    const tensor<float>& forward(const tensor<float>& x, bool) override {
        std::lock_guard<std::mutex> lock(seen_mutex());
        seen().push_back(x.shape()[0]);
        return x;
    }
    const tensor<float>& backward(const tensor<float>& dy, bool) override { return dy; }
    static std::vector<std::size_t> take() {
        std::lock_guard<std::mutex> lock(seen_mutex());
        auto out = std::move(seen());
        seen().clear();
        std::sort(out.begin(), out.end());
        return out;
    }

  private:
    static std::vector<std::size_t>& seen() {
        static std::vector<std::size_t> v;
        return v;
    }
    static std::mutex& seen_mutex() {
        static std::mutex m;
        return m;
    }
};

/// An MLP small enough for predict's data-parallel route (a slice of each batch per thread).
void small_mlp(Sequential& m, std::uint64_t seed) {
    layers::register_layer<RowCounter>("RowCounter");
    utils::set_random_seed(seed);
    m.add(layers::Dense(32, {.activation = "relu", .input_shape = {20}}));
    m.add(RowCounter());
    m.add(layers::Dropout(0.25));
    m.add(layers::Dense(5, "softmax"));
    m.compile(optimizers::Adam(0.01), "categorical_crossentropy", {"accuracy"});
}

/// predict(x, batch) at `threads` threads.
xt::xarray<float> predict_at(Sequential& m, const xt::xarray<float>& x, std::size_t batch,
                             int threads) {
    testing::scoped_threads at(threads);
    return m.predict(x, batch);
}

/// A layer that is not in the registry: predict cannot copy it and keeps to the per-layer route.
class Halve : public layers::Layer<float> {
  public:
    Halve() : Layer<float>("halve", {}, {}) {}
    std::string class_name() const override { return "Halve"; }
    shape_t compute_output_shape(const shape_t& in) const override { return in; }
    const tensor<float>& forward(const tensor<float>& x, bool) override {
        y_ = x * 0.5f;
        return y_;
    }
    const tensor<float>& backward(const tensor<float>& dy, bool) override {
        dx_ = dy * 0.5f;
        return dx_;
    }

  private:
    tensor<float> y_, dx_;
};

}  // namespace

TEST_CASE("predict with a slice of each batch per thread gives the one-thread results",
          "[threads][predict]") {
    Sequential m;
    small_mlp(m, 11);
    xt::xarray<float> x = xt::cast<float>(random_tensor({300, 20}, 12));
    xt::xarray<int> labels = xt::zeros<int>({300});
    for (std::size_t i = 0; i < 300; ++i) labels(i) = int(i % 5);
    const auto y = utils::to_categorical<float>(labels, 5);
    auto close = [](const xt::xarray<float>& a, const xt::xarray<float>& b) {
        return a.shape() == b.shape() && xt::allclose(a, b, 1e-5, 1e-7);
    };
    using sizes = std::vector<std::size_t>;
    // batch 100 at 2 threads: each batch in two slices of 50, one per thread
    const auto two = predict_at(m, x, 100, 2);
    CHECK(RowCounter::take() == sizes(6, 50));
    CHECK(close(two, predict_at(m, x, 100, 1)));
    CHECK(RowCounter::take() == sizes(3, 100));
    CHECK(close(predict_at(m, x, 300, 2), predict_at(m, x, 300, 1)));
    CHECK(RowCounter::take() == sizes{150, 150, 300});
    // a batch under two slices of 32 rows stays whole: 63 rows at once, then the 21 left
    predict_at(m, xt::eval(xt::view(x, xt::range(0, 84))), 63, 2);
    CHECK(RowCounter::take() == sizes{21, 63});
    // the copies see every change of the model's weights: a fit, and set_weights
    m.fit(x, y, {.batch_size = 32, .epochs = 2, .verbose = 0});
    RowCounter::take();
    CHECK(close(predict_at(m, x, 100, 2), predict_at(m, x, 100, 1)));
    CHECK(RowCounter::take() == sizes{50, 50, 50, 50, 50, 50, 100, 100, 100});
    auto w = m.get_weights();
    for (auto& t : w) t *= -1.5f;
    m.set_weights(w);
    const auto one = predict_at(m, x, 150, 1);
    CHECK(close(predict_at(m, x, 150, 2), one));
    // and a write through params()
    m.layers()[0]->params()[1]->value.fill(0.25f);
    CHECK_FALSE(close(predict_at(m, x, 150, 2), one));
    CHECK(close(predict_at(m, x, 150, 2), predict_at(m, x, 150, 1)));
    sizes expected(12, 75);
    expected.insert(expected.end(), 4, 150);
    CHECK(RowCounter::take() == expected);
}

TEST_CASE("predict's copies of the layers draw no seed from the global generator",
          "[threads][predict]") {
    Sequential m;
    small_mlp(m, 13);
    const xt::xarray<float> x = xt::cast<float>(random_tensor({200, 20}, 14));
    utils::set_random_seed(21);
    predict_at(m, x, 200, 2);  // makes the copies
    const auto after_predict = detail::next_seed();
    utils::set_random_seed(21);
    CHECK(detail::next_seed() == after_predict);
}

TEST_CASE("predict keeps a model with a layer outside the registry on the per-layer route",
          "[threads][predict]") {
    Sequential m;
    utils::set_random_seed(15);
    m.add(layers::Dense(8, {.input_shape = {6}}));
    m.add(Halve());
    const xt::xarray<float> x = xt::cast<float>(random_tensor({128, 6}, 16));
    const auto one = predict_at(m, x, 128, 1);
    const auto two = predict_at(m, x, 128, 2);
    CHECK(xt::allclose(one, two, 1e-5, 1e-7));
    CHECK(xt::allclose(two, xt::eval(m.forward(x, false)), 1e-5, 1e-7));
}

TEST_CASE("Inside a parallel_for task the pool counts one thread", "[threads]") {
    testing::scoped_threads two(2);
    CHECK(backend::pool_size() == 2);
    std::vector<int> inside(4, 0);
    backend::parallel_for(4, [&](std::size_t t, int) { inside[t] = backend::pool_size(); });
    CHECK(inside == std::vector<int>(4, 1));
}
