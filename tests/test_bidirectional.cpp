// Bidirectional: every merge mode, with and without return_sequences, around each recurrent
// class, against its two layers run apart (the backward one on its own, its sequence flipped
// back) with gradient checks; keras.io's parameter counts; Keras 3's and tf.keras 2's configs,
// names and refusals.
#include "gradient_check.hpp"

using namespace xkeras;
using testing::check_layer_gradients;
using testing::random_tensor;

namespace {

/// The layer of class `cls` with `units`, return_sequences and go_backwards, as Bidirectional
/// wraps it.
std::unique_ptr<layers::Layer<double>> recurrent(const std::string& cls, bool sequences,
                                                 bool backwards) {
    const nlohmann::json cfg = {
        {"units", 3}, {"return_sequences", sequences}, {"go_backwards", backwards}};
    return layers::registry<double>::create(cls, cfg);
}

/// What Bidirectional should give: the two layers' outputs, the backward one's steps flipped
/// back (with sequences), merged.
xt::xarray<double> merged(const xt::xarray<double>& f, xt::xarray<double> b, bool sequences,
                          const std::string& mode) {
    if (sequences) {
        const xt::xarray<double> flipped = xt::flip(b, 1);
        b = flipped;
    }
    if (mode == "concat") return xt::concatenate(xt::xtuple(f, b), f.dimension() - 1);
    if (mode == "sum") return f + b;
    if (mode == "ave") return (f + b) / 2.0;
    return f * b;
}

}  // namespace

TEST_CASE("Bidirectional runs its layer both ways and merges as Keras", "[bidirectional]") {
    for (const std::string cls : {"LSTM", "GRU", "SimpleRNN"})
        for (const bool sequences : {true, false})
            for (const std::string mode : {"concat", "sum", "ave", "mul"}) {
                INFO(cls << ", return_sequences " << sequences << ", merge_mode " << mode);
                auto wrapped = recurrent(cls, sequences, false);
                std::unique_ptr<layers::Layer<double>> bi;
                if (cls == "LSTM")
                    bi = std::make_unique<layers::Bidirectional<double>>(
                        dynamic_cast<layers::LSTM<double>&>(*wrapped),
                        layers::BidirectionalOptions{.merge_mode = mode});
                else
                    bi = layers::registry<double>::create(
                        "Bidirectional",
                        {{"merge_mode", mode},
                         {"layer", {{"class_name", cls}, {"config", wrapped->get_config()}}}});
                bi->build({5, 2});
                const auto& b = dynamic_cast<layers::Bidirectional<double>&>(*bi);
                CHECK(b.forward_layer().name() == "forward_" + wrapped->name());
                CHECK(b.backward_layer().name() == "backward_" + wrapped->name());
                CHECK(b.backward_layer().go_backwards());
                // the two layers apart, with the weights Bidirectional drew
                auto f = recurrent(cls, sequences, false), r = recurrent(cls, sequences, true);
                f->build({5, 2});
                r->build({5, 2});
                auto w = bi->get_weights();
                const std::size_t half = w.size() / 2;
                REQUIRE(half == f->params().size());
                for (auto& t : w) t = random_tensor(shape_of(t), 11 + (&t - w.data()), -0.6, 0.6);
                bi->set_weights(w);
                f->set_weights(std::vector<xt::xarray<double>>(w.begin(), w.begin() + long(half)));
                r->set_weights(std::vector<xt::xarray<double>>(w.begin() + long(half), w.end()));
                const auto x = random_tensor({4, 5, 2}, 3);
                const auto expected =
                    merged(f->forward(x, false), r->forward(x, false), sequences, mode);
                CHECK(xt::allclose(bi->forward(x, false), expected, 1e-14, 1e-14));
                const auto es = shape_of(expected);
                CHECK(bi->output_shape() == shape_t(es.begin() + 1, es.end()));
                check_layer_gradients(*bi, x);
            }
}

TEST_CASE("Bidirectional has keras.io's parameter counts and shapes", "[bidirectional]") {
    // keras.io's Bidirectional LSTM on IMDB: Embedding(20000, 128), then two of these
    layers::Bidirectional<float> first(layers::LSTM<float>(64, {.return_sequences = true}));
    first.build({200, 128});
    CHECK(first.count_params() == 98816);
    CHECK(first.output_shape() == shape_t{200, 128});
    layers::Bidirectional<float> second(layers::LSTM<float>(64));
    second.build({200, 128});
    CHECK(second.count_params() == 98816);
    CHECK(second.output_shape() == shape_t{128});
    layers::Bidirectional<float> summed(layers::GRU<float>(10), {.merge_mode = "sum"});
    summed.build({7, 4});
    CHECK(summed.output_shape() == shape_t{10});
    // Keras keeps each layer's weights in its cell
    const auto groups = first.keras_weight_groups();
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].path == std::vector<std::string>{"forward_layer", "cell"});
    CHECK(groups[1].path == std::vector<std::string>{"backward_layer", "cell"});
    CHECK(groups[0].count == 3);
}

