// Threads: one model used from several threads (its calls run one at a time), two models trained
// at once, and the shared thread pool entered from several threads. These are the tests the
// ThreadSanitizer build runs (scripts/sanitize.sh thread); in the ordinary build they check the
// results. Catch2's assertions are not thread-safe: the threads record, the test thread checks.
#include "gradient_check.hpp"

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
