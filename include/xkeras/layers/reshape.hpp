// xkeras/layers/reshape.hpp - Reshape: (batch, ...) -> (batch, target_shape...), row-major; one
// entry of target_shape may be -1 and is inferred, as in Keras.
#pragma once

#include <string>
#include <vector>

#include "layer.hpp"

namespace xkeras::layers {

struct ReshapeOptions {
    shape_t input_shape{};  ///< Keras's `input_shape=`, for a first layer.
    std::string name{};     ///< Defaults to "reshape", "reshape_1", ...
};

/// `Reshape({7, 7, 16})`, `Reshape({-1, 1})`.
template <class T = float>
class Reshape : public Layer<T> {
  public:
    explicit Reshape(std::vector<long> target_shape, ReshapeOptions o = {})
        : Layer<T>("reshape", o.name, o.input_shape), target_(std::move(target_shape)) {
        int unknown = 0;
        for (long d : target_) {
            if (d == -1)
                ++unknown;
            else if (d <= 0)
                throw value_error(xkeras::detail::cat(
                    "Reshape: target_shape entries must be positive or -1, got ", d));
        }
        if (unknown > 1) throw value_error("Reshape: at most one entry of target_shape can be -1");
    }

    std::string class_name() const override { return "Reshape"; }
    const std::vector<long>& target_shape() const { return target_; }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["target_shape"] = target_;
        return c;
    }

    static layer_example example() { return {{{"target_shape", {3, 4}}}, {12}}; }

    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Reshape");
        auto target = r.get("target_shape", std::vector<long>{});
        if (target.empty())
            throw value_error("Reshape '" + r.name() + "': config key 'target_shape' is missing");
        r.finish();
        auto layer =
            std::make_unique<Reshape<T>>(std::move(target), ReshapeOptions{.name = r.name()});
        layer->trainable = r.get("trainable", true);
        return layer;
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        const std::size_t total = shape_size(in);
        std::size_t known = 1;
        bool has_unknown = false;
        for (long d : target_) {
            if (d == -1)
                has_unknown = true;
            else
                known *= std::size_t(d);
        }
        shape_t out;
        for (long d : target_)
            out.push_back(d == -1 ? (known ? total / known : 0) : std::size_t(d));
        if ((has_unknown && (known == 0 || total % known != 0)) || shape_size(out) != total) {
            std::string t = "(";
            for (std::size_t i = 0; i < target_.size(); ++i)
                t += (i ? ", " : "") + std::to_string(target_[i]);
            throw shape_error(xkeras::detail::cat(
                "layer '", this->name(), "' (Reshape): cannot reshape input ", shape_str(in, true),
                " (", total, " values per sample) to ", t, ")"));
        }
        return out;
    }

    const tensor<T>& forward(const tensor<T>& x, bool /*training*/) override {
        this->check_input(x);
        this->ensure_shape(y_, this->batched(x.shape()[0], this->output_shape_));
        std::copy_n(x.data(), x.size(), y_.data());
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, this->batched(dy.shape()[0], this->input_shape_));
        std::copy_n(dy.data(), dy.size(), dx_.data());
        return dx_;
    }

  private:
    std::vector<long> target_;
    tensor<T> y_, dx_;
};

}  // namespace xkeras::layers
