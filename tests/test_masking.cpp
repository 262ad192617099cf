// Masks (Embedding's mask_zero, the Masking layer): the recurrent layers against the same layer
// run on each sample's unmasked steps alone (padding before, inside and after, forwards and
// backwards, every step's output or the last, zero_output_for_mask), Bidirectional and
// GlobalAveragePooling1D likewise, gradients through masked steps, the loss and the metrics over
// the unmasked steps only (Keras 3's apply_mask), what Keras 3 drops or refuses, a masked model
// through a saved file, and keras.io's Masking example.
#include "gradient_check.hpp"
#include "temp_dir.hpp"

#include <iostream>
#include <sstream>

using namespace xkeras;
using testing::random_tensor;

namespace {

/// `inner` run with a fixed mask, so that the every-layer gradient check drives its masked
/// forward and backward passes.
class with_fixed_mask : public layers::Layer<double> {
  public:
    with_fixed_mask(layers::Layer<double>& inner, xt::xarray<double> mask)
        : Layer<double>("with_fixed_mask", "", {}), inner_(inner), mask_(std::move(mask)) {
        this->built_ = true;
    }
    std::string class_name() const override { return inner_.class_name(); }
    shape_t compute_output_shape(const shape_t& in) const override {
        return inner_.compute_output_shape(in);
    }
    const tensor<double>& forward(const tensor<double>& x, bool training) override {
        return inner_.forward_masked(x, mask_, training);
    }
    const tensor<double>& backward(const tensor<double>& dy, bool need_input_grad) override {
        return inner_.backward(dy, need_input_grad);
    }
    std::vector<layers::Param<double>*> params() override { return inner_.params(); }

  private:
    layers::Layer<double>& inner_;
    xt::xarray<double> mask_;
};

/// Sample i's steps whose mask is 1, in order: (1, kept steps, features).
xt::xarray<double> kept_steps(const xt::xarray<double>& x, const xt::xarray<double>& mask,
                              std::size_t i) {
    const std::size_t steps = x.shape()[1], F = x.shape()[2];
    std::vector<std::size_t> kept;
    for (std::size_t t = 0; t < steps; ++t)
        if (mask(i, t) != 0.0) kept.push_back(t);
    xt::xarray<double> out = xt::zeros<double>({std::size_t(1), kept.size(), F});
    for (std::size_t k = 0; k < kept.size(); ++k)
        for (std::size_t f = 0; f < F; ++f) out(0, k, f) = x(i, kept[k], f);
    return out;
}

/// Two samples of 5 steps, 3 of them kept each: padding inside and after (sample 0), before
/// (sample 1).
const xt::xarray<double> two_masks = {{1, 0, 1, 1, 0}, {0, 0, 1, 1, 1}};

/// A layer of `cls` from `config`, built for `steps` steps of 3 features.
std::unique_ptr<layers::Layer<double>> recurrent_layer(const std::string& cls,
                                                       nlohmann::json config, std::size_t steps) {
    auto layer = layers::make_layer<double>(cls, config);
    layer->build({steps, 3});
    return layer;
}

}  // namespace

TEST_CASE("A recurrent layer with a mask computes what it computes on the unmasked steps alone",
          "[masking][recurrent]") {
    const auto x = random_tensor({2, 5, 3}, 11, -1.0, 1.0);
    for (const std::string cls : {"SimpleRNN", "LSTM", "GRU"})
        for (bool backwards : {false, true}) {
            INFO(cls << (backwards ? ", go_backwards" : ""));
            const nlohmann::json cfg = {{"units", 4}, {"go_backwards", backwards}};
            auto masked = recurrent_layer(cls, cfg, 5);
            auto alone = recurrent_layer(cls, cfg, 3);
            alone->set_weights(masked->get_weights());
            const xt::xarray<double> y = masked->forward_masked(x, two_masks, false);
            for (std::size_t i = 0; i < 2; ++i) {
                const xt::xarray<double> want = alone->forward(kept_steps(x, two_masks, i), false);
                for (std::size_t j = 0; j < 4; ++j)
                    CHECK(y(i, j) == Approx(want(0, j)).margin(1e-12));
            }
            // without the mask, the padding counts
            const xt::xarray<double> unmasked = masked->forward(x, false);
            CHECK(xt::amax(xt::abs(unmasked - y))() > 1e-3);
        }
}

