// Nested models (layers/nested_sequential.hpp) and Keras's random augmentation layers
// (layers/random_augmentation.hpp): a Keras user's `data_augmentation` Sequential of RandomFlip,
// RandomRotation, ... inside a model is read as one layer; its layers are the identities they
// are at inference in Keras, keep their config, and refuse to train. TensorFlow's beginner
// tutorial's Sequential([model, Softmax()]) in C++; a nested model trains as the same layers
// unnested do, bit for bit, freezes as Keras's does, and keeps its nesting through JSON and
// saved files. Too deep a nesting or an input that does not fit is refused by name, and a
// model refused as a layer gets its layers back.
#include <catch2/catch.hpp>

#include <xkeras/xkeras.hpp>

#include "temp_dir.hpp"

#include <algorithm>
#include <cmath>
#include <string>

using namespace xkeras;
using json = nlohmann::json;

namespace {

json layer(const std::string& cls, json config) {
    return {{"module", "keras.layers"}, {"class_name", cls}, {"config", std::move(config)}};
}

json input(json shape) {
    return layer("InputLayer", {{"batch_shape", std::move(shape)}});
}

/// Keras 3's Sequential([Input((6, 6, 1)), nested, Flatten(), Dense(3, softmax)]).
json outer(const json& nested) {
    return {{"module", "keras"},
            {"class_name", "Sequential"},
            {"config",
             {{"name", "outer"},
              {"layers",
               {input({nullptr, 6, 6, 1}), nested, layer("Flatten", json::object()),
                layer("Dense", {{"units", 3}, {"activation", "softmax"}})}}}}};
}

/// keras.io's data_augmentation block: Sequential([RandomFlip("horizontal"), RandomRotation(0.1)]).
json augmentation_block() {
    return {{"module", "keras"},
            {"class_name", "Sequential"},
            {"config",
             {{"name", "data_augmentation"},
              {"layers",
               {input({nullptr, 6, 6, 1}),
                layer("RandomFlip",
                      {{"name", "random_flip"}, {"mode", "horizontal"}, {"seed", nullptr}}),
                layer("RandomRotation", {{"name", "random_rotation"},
                                         {"factor", 0.1},
                                         {"fill_mode", "reflect"},
                                         {"interpolation", "bilinear"}})}}}}};
}

/// Two 6x6 images with values in [-1, 1].
xt::xarray<float> images() {
    xt::xarray<float> x = xt::linspace<float>(-1.0f, 1.0f, 72);
    x.reshape({2, 6, 6, 1});
    return x;
}

}  // namespace

TEST_CASE("A nested augmentation Sequential is read as one layer and predicts as Keras does",
          "[nested][augmentation]") {
    auto m = model_from_json(outer(augmentation_block()).dump());
    REQUIRE(m.layers().size() == 3);
    CHECK(m.layers()[0]->class_name() == "Sequential");
    CHECK(m.layers()[0]->name() == "data_augmentation");
    const auto inner = dynamic_cast<layers::NestedSequential<float>&>(*m.layers()[0]).layers();
    REQUIRE(inner.size() == 2);
    CHECK(inner[0]->class_name() == "RandomFlip");
    CHECK(inner[1]->name() == "random_rotation");
    CHECK(m.layers()[0]->inference_only());
    CHECK(m.input_shape() == shape_t{6, 6, 1});
    // at inference the augmentation is the identity: the model is its Flatten and Dense
    Sequential plain;
    plain.add(Input({6, 6, 1}));
    plain.add(layers::Flatten());
    plain.add(layers::Dense(3, "softmax"));
    plain.set_weights(m.get_weights());
    const xt::xarray<float> x = images();
    CHECK(xt::allclose(m.predict(x), plain.predict(x), 0.0, 0.0));
    // the options xkeras does not apply are kept and written back as read
    const json again = json::parse(m.to_json());
    const json& nested = again["config"]["layers"][1];
    CHECK(nested["module"] == "keras");
    CHECK(nested["class_name"] == "Sequential");
    CHECK(nested["config"]["layers"][0]["class_name"] == "InputLayer");
    const json& rotation = nested["config"]["layers"][2];
    CHECK(rotation["class_name"] == "RandomRotation");
    CHECK(rotation["config"]["factor"] == 0.1);
    CHECK(rotation["config"]["fill_mode"] == "reflect");
    CHECK(model_from_json(m.to_json()).to_json() == m.to_json());
}

