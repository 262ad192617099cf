// The parts of data-parallel training that need no second process (docs/distributed.md): the
// summation tree, the dropout masks of a micro-batch, DataParallel's options, and fit,
// train_on_batch and evaluate under a distribution of one process. The processes themselves are
// tested under mpirun by test_distributed.cpp.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

#include <xkeras/xkeras.hpp>

namespace {

/// The Communicator of a job of one process: a collective is a copy, and there is no peer to
/// send to.
class solo_communicator : public xkeras::distribution::Communicator {
  public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    std::string describe() const override { return "one process"; }
    void broadcast(void*, std::size_t, int) override {}
    void allgather(const void* mine, std::size_t bytes, void* all) override {
        std::memcpy(all, mine, bytes);
    }
    xkeras::distribution::request isend(const void*, std::size_t, int to, int) override {
        throw xkeras::state_error("solo_communicator: no process " + std::to_string(to));
    }
    xkeras::distribution::request irecv(void*, std::size_t, int from, int) override {
        throw xkeras::state_error("solo_communicator: no process " + std::to_string(from));
    }
    bool test(std::span<const xkeras::distribution::request>) override { return true; }
    void wait(std::span<const xkeras::distribution::request>) override {}
    void release() override {}
};

/// The current distribution for a scope.
struct distributed_scope {
    explicit distributed_scope(xkeras::distribution::data_parallel_options o) {
        xkeras::distribution::set_distribution(
            xkeras::distribution::DataParallel(std::make_shared<solo_communicator>(), o));
    }
    ~distributed_scope() { xkeras::distribution::clear_distribution(); }
};

xkeras::Sequential dist_test_model() {
    using namespace xkeras::layers;
    xkeras::utils::set_random_seed(5);
    xkeras::Sequential m;
    m.add(Dense(16, {.activation = "relu", .input_shape = {6}}));
    m.add(Dropout(0.3));
    m.add(Dense(3, "softmax"));
    m.compile("adam", "categorical_crossentropy", {"accuracy"});
    return m;
}

std::pair<xt::xarray<float>, xt::xarray<float>> dist_test_data(std::size_t n) {
    std::mt19937 gen(11);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    xt::xarray<float> x = xt::zeros<float>({n, std::size_t(6)});
    xt::xarray<float> labels = xt::zeros<float>({n});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < 6; ++j) x(i, j) = u(gen);
        labels(i) = float((x(i, 0) > 0) + (x(i, 1) > 0.5f));
    }
    return {x, xkeras::utils::to_categorical(labels, 3)};
}

}  // namespace

TEST_CASE("the summation tree: a process's subtree, then the processes', is the whole tree") {
    std::mt19937 gen(3);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    const std::size_t count = 257;
    std::vector<std::vector<float>> leaves(8, std::vector<float>(count));
    for (auto& l : leaves)
        for (auto& v : l) v = u(gen) * 1e3f;
    auto sum_of = [&](std::size_t first, std::size_t n) {
        std::vector<const float*> p;
        for (std::size_t k = first; k < first + n; ++k) p.push_back(leaves[k].data());
        std::vector<float> out(count);
        xkeras::distribution::tree_sum<float>(p, count, out.data());
        return out;
    };
    const auto whole = sum_of(0, 8);
    // ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)), written out
    for (std::size_t i = 0; i < count; ++i) {
        auto& l = leaves;
        const float expect = ((l[0][i] + l[1][i]) + (l[2][i] + l[3][i])) +
                             ((l[4][i] + l[5][i]) + (l[6][i] + l[7][i]));
        CHECK(whole[i] == expect);
    }
    for (std::size_t processes : {2, 4, 8}) {
        const std::size_t each = 8 / processes;
        std::vector<std::vector<float>> parts;
        for (std::size_t r = 0; r < processes; ++r) parts.push_back(sum_of(r * each, each));
        std::vector<const float*> p;
        for (const auto& part : parts) p.push_back(part.data());
        std::vector<float> out(count);
        xkeras::distribution::tree_sum<float>(p, count, out.data());
        CHECK(std::memcmp(out.data(), whole.data(), count * sizeof(float)) == 0);
    }
    const std::vector<double> scalars{0.1, 0.2, 0.3};
    CHECK(xkeras::distribution::tree_sum(std::span<const double>(scalars)) == (0.1 + 0.2) + 0.3);
}