TEST_CASE("A masked step's output is the previous step's, or zeros with zero_output_for_mask",
          "[masking][recurrent]") {
    const auto x = random_tensor({2, 5, 3}, 12, -1.0, 1.0);
    for (const std::string cls : {"SimpleRNN", "LSTM", "GRU"})
        for (bool zeros : {false, true}) {
            INFO(cls << (zeros ? ", zero_output_for_mask" : ""));
            const nlohmann::json cfg = {
                {"units", 2}, {"return_sequences", true}, {"zero_output_for_mask", zeros}};
            auto masked = recurrent_layer(cls, cfg, 5);
            auto alone = recurrent_layer(cls, cfg, 3);
            alone->set_weights(masked->get_weights());
            CHECK(masked->get_config()["zero_output_for_mask"] == zeros);
            const xt::xarray<double> y = masked->forward_masked(x, two_masks, false);
            for (std::size_t i = 0; i < 2; ++i) {
                const xt::xarray<double> want = alone->forward(kept_steps(x, two_masks, i), false);
                int kept = -1;  // the last unmasked step's index in `want`
                for (std::size_t t = 0; t < 5; ++t) {
                    if (two_masks(i, t) != 0.0) ++kept;
                    for (std::size_t j = 0; j < 2; ++j) {
                        const double expected =
                            (two_masks(i, t) == 0.0 && zeros) || kept < 0 ? 0.0 : want(0, kept, j);
                        CHECK(y(i, t, j) == Approx(expected).margin(1e-12));
                    }
                }
            }
        }
}

TEST_CASE("Bidirectional reads the mask in both directions and zeroes masked steps' outputs",
          "[masking][bidirectional]") {
    const auto x = random_tensor({2, 5, 3}, 13, -1.0, 1.0);
    for (bool sequences : {false, true}) {
        INFO("return_sequences " << sequences);
        const nlohmann::json cfg = {
            {"layer",
             {{"class_name", "GRU"}, {"config", {{"units", 2}, {"return_sequences", sequences}}}}}};
        auto masked = recurrent_layer("Bidirectional", cfg, 5);
        auto alone = recurrent_layer("Bidirectional", cfg, 3);
        alone->set_weights(masked->get_weights());
        CHECK(masked->get_config()["layer"]["config"]["zero_output_for_mask"] == sequences);
        const xt::xarray<double> y = masked->forward_masked(x, two_masks, false);
        for (std::size_t i = 0; i < 2; ++i) {
            const xt::xarray<double> want = alone->forward(kept_steps(x, two_masks, i), false);
            if (!sequences) {
                for (std::size_t j = 0; j < 4; ++j)
                    CHECK(y(i, j) == Approx(want(0, j)).margin(1e-12));
                continue;
            }
            std::size_t kept = 0;
            for (std::size_t t = 0; t < 5; ++t)
                for (std::size_t j = 0; j < 4; ++j) {
                    const double expected = two_masks(i, t) == 0.0 ? 0.0 : want(0, kept, j);
                    CHECK(y(i, t, j) == Approx(expected).margin(1e-12));
                    if (j == 3 && two_masks(i, t) != 0.0) ++kept;
                }
        }
    }
}

TEST_CASE("GlobalAveragePooling1D with a mask is the mean over the unmasked steps",
          "[masking][pooling]") {
    const auto x = random_tensor({2, 5, 3}, 14, -1.0, 1.0);
    layers::GlobalAveragePooling1D<double> pool;
    pool.build({5, 3});
    const xt::xarray<double> y = pool.forward_masked(x, two_masks, false);
    for (std::size_t i = 0; i < 2; ++i) {
        const xt::xarray<double> kept = kept_steps(x, two_masks, i);
        for (std::size_t c = 0; c < 3; ++c)
            CHECK(y(i, c) == Approx((kept(0, 0, c) + kept(0, 1, c) + kept(0, 2, c)) / 3.0));
    }
    CHECK_FALSE(pool.output_masked(true));
    // GlobalMaxPooling1D does not take one, as Keras 3's
    CHECK_FALSE(layers::GlobalMaxPooling1D<double>().supports_masking());
    // a mask of another shape is refused, naming both
    CHECK_THROWS_WITH(
        pool.forward_masked(x, xt::xarray<double>(xt::ones<double>({2, 4})), false),
        Catch::Contains("expected a mask of shape (2, 5)") && Catch::Contains("got (2, 4)"));
}

