// xkeras/layers/softmax.hpp - Softmax: exp(x - max) / sum along one axis (the last by default).
// No weights; output shape = input shape.
//
// `axis` counts as Keras counts it: the batch axis is 0, -1 the last. Softmax over the batch
// axis would tie a sample's output to the others in its batch, and is refused. Over the last
// axis the layer is a model's softmax output, fused with crossentropy as Dense(..., "softmax")
// is; over another axis, each line along it is normalised on its own.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "layer.hpp"

namespace xkeras::layers {

struct SoftmaxOptions {
    int axis = -1;
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "softmax", "softmax_1", ...
};

/// `Softmax()`, `Softmax({.axis = 1})`.
template <class T = float>
class Softmax : public Layer<T> {
  public:
    explicit Softmax(SoftmaxOptions o = {})
        : Layer<T>("softmax", o.name, o.input_shape), axis_(o.axis) {
        if (axis_ == 0)
            throw value_error(
                "Softmax: axis 0 is the batch axis, which would tie each sample's output to the "
                "others in its batch; expected an axis of the sample (1, 2, ..., or -1, -2, ...)");
    }

    std::string class_name() const override { return "Softmax"; }
    /// Keras's Softmax applies a mask that broadcasts to its input, and raises on one that
    /// does not, as a (batch, steps) mask on (batch, steps, units) does unless steps == units;
    /// xkeras refuses every mask rather than apply it in that one case.
    bool supports_masking() const override { return true; }
    void check_input_mask() const override {
        throw value_error(xkeras::detail::cat(
            "layer '", this->name(),
            "' (Softmax): its input carries a mask (Embedding's mask_zero), which Softmax "
            "does not apply in xkeras (Keras applies only a mask that broadcasts to its "
            "input); use Dense(units, \"softmax\")"));
    }
    int axis() const { return axis_; }

    activations::kind output_activation() const override {
        return last_axis() ? activations::kind::softmax : activations::kind::linear;
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        const long rank = long(in.size()) + 1;  // with the batch axis
        const long a = axis_ < 0 ? rank + axis_ : axis_;
        if (a < 1 || a >= rank || in[std::size_t(a - 1)] == 0)
            throw shape_error(xkeras::detail::cat("layer '", this->name(), "' (Softmax): axis ",
                                                  axis_, " is not a non-empty axis of inputs ",
                                                  shape_str(in, true)));
        return in;
    }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        this->ensure_shape(y_, shape_of(x));
        if (this->output_logits_) x_ = &x;
        const auto [outer, n, inner] = extents(x.shape()[0]);
        if (inner == 1) {
            activations::apply(activations::kind::softmax, x.data(), y_.data(), outer, n);
            return y_;
        }
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t i = 0; i < inner; ++i) {
                const T* in = x.data() + o * n * inner + i;
                T* out = y_.data() + o * n * inner + i;
                T mx = in[0];
                for (std::size_t k = 1; k < n; ++k) mx = std::max(mx, in[k * inner]);
                T sum = T(0);
                for (std::size_t k = 0; k < n; ++k)
                    sum += out[k * inner] = std::exp(in[k * inner] - mx);
                const T inv = T(1) / sum;
                for (std::size_t k = 0; k < n; ++k) out[k * inner] *= inv;
            }
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, shape_of(dy));
        if (this->output_logits_) {  // dy is already d(loss)/d(logits)
            std::copy_n(dy.data(), dy.size(), dx_.data());
            return dx_;
        }
        const auto [outer, n, inner] = extents(dy.shape()[0]);
        if (inner == 1) {
            activations::backward(activations::kind::softmax, y_.data(), dy.data(), dx_.data(),
                                  outer, n);
            return dx_;
        }
        // dx_k = y_k (dy_k - sum_j dy_j y_j) along the axis
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t i = 0; i < inner; ++i) {
                const std::size_t at = o * n * inner + i;
                const T* y = y_.data() + at;
                const T* d = dy.data() + at;
                T* out = dx_.data() + at;
                T dot = T(0);
                for (std::size_t k = 0; k < n; ++k) dot += d[k * inner] * y[k * inner];
                for (std::size_t k = 0; k < n; ++k)
                    out[k * inner] = y[k * inner] * (d[k * inner] - dot);
            }
        return dx_;
    }

    const tensor<T>* logits() const override { return this->output_logits_ ? x_ : nullptr; }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["axis"] = axis_;
        return c;
    }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Softmax");
        SoftmaxOptions o{.axis = -1, .name = r.name()};
        if (r.has("axis")) {
            // Keras takes an axis or a list of axes; one axis in a list is that axis
            nlohmann::json a = cfg["axis"];
            if (a.is_array() && a.size() == 1) a = a[0];
            const bool one_axis =
                a.is_number_integer() && (a.is_number_unsigned() ? a.get<std::uint64_t>() <= 64
                                                                 : a.get<std::int64_t>() >= -64 &&
                                                                       a.get<std::int64_t>() <= 64);
            if (!one_axis)
                throw value_error(xkeras::detail::cat(r.where("axis"),
                                                      " must be one axis (an integer from -64 "
                                                      "to 64; xkeras normalises over one axis), "
                                                      "got ",
                                                      io::describe(cfg["axis"])));
            o.axis = a.get<int>();
        }
        r.mark("axis");
        r.finish();
        auto layer = std::make_unique<Softmax<T>>(std::move(o));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    static layer_example example() { return {{{"axis", 1}}, {3, 4}}; }

  private:
    struct extent {
        std::size_t outer, n, inner;  // lines before the axis, its length, values after it
    };

    bool last_axis() const {
        return axis_ == -1 ||
               (!this->input_shape_.empty() && std::size_t(axis_) == this->input_shape_.size());
    }

    extent extents(std::size_t batch) const {
        const auto& s = this->input_shape_;
        const std::size_t a =
            std::size_t(axis_ < 0 ? long(s.size()) + 1 + axis_ : long(axis_)) - 1;  // in s
        extent e{batch, s[a], 1};
        for (std::size_t i = 0; i < a; ++i) e.outer *= s[i];
        for (std::size_t i = a + 1; i < s.size(); ++i) e.inner *= s[i];
        return e;
    }

    int axis_;
    tensor<T> y_, dx_;
    const tensor<T>* x_ = nullptr;
};

}  // namespace xkeras::layers