TEST_CASE("Bidirectional reads Keras 3's and tf.keras 2's configs and refuses what it lacks",
          "[bidirectional][config]") {
    const auto lstm = [](const char* name, bool backwards) {
        return nlohmann::json{{"module", "keras.layers"},
                              {"class_name", "LSTM"},
                              {"config",
                               {{"name", name},
                                {"units", 4},
                                {"return_sequences", true},
                                {"go_backwards", backwards}}},
                              {"registered_name", nullptr}};
    };
    const nlohmann::json k3 = {{"name", "bidirectional"},
                               {"trainable", true},
                               {"merge_mode", "concat"},
                               {"layer", lstm("forward_lstm", false)},
                               {"backward_layer", lstm("backward_lstm", true)}};
    auto layer = layers::registry<float>::create("Bidirectional", k3);
    const auto& bi = dynamic_cast<const layers::Bidirectional<float>&>(*layer);
    CHECK(bi.forward_layer().name() == "forward_lstm");
    CHECK(bi.backward_layer().name() == "backward_lstm");
    const auto out = layer->get_config();
    CHECK(out["merge_mode"] == "concat");
    CHECK(out["layer"]["class_name"] == "LSTM");
    CHECK(out["layer"]["config"]["name"] == "forward_lstm");
    CHECK(out["backward_layer"]["config"]["go_backwards"] == true);
    // tf.keras 2 writes the wrapped layer under its own name and no backward layer
    auto tf2 = k3;
    tf2.erase("backward_layer");
    tf2["layer"] = lstm("lstm", false);
    auto old = layers::registry<float>::create("Bidirectional", tf2);
    const auto& o = dynamic_cast<const layers::Bidirectional<float>&>(*old);
    CHECK(o.forward_layer().name() == "forward_lstm");
    CHECK(o.backward_layer().name() == "backward_lstm");
    CHECK(o.backward_layer().go_backwards());

    auto refused = [&](const char* key, nlohmann::json value) {
        auto cfg = k3;
        cfg[key] = std::move(value);
        return layers::registry<float>::create("Bidirectional", cfg);
    };
    CHECK_THROWS_WITH(refused("merge_mode", nullptr),
                      "Bidirectional 'bidirectional': config key 'merge_mode' = null (two "
                      "outputs) is not supported by xkeras: a Sequential passes one (concat, "
                      "sum, ave or mul)");
    CHECK_THROWS_WITH(refused("merge_mode", "max"),
                      "Bidirectional: merge_mode 'max' is not supported (concat, sum, ave or mul)");
    CHECK_THROWS_WITH(refused("layer", {{"class_name", "Dense"}, {"config", {{"units", 2}}}}),
                      "Bidirectional 'bidirectional': config key 'layer': the wrapped layer is a "
                      "'Dense'; Bidirectional wraps a recurrent layer (SimpleRNN, LSTM, GRU)");
    CHECK_THROWS_WITH(
        refused("layer", {{"class_name", "ConvLSTM2D"}, {"config", nlohmann::json::object()}}),
        Catch::Contains("config key 'layer': layer class 'ConvLSTM2D' is not "
                        "supported by xkeras"));
    CHECK_THROWS_WITH(refused("layer", 3), Catch::Contains("config key 'layer' must be a layer"));
    CHECK_THROWS_WITH(refused("backward_layer", lstm("b", false)),
                      "Bidirectional 'bidirectional': the forward and backward layers need "
                      "different go_backwards values, got false for both");
    auto flat = lstm("b", true);
    flat["config"]["return_sequences"] = false;
    CHECK_THROWS_WITH(refused("backward_layer", flat),
                      Catch::Contains("need the same return_sequences"));
    flat = lstm("b", true);
    flat["config"]["units"] = 5;
    CHECK_THROWS_WITH(refused("backward_layer", flat),
                      Catch::Contains("need the same units, got 4 and 5"));
    auto dropout = lstm("b", true);
    dropout["config"]["recurrent_dropout"] = 0.5;
    CHECK_THROWS_WITH(refused("backward_layer", dropout),
                      Catch::Contains("'recurrent_dropout' = 0.5 is not supported"));
}

TEST_CASE("Bidirectional keeps its layers' dropout streams as its training state",
          "[bidirectional][dropout]") {
    layers::Bidirectional<double> b(
        layers::LSTM<double>(3, {.dropout = 0.3, .seed = 5, .return_sequences = true}));
    b.build({4, 2});
    const nlohmann::json state = b.training_state();
    CHECK(state["forward_layer"]["seed"] == 5);
    CHECK(state["backward_layer"]["calls"] == 0);
    check_layer_gradients(b, random_tensor({3, 4, 2}, 6));
    CHECK_THROWS_WITH(b.set_training_state({{"seed", 1}, {"calls", 0}}),
                      Catch::Contains("needs 'forward_layer' and 'backward_layer'"));
    layers::Bidirectional<double> plain(layers::GRU<double>(2));
    CHECK(plain.training_state().is_null());
}
