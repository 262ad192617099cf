// xkeras/layers/time_distributed.hpp - TimeDistributed: one layer applied to every step of a
// sequence, the same weights at each.
//
// An input (batch, steps, ...) runs through the wrapped layer as a batch of batch * steps
// samples (...), and its output comes back as (batch, steps, ...): Dense on each step's
// features, Conv2D on each frame of a video. The wrapped layer is the one given (Keras keeps
// the object, unlike Bidirectional, which makes new layers from a config); its weights are the
// wrapper's, named "time_distributed/dense/kernel", and in Keras 3 files kept under the
// wrapper's `layer` (`layers/time_distributed/layer/vars/0`). Its training state (Dropout's
// masks) is the wrapper's too.
#pragma once

#include <algorithm>
#include <concepts>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "make_layer.hpp"

namespace xkeras::layers {

/// Options of TimeDistributed.
struct TimeDistributedOptions {
    shape_t input_shape{};  ///< Keras's `input_shape=` (steps, ...), for a first layer.
    std::string name{};     ///< Defaults to "time_distributed", "time_distributed_1", ...
};

/// `TimeDistributed(Dense(8))`, `TimeDistributed(Conv2D(16, {3, 3}))`.
template <class T = float>
class TimeDistributed : public Layer<T> {
  public:
    template <std::derived_from<Layer<T>> L>
    explicit TimeDistributed(L layer, TimeDistributedOptions options = {})
        : TimeDistributed(std::unique_ptr<Layer<T>>(std::make_unique<L>(std::move(layer))),
                          std::move(options)) {}

    std::string class_name() const override { return "TimeDistributed"; }
    /// A mask passes through: the wrapped layer runs on every step, masked or not, as Keras's.
    bool supports_masking() const override { return true; }
    const Layer<T>& layer() const { return *inner_; }
    bool inference_only() const override { return inner_->inference_only(); }
    bool synchronized() const override { return inner_->synchronized(); }

    shape_t compute_output_shape(const shape_t& in) const override {
        if (in.size() < 2)
            throw value_error(
                xkeras::detail::cat("layer '", this->name(),
                                    "' (TimeDistributed): expected inputs (batch, steps, "
                                    "...) of rank 3 or more, got ",
                                    shape_str(in, true)));
        shape_t out = inner_->compute_output_shape(shape_t(in.begin() + 1, in.end()));
        out.insert(out.begin(), in[0]);
        return out;
    }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        return inner_->params();
    }

    /// The wrapped layer's groups, under the wrapper's `layer`.
    std::vector<typename Layer<T>::keras_weight_group> keras_weight_groups() const override {
        auto groups = inner_->keras_weight_groups();
        for (auto& g : groups) g.path.insert(g.path.begin(), "layer");
        return groups;
    }

    nlohmann::json training_state() const override { return inner_->training_state(); }
    void set_training_state(const nlohmann::json& s) override { inner_->set_training_state(s); }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        const std::size_t samples = x.shape()[0] * this->input_shape_[0];
        // each step a sample of the wrapped layer: the same values, one axis fewer
        this->ensure_shape(steps_in_, this->batched(samples, inner_->input_shape()));
        std::copy_n(x.data(), x.size(), steps_in_.data());
        const tensor<T>& out = inner_->forward(steps_in_, training);
        this->ensure_shape(y_, this->batched(x.shape()[0], this->output_shape()));
        std::copy_n(out.data(), out.size(), y_.data());
        return y_;
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        const std::size_t samples = dy.shape()[0] * this->input_shape_[0];
        this->ensure_shape(steps_dy_, this->batched(samples, inner_->output_shape()));
        std::copy_n(dy.data(), dy.size(), steps_dy_.data());
        const tensor<T>& dx = inner_->backward(steps_dy_, need_input_grad);
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, this->batched(dy.shape()[0], this->input_shape_));
        std::copy_n(dx.data(), dx.size(), dx_.data());
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["layer"] =
            config::keras_object("keras.layers", inner_->class_name(), inner_->get_config());
        return c;
    }

    static layer_example example() {
        return {{{"layer",
                  {{"class_name", "Dense"}, {"config", {{"units", 3}, {"activation", "tanh"}}}}}},
                {4, 2}};
    }

    /// Keras 3's and tf.keras 2's config: the wrapped layer under `layer`.
    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "TimeDistributed");
        TimeDistributedOptions o;
        o.name = r.name();
        const auto [cls, layer_cfg] = nested_layer_config(r, cfg, "layer");
        std::unique_ptr<Layer<T>> inner;
        try {
            inner = make_layer<T>(cls, layer_cfg);
        } catch (const error& e) {
            throw value_error(r.where("layer") + ": " + e.what());
        }
        r.finish();
        auto layer = std::unique_ptr<TimeDistributed<T>>(
            new TimeDistributed<T>(std::move(inner), std::move(o)));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        inner_->set_weight_owner(this->name());
        inner_->build(shape_t(in.begin() + 1, in.end()));
    }

  private:
    TimeDistributed(std::unique_ptr<Layer<T>> inner, TimeDistributedOptions options)
        : Layer<T>("time_distributed", options.name, options.input_shape),
          inner_(std::move(inner)) {}

    std::unique_ptr<Layer<T>> inner_;
    tensor<T> steps_in_, steps_dy_, y_, dx_;  ///< The batch as the wrapped layer's samples.
};

template <class L>
TimeDistributed(L, TimeDistributedOptions = {}) -> TimeDistributed<typename L::value_type>;

}  // namespace xkeras::layers