TEST_CASE("Gradients through masked steps match central differences", "[masking][gradient]") {
    const auto x = random_tensor({2, 5, 3}, 15, -1.0, 1.0);
    const std::vector<std::pair<std::string, nlohmann::json>> cases = {
        {"SimpleRNN", {{"units", 3}}},
        {"LSTM", {{"units", 3}, {"return_sequences", true}}},
        {"LSTM", {{"units", 3}, {"go_backwards", true}}},
        {"GRU", {{"units", 3}, {"return_sequences", true}, {"zero_output_for_mask", true}}},
        {"Bidirectional",
         {{"layer",
           {{"class_name", "LSTM"}, {"config", {{"units", 2}, {"return_sequences", true}}}}}}},
        {"GlobalAveragePooling1D", nlohmann::json::object()},
    };
    for (const auto& [cls, cfg] : cases) {
        INFO(cls << " " << cfg.dump());
        auto layer = recurrent_layer(cls, cfg, 5);
        with_fixed_mask masked(*layer, two_masks);
        testing::check_layer_gradients(masked, x);
    }
}

TEST_CASE("A masked output's loss and metrics count the unmasked steps only (Keras 3)",
          "[masking][loss]") {
    // tokens (2 samples x 4 steps, 0 = padding) tagged per step with one of 3 classes
    backend::clear_session();
    Sequential model;
    model.add(layers::Embedding(6, 4, {.mask_zero = true}), {4});
    model.add(layers::Dense(3, "softmax"));
    CHECK(model.output_masked());
    model.compile("sgd", "sparse_categorical_crossentropy", {"accuracy"});
    const tensor<float> x = {{1, 2, 0, 0}, {3, 0, 4, 5}};
    const tensor<float> y = {{0, 1, 2, 2}, {1, 0, 2, 0}};
    const tensor<float> p = model.predict(x);
    double loss = 0.0, hits = 0.0, weighted = 0.0;
    const double w[2] = {2.0, 0.5};
    int kept = 0;
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t t = 0; t < 4; ++t) {
            if (x(i, t) == 0.0f) continue;
            const double l = -std::log(double(p(i, t, std::size_t(y(i, t)))));
            loss += l;
            weighted += w[i] * l;
            const auto best = std::size_t(xt::argmax(xt::view(p, i, t, xt::all()))());
            hits += best == std::size_t(y(i, t));
            ++kept;
        }
    const auto r = model.test_on_batch(x, y);
    CHECK(r[0] == Approx(loss / kept).epsilon(1e-5));
    CHECK(r[1] == Approx(hits / kept));
    // sample weights times the mask, over the unmasked count (Keras's sum_over_batch_size)
    const tensor<float> sw = {2.0f, 0.5f};
    CHECK(model.test_on_batch(x, y, sw)[0] == Approx(weighted / kept).epsilon(1e-5));
}

TEST_CASE(
    "A layer that cannot take a mask drops it with Keras 3's warning, BatchNormalization "
    "refuses it",
    "[masking][model]") {
    backend::clear_session();
    Sequential model;
    model.add(layers::Embedding(6, 4, {.mask_zero = true}), {5});
    model.add(layers::Dense(4));
    CHECK(model.output_masked());
    CHECK_THROWS_WITH(model.add(layers::BatchNormalization()),
                      Catch::Contains("BatchNormalization") && Catch::Contains("carries a mask"));
    CHECK_THROWS_WITH(model.add(layers::Softmax()),
                      Catch::Contains("(Softmax): its input carries"));
    CHECK(model.layers().size() == 2);  // the model is as it was
    std::ostringstream err;
    auto* old = std::cerr.rdbuf(err.rdbuf());
    model.add(layers::Conv1D(2, 3));
    std::cerr.rdbuf(old);
    CHECK_THAT(err.str(),
               Catch::Contains("Layer 'conv1d' (of type Conv1D) was passed an input with a mask"));
    CHECK_FALSE(model.output_masked());
}

