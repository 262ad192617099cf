// xkeras/inference/forward.hpp - a batch through a list of layers: the model's forward pass,
// and a nested model's.
//
// The layers run in order. At inference a layer followed by a pooling may pool its own output
// in the same pass (Layer::forward_pooled: a convolution's threads each pool what they
// computed). A mask made on the way (Embedding's mask_zero, Masking), or the input's own (a
// nested model's input), goes with the activations to each layer that supports masking, as
// Keras hands it over (layers/layer.hpp, "masks").
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "../backend/pool2d.hpp"
#include "../layers/layer.hpp"
#include "../tensor.hpp"

namespace xkeras::inference {

/// x (with `input_mask`, null for none) through `layers`; the result is valid until the next
/// pass. `output_mask`, when given, receives the output's mask (null when none), valid as long
/// as the result.
template <class T>
const tensor<T>& forward(std::vector<std::unique_ptr<layers::Layer<T>>>& layers, const tensor<T>& x,
                         bool training, const tensor<T>** output_mask = nullptr,
                         const tensor<T>* input_mask = nullptr) {
    const tensor<T>* h = &x;
    const tensor<T>* mask = input_mask;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (!training && !mask && i + 1 < layers.size())
            if (const backend::pool2d* pool = layers[i + 1]->as_pooling())
                if (const tensor<T>* y = layers[i]->forward_pooled(*h, *pool)) {
                    h = y;
                    ++i;
                    continue;
                }
        auto& layer = *layers[i];
        const tensor<T>& in = *h;
        h = mask && layer.supports_masking() ? &layer.forward_masked(in, *mask, training)
                                             : &layer.forward(in, training);
        mask = layer.compute_mask(in, layer.supports_masking() ? mask : nullptr);
    }
    if (output_mask) *output_mask = mask;
    return *h;
}

}  // namespace xkeras::inference
