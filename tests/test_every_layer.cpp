// Every registered layer (layers::registry<T>::names(), built from the list in
// layers/builtin.hpp), made from its example config and input shape: the gradient check in
// double, save / load and to_json / model_from_json round trips, inference on 1 and 2 threads,
// and repeated inference. A layer added to the list is covered here with no edit.
#include "gradient_check.hpp"
#include "temp_dir.hpp"
#include "thread_count.hpp"

using namespace xkeras;
using testing::random_tensor;

namespace {

template <class T>
std::unique_ptr<layers::Layer<T>> example_layer(const std::string& name) {
    const auto example = layers::registry<T>::example(name);
    REQUIRE(example.has_value());
    auto layer = layers::registry<T>::create(name, example->config);
    layer->build(example->input_shape);
    return layer;
}

/// A batch of n inputs for the example of `name`: values uniform in [-1, 1), or indices in
/// [0, index_range) for a layer that takes indices.
template <class T>
xt::xarray<T> example_input(const std::string& name, std::size_t n, std::uint64_t seed) {
    const auto example = layers::registry<T>::example(name);
    shape_t s = example->input_shape;
    s.insert(s.begin(), n);
    if (example->index_range == 0) return xt::cast<T>(random_tensor(s, seed));
    const double range = double(example->index_range);
    return xt::cast<T>(xt::floor(random_tensor(s, seed, 0.0, range)));
}

/// A model of the example layer alone, its weights drawn from `seed`.
Sequential example_model(const std::string& name, std::uint64_t seed) {
    utils::set_random_seed(seed);
    Sequential m;
    m.add(Input(layers::registry<float>::example(name)->input_shape));
    m.add(layers::registry<float>::create(name, layers::registry<float>::example(name)->config));
    // weights that are not their initial values (biases start at zero, BN's statistics at 0/1)
    auto w = m.get_weights();
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = xt::cast<float>(random_tensor(shape_of(w[i]), seed + i, 0.5, 1.5));
    m.set_weights(w);
    return m;
}

bool same_bits(const xt::xarray<float>& a, const xt::xarray<float>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("The registry lists the built-in layers, each with an example", "[layers][registry]") {
    const auto names = layers::registry<float>::names();
    std::vector<std::string> builtin;
#define XKERAS_TEST_NAME(L) builtin.push_back(#L);
#define XKERAS_TEST_RENAMED(K, L) builtin.push_back(#K);
    XKERAS_BUILTIN_LAYERS(XKERAS_TEST_NAME)
    XKERAS_BUILTIN_RENAMED_LAYERS(XKERAS_TEST_RENAMED)
#undef XKERAS_TEST_NAME
#undef XKERAS_TEST_RENAMED
    for (const auto& name : builtin) {
        INFO(name);
        CHECK(std::count(names.begin(), names.end(), name) == 1);
        CHECK(layers::registry<float>::example(name).has_value());
        CHECK(example_layer<float>(name)->class_name() == name);
    }
    CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("Every layer's gradients match central differences", "[layers][gradient][every]") {
    for (const auto& name : layers::registry<double>::names()) {
        INFO("layer class " << name);
        auto layer = example_layer<double>(name);
        if (layer->inference_only()) {  // Keras's augmentation layers: no training pass to check
            CHECK_THROWS_AS(layer->forward(example_input<double>(name, 3, 11), true), state_error);
            continue;
        }
        // indices have no gradient: the weights' alone is checked
        const bool indices = layers::registry<double>::example(name)->index_range > 0;
        testing::check_layer_gradients(*layer, example_input<double>(name, 3, 11), 1e-6, 7,
                                       !indices);
    }
}

TEST_CASE("Every layer survives save / load_model bit for bit", "[layers][io][every]") {
    testing::temp_dir dir;
    for (const auto& name : layers::registry<float>::names()) {
        INFO("layer class " << name);
        auto m = example_model(name, 21);
        m.compile("adam", "mse");
        const auto x = example_input<float>(name, 4, 22);
        const xt::xarray<float> y = m.predict(x) * 0.5f;
        const bool trains = !m.layers()[0]->inference_only();
        if (trains)
            m.fit(x, y, {.batch_size = 2, .epochs = 1, .verbose = 0});
        else
            CHECK_THROWS_AS(m.fit(x, y, {.batch_size = 2, .epochs = 1, .verbose = 0}), state_error);
        m.save(dir / "m.xk");
        auto loaded = load_model(dir / "m.xk");
        CHECK(loaded.to_json() == m.to_json());
        CHECK(same_bits(loaded.predict(x), m.predict(x)));
        const auto a = m.get_weights(), b = loaded.get_weights();
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) CHECK(same_bits(a[i], b[i]));
        // training resumes as it would have gone on: the optimizer's state and the layer's own
        // (Dropout's masks) came with the file
        if (!trains) continue;
        m.train_on_batch(x, y);
        loaded.train_on_batch(x, y);
        const auto c = m.get_weights(), d = loaded.get_weights();
        for (std::size_t i = 0; i < c.size(); ++i) CHECK(same_bits(c[i], d[i]));
    }
}

TEST_CASE("Every layer survives to_json / model_from_json", "[layers][json][every]") {
    for (const auto& name : layers::registry<float>::names()) {
        INFO("layer class " << name);
        auto m = example_model(name, 31);
        auto copy = model_from_json(m.to_json());
        CHECK(copy.to_json() == m.to_json());
        copy.set_weights(m.get_weights());
        const auto x = example_input<float>(name, 3, 32);
        CHECK(same_bits(copy.predict(x), m.predict(x)));
    }
}

TEST_CASE("Every layer gives the same bits at inference on 1 and 2 threads, call after call",
          "[layers][threads][every]") {
    for (const auto& name : layers::registry<float>::names()) {
        INFO("layer class " << name);
        auto m = example_model(name, 41);
        // enough samples for the layers' parallel loops to share the batch out
        const std::size_t per = shape_size(layers::registry<float>::example(name)->input_shape);
        const auto x = example_input<float>(name, (std::size_t(1) << 17) / per + 1, 42);
        const xt::xarray<float> one = [&] {
            testing::scoped_threads single(1);
            return xt::xarray<float>(m.forward(x, false));
        }();
        testing::scoped_threads two(2);
        CHECK(same_bits(m.forward(x, false), one));
        CHECK(same_bits(m.forward(x, false), one));
        CHECK(same_bits(m.predict(x, 64), m.predict(x, 64)));
    }
}
