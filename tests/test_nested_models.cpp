// Nested models in Keras JSON (io/detail/model_json_impl.hpp) and Keras's random augmentation
// layers (layers/random_augmentation.hpp): a Keras user's `data_augmentation` Sequential of
// RandomFlip, RandomRotation, ... inside a model is read in its place; its layers are the
// identities they are at inference in Keras, keep their config, and refuse to train. A nested
// model with weights, too deep a nesting or an input that does not fit is refused by name.
#include <catch2/catch.hpp>

#include <xkeras/xkeras.hpp>

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

TEST_CASE("A nested augmentation Sequential is read in its place and predicts as Keras does",
          "[nested][augmentation]") {
    auto m = model_from_json(outer(augmentation_block()).dump());
    REQUIRE(m.layers().size() == 4);
    CHECK(m.layers()[0]->class_name() == "RandomFlip");
    CHECK(m.layers()[1]->name() == "random_rotation");
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
    const json& rotation = again["config"]["layers"][2];
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
        "layer 'random_flip' (RandomFlip) runs only at inference in xkeras (Keras's augmentation "
        "is not implemented): train the model without it";
    CHECK_THROWS_WITH(m.fit(x, y, {.epochs = 1, .verbose = 0}), "model 'outer': fit: " + refusal);
    CHECK_THROWS_WITH(m.train_on_batch(x, y), "model 'outer': train_on_batch: " + refusal);
    const auto after = m.get_weights();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK((before[i] == after[i]));
    CHECK(m.optimizer().iterations() == 0);
    // evaluating runs at inference
    CHECK(m.evaluate(x, y, {.verbose = 0}).size() == 2);
    // and so does the layer alone; a training pass says why it cannot run
    auto& flip = *m.layers()[0];
    CHECK_THROWS_WITH(flip.forward(x, true),
                      Catch::StartsWith("layer 'random_flip' (RandomFlip) runs only at inference "
                                        "in xkeras, as the identity it is there in Keras"));
}

TEST_CASE("Nested models that cannot be read in their place are refused by name",
          "[nested][errors]") {
    {  // weights: a Keras file keeps them under the nested model's own keys
        json nested = augmentation_block();
        nested["config"]["layers"].push_back(
            layer("Conv2D", {{"name", "inner_conv"}, {"filters", 2}, {"kernel_size", 3}}));
        CHECK_THROWS_WITH(model_from_json(outer(nested).dump()),
                          "model JSON: layer 1 'data_augmentation' (Sequential, a nested model) "
                          "has a layer with weights, 'inner_conv'; xkeras reads nested models "
                          "whose layers have none (augmentation, rescaling), in the model's "
                          "place");
    }
    {  // an input that is not what the layers before it give
        json nested = augmentation_block();
        nested["config"]["layers"][0] = input({nullptr, 5, 5, 1});
        CHECK_THROWS_WITH(model_from_json(outer(nested).dump()),
                          Catch::StartsWith("model JSON: layer 1 'data_augmentation' (Sequential, "
                                            "a nested model): layer 0 (InputLayer) takes "));
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
