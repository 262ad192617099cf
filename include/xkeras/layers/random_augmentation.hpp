// xkeras/layers/random_augmentation.hpp - Keras's random image augmentation layers
// (RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast, RandomBrightness),
// read from Keras files and run at inference.
//
// In Keras these layers change the images only in training; at inference they return their
// input. xkeras does not implement their random transformations yet, so they are inference-only:
// forward with training off is the identity, as in Keras, and their config is kept as read so a
// model saved again holds them unchanged; fit and train_on_batch refuse a model that has one
// (Layer::inference_only), as forward with training on does, naming the layer. A Keras user's
// model keeps them in a nested `data_augmentation` Sequential: such a model predicts in C++
// as it does in Keras.
#pragma once

#include <memory>
#include <string>

#include "config.hpp"
#include "layer.hpp"

namespace xkeras::layers {

/// The inference-only identity of an augmentation layer; `Derived` gives `keras_name` (the
/// class name) and `prefix` (its automatic name's).
template <class T, class Derived>
class augmentation : public Layer<T> {
  public:
    /// From Keras's config, kept whole: the options of the augmentation, which xkeras does not
    /// apply, are written back as they came.
    explicit augmentation(nlohmann::json config = nlohmann::json::object())
        : Layer<T>(Derived::prefix, name_in(config), {}), options_(std::move(config)) {
        if (!options_.is_object())
            throw value_error(xkeras::detail::cat(
                Derived::keras_name, ": expected a config object, got ", io::describe(options_)));
        if (options_.contains("trainable") && options_["trainable"].is_boolean())
            this->trainable = options_["trainable"].template get<bool>();
        for (const char* k : {"name", "trainable", "dtype"}) options_.erase(k);
    }

    std::string class_name() const override { return Derived::keras_name; }
    bool inference_only() const override { return true; }

    shape_t compute_output_shape(const shape_t& in) const override { return in; }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        if (training) throw state_error(refusal());
        y_ = x;
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& /*dy*/, bool /*need_input_grad*/) override {
        throw state_error(refusal());
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        for (const auto& [k, v] : options_.items()) c[k] = v;
        return c;
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        return std::make_unique<Derived>(cfg);
    }

    static layer_example example() { return {{{"seed", 7}}, {5, 4, 3}}; }

  private:
    static std::string name_in(const nlohmann::json& c) {
        return c.is_object() && c.contains("name") && c["name"].is_string()
                   ? c["name"].template get<std::string>()
                   : std::string();
    }
    std::string refusal() const {
        return xkeras::detail::cat("layer '", this->name(), "' (", Derived::keras_name,
                                   ") runs only at inference in xkeras, as the identity it is "
                                   "there in Keras; its random augmentation in training is not "
                                   "implemented: train the model without it");
    }

    nlohmann::json options_;
    tensor<T> y_;
};

// Each is Keras's layer of that name (keras.layers.RandomFlip, ...), inference only.
#define XKERAS_DETAIL_AUGMENTATION(Name, auto_prefix)      \
    template <class T = float>                             \
    class Name : public augmentation<T, Name<T>> {         \
      public:                                              \
        static constexpr const char* keras_name = #Name;   \
        static constexpr const char* prefix = auto_prefix; \
        using augmentation<T, Name<T>>::augmentation;      \
    };
XKERAS_DETAIL_AUGMENTATION(RandomFlip, "random_flip")
XKERAS_DETAIL_AUGMENTATION(RandomRotation, "random_rotation")
XKERAS_DETAIL_AUGMENTATION(RandomZoom, "random_zoom")
XKERAS_DETAIL_AUGMENTATION(RandomTranslation, "random_translation")
XKERAS_DETAIL_AUGMENTATION(RandomContrast, "random_contrast")
XKERAS_DETAIL_AUGMENTATION(RandomBrightness, "random_brightness")
#undef XKERAS_DETAIL_AUGMENTATION

}  // namespace xkeras::layers