TEST_CASE("A model with augmentation layers refuses to train, naming the layer",
          "[nested][augmentation][errors]") {
    auto m = model_from_json(outer(augmentation_block()).dump());
    m.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
    const auto x = images();
    const xt::xarray<float> y = {0.0f, 2.0f};
    const auto before = m.get_weights();
    const std::string refusal =
        "layer 'data_augmentation' (Sequential) runs only at inference in xkeras (Keras's "
        "augmentation is not implemented): train the model without it";
    CHECK_THROWS_WITH(m.fit(x, y, {.epochs = 1, .verbose = 0}), "model 'outer': fit: " + refusal);
    CHECK_THROWS_WITH(m.train_on_batch(x, y), "model 'outer': train_on_batch: " + refusal);
    const auto after = m.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((before[i] == after[i]));
    CHECK(m.optimizer().iterations() == 0);
    // evaluating runs at inference
    CHECK(m.evaluate(x, y, {.verbose = 0}).size() == 2);
    // and so does the layer alone; a training pass says why it cannot run
    auto& flip = *dynamic_cast<layers::NestedSequential<float>&>(*m.layers()[0]).layers()[0];
    CHECK_THROWS_WITH(flip.forward(x, true),
                      Catch::StartsWith("layer 'random_flip' (RandomFlip) runs only at inference "
                                        "in xkeras, as the identity it is there in Keras"));
}

TEST_CASE("Nested models that cannot be read are refused by name", "[nested][errors]") {
    {  // an input that is not what the layers before it give
        json nested = augmentation_block();
        nested["config"]["layers"][0] = input({nullptr, 5, 5, 1});
        CHECK_THROWS_WITH(model_from_json(outer(nested).dump()),
                          Catch::StartsWith("model JSON: layer 1 'data_augmentation' (Sequential, "
                                            "a nested model): layer 'data_augmentation' "
                                            "(Sequential) takes (None, 5, 5, 1) (its InputLayer), "
                                            "got (None, 6, 6, 1)"));
    }
    {  // an InputLayer after a layer
        json nested = augmentation_block();
        nested["config"]["layers"].push_back(input({nullptr, 6, 6, 1}));
        CHECK_THROWS_WITH(model_from_json(outer(nested).dump()),
                          Catch::Contains("(InputLayer) must come first"));
    }
    {  // nesting without end
        json nested = augmentation_block();
        for (int i = 0; i < 10; ++i)
            nested = {{"class_name", "Sequential"},
                      {"config", {{"name", "wrapper_" + std::to_string(i)}, {"layers", {nested}}}}};
        CHECK_THROWS_WITH(model_from_json(outer(nested).dump()),
                          Catch::Contains("nests models more than 8 deep"));
    }
}