TEST_CASE("a micro-batch's dropout masks are its rows' masks in the whole batch") {
    xkeras::layers::Dropout<float> whole_layer(0.5, {.seed = 42});
    xkeras::layers::Dropout<float> part_layer(0.5, {.seed = 42});
    whole_layer.build({5});
    part_layer.build({5});
    xt::xarray<float> x = xt::ones<float>({std::size_t(9), std::size_t(5)});
    const auto whole = xt::xarray<float>(whole_layer.forward(x, true));
    // rows 3 to 8 (an odd first value: draw 15 is the high half of a hash)
    xt::xarray<float> rows = xt::view(x, xt::range(3, 9));
    xt::xarray<float> part;
    {
        xkeras::layers::detail::batch_window window(3);
        part = part_layer.forward(rows, true);
    }
    const bool same_masks = part == xt::xarray<float>(xt::view(whole, xt::range(3, 9)));
    CHECK(same_masks);
    // outside the window the stream is as before: the next call draws the next mask
    CHECK(part_layer.training_state() == whole_layer.training_state());
}

TEST_CASE("DataParallel checks its options") {
    auto solo = std::make_shared<solo_communicator>();
    using xkeras::distribution::DataParallel;
    CHECK_THROWS_AS(DataParallel(nullptr), xkeras::value_error);
    CHECK_THROWS_WITH(DataParallel(solo, {.micro_batches = 5000}),
                      Catch::Contains("micro_batches = 5000 is more than 4096"));
    CHECK(DataParallel(solo).options().micro_batches == 1);
    CHECK(DataParallel(solo, {.micro_batches = 4}).micro_batches_per_process() == 4);
    CHECK(xkeras::distribution::process_count() == 1);
}

TEST_CASE("fit, train_on_batch and evaluate under a one-process distribution") {
    const auto [x, y] = dist_test_data(200);
    auto plain = dist_test_model();
    auto plain_history =
        plain.fit(x, y, {.batch_size = 32, .epochs = 2, .verbose = 0, .validation_split = 0.2});
    const auto plain_step = plain.train_on_batch(x, y);
    const auto plain_scores = plain.evaluate(x, y, {.verbose = 0});

    SECTION("one micro-batch: the same bits") {
        distributed_scope scope({.micro_batches = 1});
        auto m = dist_test_model();
        auto h =
            m.fit(x, y, {.batch_size = 32, .epochs = 2, .verbose = 0, .validation_split = 0.2});
        const auto step = m.train_on_batch(x, y);
        const auto scores = m.evaluate(x, y, {.verbose = 0});
        CHECK(h.history == plain_history.history);
        CHECK(step == plain_step);
        CHECK(scores == plain_scores);
        const auto a = m.get_weights(), b = plain.get_weights();
        for (std::size_t i = 0; i < a.size(); ++i) {
            const bool same_weights = a[i] == b[i];
            CHECK(same_weights);
        }
        CHECK(xkeras::distribution::distribution()->stats().steps > 0);
    }
    SECTION("four micro-batches: the same model up to the sums' rounding") {
        distributed_scope scope({.micro_batches = 4});
        auto m = dist_test_model();
        auto h =
            m.fit(x, y, {.batch_size = 32, .epochs = 2, .verbose = 0, .validation_split = 0.2});
        for (const auto& [key, values] : plain_history.history)
            for (std::size_t e = 0; e < values.size(); ++e)
                CHECK(h[key][e] == Approx(values[e]).epsilon(1e-4));
        m.train_on_batch(x, y);
        const auto a = m.get_weights(), b = plain.get_weights();
        for (std::size_t i = 0; i < a.size(); ++i) {
            const float largest = xt::amax(xt::abs(a[i] - b[i]))();
            CHECK(largest < 1e-4f);
        }
    }
}

TEST_CASE("data-parallel fit refuses a model whose output carries a mask") {
    using namespace xkeras::layers;
    xkeras::Sequential m;
    m.add(Embedding(10, 4, {.mask_zero = true, .input_shape = {5}}));
    m.add(LSTM(3, {.return_sequences = true}));
    m.compile("adam", "mse");
    xt::xarray<float> x = xt::ones<float>({std::size_t(4), std::size_t(5)});
    xt::xarray<float> y = xt::zeros<float>({std::size_t(4), std::size_t(5), std::size_t(3)});
    distributed_scope scope({});
    CHECK_THROWS_WITH(m.fit(x, y, {.verbose = 0}),
                      Catch::Contains("output carries a mask is not supported yet"));
}
