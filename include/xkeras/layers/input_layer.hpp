// xkeras/layers/input_layer.hpp - InputLayer: declares the model's input shape.
//
// `model.add(InputLayer({28, 28, 1}))` (or `xkeras::Input({28, 28, 1})`) is Keras's
// `keras.Input(shape=(28, 28, 1))`: the shape excludes the batch axis. As in Keras 3 it is not
// listed in `model.layers()` nor in the summary.
#pragma once

#include <string>

#include "../tensor.hpp"

namespace xkeras::layers {

struct InputLayer {
    shape_t shape;
    std::string name = "input_layer";
};

}  // namespace xkeras::layers

namespace xkeras {
/// `keras.Input(shape=...)`.
inline layers::InputLayer Input(shape_t shape, std::string name = "input_layer") {
    return {std::move(shape), std::move(name)};
}
}  // namespace xkeras