namespace {

/// Ten samples of 4 features in [-1, 1] and their classes (0-2), fixed.
std::pair<xt::xarray<float>, xt::xarray<float>> nested_data() {
    xt::xarray<float> x = xt::linspace<float>(-1.0f, 1.0f, 40);
    x.reshape({10, 4});
    xt::xarray<float> y = xt::zeros<float>({10});
    for (std::size_t i = 0; i < 10; ++i) y(i) = float(i % 3);
    return {x, y};
}

bool same_nested_bits(const xt::xarray<float>& a, const xt::xarray<float>& b) {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

TEST_CASE("TensorFlow's beginner tutorial: Sequential({model, Softmax()}) over a trained model",
          "[nested][model]") {
    // model = Sequential([Flatten, Dense(8, relu), Dense(3)]) trained on logits;
    // probability_model = Sequential([model, Softmax()])
    backend::clear_session();
    auto [x, y] = nested_data();
    Sequential model{Input({4}), layers::Dense(8, "relu"), layers::Dense(3)};
    model.compile("adam", losses::SparseCategoricalCrossentropy<float>(true));
    model.fit(x, y, {.batch_size = 5, .epochs = 2, .verbose = 0});
    const xt::xarray<float> logits = model.predict(x);
    const auto weights = model.get_weights();

    Sequential probability{std::move(model), layers::Softmax()};
    CHECK(model.layers().empty());  // its layers moved into the nested one
    REQUIRE(probability.layers().size() == 2);
    CHECK(probability.layers()[0]->class_name() == "Sequential");
    CHECK(probability.layers()[0]->name() == "sequential");
    CHECK(probability.input_shape() == shape_t{4});
    const auto nested_weights = probability.get_weights();
    REQUIRE(nested_weights.size() == weights.size());
    for (std::size_t i = 0; i < weights.size(); ++i)
        CHECK(same_nested_bits(nested_weights[i], weights[i]));
    const xt::xarray<float> p = probability.predict(x);
    for (std::size_t i = 0; i < 10; ++i) {
        double sum = 0.0;
        for (std::size_t k = 0; k < 3; ++k) sum += std::exp(double(logits(i, k)));
        for (std::size_t k = 0; k < 3; ++k)
            CHECK(p(i, k) == Approx(std::exp(double(logits(i, k))) / sum).epsilon(1e-6));
    }
    // one row in the summary, with the model's parameters
    CHECK_THAT(probability.summary_string(),
               Catch::Contains("sequential (Sequential)") && Catch::Contains("Total params: 67"));
    // the weights are named under the nested model: unique in the outer one
    CHECK(probability.layers()[0]->params()[0]->name == "sequential/dense/kernel");
}

TEST_CASE("A nested model trains as its layers unnested do, bit for bit, and freezes as Keras's",
          "[nested][train]") {
    auto [x, y] = nested_data();
    backend::clear_session();
    Sequential flat{Input({4}), layers::Dense(6, "tanh"), layers::Dropout(0.0),
                    layers::Dense(5, "relu"), layers::Dense(3, "softmax")};
    Sequential inner{layers::Dense(6, "tanh"), layers::Dropout(0.0), layers::Dense(5, "relu")};
    Sequential outer{Input({4}), std::move(inner), layers::Dense(3, "softmax")};
    outer.set_weights(flat.get_weights());
    for (auto* m : {&flat, &outer}) {
        m->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
        m->fit(x, y, {.batch_size = 4, .epochs = 3, .verbose = 0, .shuffle = false});
    }
    const auto a = flat.get_weights(), b = outer.get_weights();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(same_nested_bits(a[i], b[i]));
    // predict on enough rows to run a slice per thread, each on its copy of the layers
    xt::xarray<float> many = xt::zeros<float>({std::size_t(120), std::size_t(4)});
    for (std::size_t i = 0; i < many.size(); ++i) many.data()[i] = x.data()[i % x.size()];
    CHECK(same_nested_bits(outer.predict(many, 120), flat.predict(many, 120)));

    // trainable = false on the nested model freezes its layers at the next compile...
    auto& nested = dynamic_cast<layers::NestedSequential<float>&>(*outer.layers()[0]);
    nested.layers()[2]->trainable = false;  // one inner layer frozen on its own
    nested.trainable = false;
    outer.compile("adam", "sparse_categorical_crossentropy");
    CHECK(outer.trainable_params().size() == 2);                // the last Dense's only
    for (auto* l : nested.layers()) CHECK_FALSE(l->trainable);  // as Keras's setter
    const auto before = outer.get_weights();
    outer.train_on_batch(x, y);
    const auto after = outer.get_weights();
    for (std::size_t i = 0; i < 4; ++i) CHECK(same_nested_bits(before[i], after[i]));
    CHECK_FALSE(same_nested_bits(before[4], after[4]));
    CHECK_THAT(outer.summary_string(), Catch::Contains("Non-trainable params: 65"));
    // ...and true again unfreezes every one of them, as Keras's setter does
    nested.trainable = true;
    outer.compile("adam", "sparse_categorical_crossentropy");
    CHECK(outer.trainable_params().size() == 6);
}

TEST_CASE("A nested model keeps its nesting through JSON and a saved file", "[nested][io]") {
    backend::clear_session();
    auto [x, y] = nested_data();
    Sequential inner{"block", layers::Dense(5, "relu"), layers::Dropout(0.25, {.seed = 3}),
                     layers::Dense(4)};
    Sequential m{Input({4}), std::move(inner), layers::Dense(3, "softmax")};
    m.compile("adam", "sparse_categorical_crossentropy");
    m.fit(x, y, {.batch_size = 5, .epochs = 1, .verbose = 0});
    const json j = json::parse(m.to_json());
    const json& block = j["config"]["layers"][1];
    CHECK(block["class_name"] == "Sequential");
    CHECK(block["config"]["name"] == "block");
    CHECK(block["config"]["layers"].size() == 4);  // its InputLayer, then its three layers
    auto again = model_from_json(m.to_json());
    CHECK(again.to_json() == m.to_json());
    REQUIRE(again.get_weights().size() == m.get_weights().size());

    testing::temp_dir dir;
    m.save(dir / "nested.xk");
    auto loaded = load_model(dir / "nested.xk");
    CHECK(loaded.to_json() == m.to_json());
    CHECK(same_nested_bits(loaded.predict(x), m.predict(x)));
    // the Dropout's mask stream resumes exactly: one more epoch gives the same weights
    m.fit(x, y, {.batch_size = 5, .epochs = 1, .verbose = 0});
    loaded.fit(x, y, {.batch_size = 5, .epochs = 1, .verbose = 0});
    const auto a = m.get_weights(), b = loaded.get_weights();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(same_nested_bits(a[i], b[i]));
}

TEST_CASE("A model refused as a layer gets its layers back", "[nested][errors]") {
    backend::clear_session();
    Sequential inner{Input({4}), layers::Dense(5)};
    Sequential outer{Input({3}), layers::Dense(2)};
    CHECK_THROWS_WITH(outer.add(std::move(inner)),
                      "layer 'sequential' (Sequential) takes (None, 4) (its InputLayer), got "
                      "(None, 2)");
    CHECK(outer.layers().size() == 1);
    REQUIRE(inner.layers().size() == 1);  // NOLINT: moved from only when accepted
    CHECK(inner.layers()[0]->name() == "dense");
    Sequential empty;
    CHECK_THROWS_WITH(outer.add(std::move(empty)), Catch::Contains("has no layers"));
    CHECK_THROWS_WITH(outer.add(std::move(outer)), Catch::Contains("cannot contain itself"));
}
