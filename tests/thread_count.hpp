// tests/thread_count.hpp - a test's steps at a given thread count.
#pragma once

#include <catch2/catch.hpp>

#include <xkeras/xkeras.hpp>

#include <vector>

namespace testing {

/// Sets the pool's thread count for a scope, and gives back the count found on entry when the
/// scope ends: also when a REQUIRE fails in between, so that one failing test cannot leave the
/// next ones on another thread count.
class scoped_threads {
  public:
    explicit scoped_threads(int n) : before_(xkeras::get_num_threads()) {
        xkeras::set_num_threads(n);
    }
    ~scoped_threads() { xkeras::set_num_threads(before_); }
    scoped_threads(const scoped_threads&) = delete;
    scoped_threads& operator=(const scoped_threads&) = delete;

  private:
    int before_;
};

/// Runs a training pass (forward on x, backward of dy) of the layer make() gives, seeded alike,
/// on 1 thread and twice on 2: the two runs on 2 threads must give the same bits, and 1 thread
/// the same values within 1e-5 (a weight gradient's partial sums are cut by the thread count).
template <class Make>
void check_training_threads(Make&& make, const xkeras::shape_t& input_shape,
                            const xt::xarray<float>& x, const xt::xarray<float>& dy) {
    auto run = [&](int threads) {
        scoped_threads use(threads);
        xkeras::utils::set_random_seed(3);
        auto layer = make();
        layer.build(input_shape);
        std::vector<xt::xarray<float>> out{layer.forward(x, true)};
        out.push_back(layer.backward(dy, true));
        for (auto* p : layer.params()) out.push_back(p->grad);
        return out;
    };
    const auto one = run(1), two = run(2), again = run(2);
    for (std::size_t i = 0; i < one.size(); ++i) {
        CHECK((two[i] == again[i]));
        CHECK(xt::allclose(one[i], two[i], 1e-5f, 1e-5f));
    }
}

}  // namespace testing