TEST_CASE("A model with mask_zero learns to ignore padding, and keeps it through a saved file",
          "[masking][model][io]") {
    // the class of a sequence is its first token's parity; padding (0) comes before or after,
    // so the last step alone does not tell it
    backend::clear_session();
    Sequential model;
    model.add(layers::Embedding(8, 8, {.mask_zero = true}), {6});
    model.add(layers::LSTM(8));
    model.add(layers::Dense(2, "softmax"));
    model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
    const std::size_t n = 256;
    tensor<float> x = xt::zeros<float>({n, std::size_t(6)}), y = xt::zeros<float>({n});
    std::uint64_t s = 1;
    auto next = [&] { return (s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t len = 1 + next() % 4, pad_before = next() % (7 - len);
        for (std::size_t k = 0; k < len; ++k) x(i, pad_before + k) = float(1 + next() % 7);
        y(i) = float(int(x(i, pad_before)) % 2);
    }
    auto h = model.fit(x, y, {.batch_size = 32, .epochs = 40, .verbose = 0});
    CHECK(h.history.at("accuracy").back() > 0.95);

    testing::temp_dir dir;
    model.save(dir / "masked.xk");
    auto loaded = load_model(dir / "masked.xk");
    CHECK(loaded.layers()[0]->get_config()["mask_zero"] == true);
    CHECK(loaded.layers()[0]->output_masked(false));
    CHECK_FALSE(loaded.output_masked());  // the LSTM returns its last step only
    const tensor<float> a = model.predict(x), b = loaded.predict(x);
    CHECK(a == b);
}

TEST_CASE("Masking masks the steps whose features all equal mask_value (keras.io's example)",
          "[masking][layer]") {
    // keras.io: steps 3 and 5 of every sample set to 0, skipped by the LSTM after Masking(0.0)
    auto x = random_tensor({2, 7, 3}, 16, 0.1, 1.0);
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t f = 0; f < 3; ++f) x(i, 3, f) = x(i, 5, f) = 0.0;
    x(1, 2, 0) = 0.0;  // one zero among other values does not mask its step
    layers::Masking<double> masking;
    masking.build({7, 3});
    const xt::xarray<double> y = masking.forward(x, true);
    CHECK(y == x);
    const xt::xarray<double> mask = *masking.compute_mask(x, nullptr);
    const xt::xarray<double> want = {{1, 1, 1, 0, 1, 0, 1}, {1, 1, 1, 0, 1, 0, 1}};
    CHECK(mask == want);
    // the LSTM after it skips those steps: as the LSTM on the five other steps
    auto lstm = recurrent_layer("LSTM", {{"units", 4}}, 7);
    auto alone = recurrent_layer("LSTM", {{"units", 4}}, 5);
    alone->set_weights(lstm->get_weights());
    const xt::xarray<double> h = lstm->forward_masked(y, mask, false);
    xt::xarray<double> kept = xt::view(x, xt::all(), xt::keep(0, 1, 2, 4, 6), xt::all());
    const xt::xarray<double> h_alone = alone->forward(kept, false);
    CHECK(xt::allclose(h, h_alone, 0.0, 1e-12));
    // a masked step's output is zeros and so is its gradient; another value and the config
    const xt::xarray<double> dy = xt::ones<double>({2, 7, 3});
    const xt::xarray<double> dx = masking.backward(dy, true);
    CHECK(dx(0, 3, 1) == 0.0);
    CHECK(dx(1, 2, 0) == 1.0);
    layers::Masking<double> minus(-1.0, {.name = "pad"});
    CHECK(minus.get_config()["mask_value"] == -1.0);
    const auto again = layers::make_layer<double>("Masking", minus.get_config());
    CHECK(dynamic_cast<layers::Masking<double>&>(*again).mask_value() == -1.0);
    CHECK_THROWS_WITH(layers::Masking<double>().build({5}),
                      Catch::Contains("expects inputs of shape (batch, steps, ..., features)"));
}
