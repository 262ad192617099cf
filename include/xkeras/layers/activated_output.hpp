// xkeras/layers/activated_output.hpp - the activation a layer applies last to what its kernels
// computed, with the logits a fused loss takes instead (Layer::set_output_logits): what
// DepthwiseConv2D, SeparableConv2D and Conv2DTranspose share.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "../activations.hpp"
#include "../tensor.hpp"

namespace xkeras::layers::detail {

template <class T>
class activated_output {
  public:
    explicit activated_output(const std::string& activation)
        : kind_(activations::get(activation)) {}

    activations::kind kind() const { return kind_; }

    /// Applies the activation to y, rows of `cols` values (the channels), keeping the values
    /// before it as the logits first when `keep_logits`.
    void apply(tensor<T>& y, std::size_t cols, bool keep_logits) {
        if (keep_logits) {
            if (shape_of(logits_) != shape_of(y)) logits_.resize(shape_of(y));
            std::copy_n(y.data(), y.size(), logits_.data());
        }
        activations::apply(kind_, y.data(), y.size() / cols, cols);
    }

    /// The gradient before the activation from dy, the gradient of the output y: dy itself when
    /// the activation is linear or dy is the logits' gradient already (`logits`).
    const T* gradient(const tensor<T>& y, const tensor<T>& dy, std::size_t cols, bool logits) {
        if (kind_ == activations::kind::linear || logits) return dy.data();
        if (shape_of(dz_) != shape_of(dy)) dz_.resize(shape_of(dy));
        activations::backward(kind_, y.data(), dy.data(), dz_.data(), y.size() / cols, cols);
        return dz_.data();
    }

    /// The logits of the last forward pass when they were kept.
    const tensor<T>* logits(bool kept) const { return kept ? &logits_ : nullptr; }

  private:
    activations::kind kind_;
    tensor<T> logits_, dz_;
};

}  // namespace xkeras::layers::detail
