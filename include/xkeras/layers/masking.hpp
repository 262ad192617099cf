// xkeras/layers/masking.hpp - Masking: masks the steps whose every feature equals mask_value.
//
// Keras's Masking for sequences of numbers (Embedding's mask_zero does it for indices): over
// (batch, steps, ..., features), a step whose features all equal mask_value is masked for the
// layers after it (layers/layer.hpp, "masks") and its output is zeros; the other steps pass
// unchanged, and so does their gradient. No weights; output shape = input shape.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "layer.hpp"

namespace xkeras::layers {

struct MaskingOptions {
    shape_t input_shape{};  ///< Keras's `input_shape=` (steps, features), for a first layer.
    std::string name{};     ///< Defaults to "masking", "masking_1", ...
};

/// `Masking()`, `Masking(-1.0)`: the steps whose features are all `mask_value` are skipped by
/// the recurrent layers after it.
template <class T = float>
class Masking : public Layer<T> {
  public:
    explicit Masking(double mask_value = 0.0, MaskingOptions o = {})
        : Layer<T>("masking", o.name, o.input_shape), mask_value_(mask_value) {
        if (!std::isfinite(mask_value_))
            throw value_error(
                xkeras::detail::cat("Masking: expected a finite mask_value, got ", mask_value_));
    }

    std::string class_name() const override { return "Masking"; }
    double mask_value() const { return mask_value_; }

    bool supports_masking() const override { return true; }
    bool output_masked(bool) const override { return true; }

    /// 1 for the steps of the last forward pass's input with a feature other than mask_value.
    const tensor<T>* compute_mask(const tensor<T>&, const tensor<T>*) const override {
        return &mask_;
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (in.size() < 2 || shape_size(in) == 0)
            throw shape_error(xkeras::detail::cat(
                "layer '", this->name(),
                "' (Masking) expects inputs of shape (batch, steps, ..., features) with no "
                "empty axis, got ",
                shape_str(in, true)));
        return in;
    }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        const std::size_t F = this->input_shape_.back(), steps = x.size() / F;
        shape_t mask_shape = shape_of(x);
        mask_shape.pop_back();
        this->ensure_shape(mask_, mask_shape);
        this->ensure_shape(y_, shape_of(x));
        const T value = T(mask_value_);
        for (std::size_t s = 0; s < steps; ++s) {
            const T* in = x.data() + s * F;
            const bool kept = std::any_of(in, in + F, [&](T v) { return v != value; });
            mask_.data()[s] = kept ? T(1) : T(0);
            if (kept)
                std::copy_n(in, F, y_.data() + s * F);
            else
                std::fill_n(y_.data() + s * F, F, T(0));
        }
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return dx_;
        const std::size_t F = this->input_shape_.back(), steps = dy.size() / F;
        this->ensure_shape(dx_, shape_of(dy));
        for (std::size_t s = 0; s < steps; ++s) {
            if (mask_.data()[s] != T(0))
                std::copy_n(dy.data() + s * F, F, dx_.data() + s * F);
            else
                std::fill_n(dx_.data() + s * F, F, T(0));
        }
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["mask_value"] = mask_value_;
        return c;
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Masking");
        const double value = r.get("mask_value", 0.0);
        auto layer = std::make_unique<Masking<T>>(value, MaskingOptions{.name = r.name()});
        r.finish();
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    static layer_example example() { return {{{"mask_value", 0.5}}, {3, 4}}; }

  private:
    double mask_value_;
    tensor<T> y_, dx_, mask_;
};

}  // namespace xkeras::layers
