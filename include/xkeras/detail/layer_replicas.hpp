// xkeras/detail/layer_replicas.hpp - copies of a model's layers for predict's data-parallel route.
//
// A model's layers own their output buffers, so one set of layers can run one batch at a time.
// For small models (the MLPs) predict gives each further thread a copy of the layers and a slice
// of the batch: each thread runs the whole forward pass on its rows, with no hand-over between
// the threads until the slices are done. A copy is made as load_model makes a layer, from its
// class name and get_config() through the registry, then built for the same input shape; its
// weights, their versions (Param::version) and its output flag are copied from the model's
// before every predict call, so any change of the model's weights (fit, set_weights, a write
// through params()) is seen; what a copy derives from its weights (Conv2D's Winograd kernel)
// follows the version, as in the model's own layers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "../layers/registry.hpp"
#include "random.hpp"

namespace xkeras::detail {

template <class T>
class layer_replicas {
  public:
    using layer_list = std::vector<std::unique_ptr<layers::Layer<T>>>;

    /// Drops the copies (the model's layers changed).
    void clear() { copies_.clear(); }

    /// Makes sure there are at least `count` copies of `layers` and gives them the layers'
    /// current weights and output flags. Returns false, making no copy, when a layer's class is
    /// not in the registry (a user's layer that was not registered): predict then stays on the
    /// per-layer route. The caller clears the copies whenever its layers change.
    bool sync(const layer_list& layers, std::size_t count) {
        if (copies_.size() < count) {
            for (const auto& l : layers)
                if (!layers::registry<T>::contains(l->class_name())) return false;
            while (copies_.size() < count) copies_.push_back(copy_of(layers));
        }
        for (auto& c : copies_)
            for (std::size_t i = 0; i < layers.size(); ++i) {
                auto from = std::as_const(*layers[i]).params();
                auto to = c.layers[i]->params();
                for (std::size_t j = 0; j < from.size(); ++j) {
                    std::copy_n(from[j]->value.data(), from[j]->value.size(), to[j]->value.data());
                    to[j]->version = from[j]->version;
                }
                c.layers[i]->set_output_logits(layers[i]->output_logits());
            }
        return true;
    }

    /// The layers of copy i.
    layer_list& layers(std::size_t i) { return copies_[i].layers; }
    /// The input buffer of copy i (its slice of the batch).
    tensor<T>& input(std::size_t i) { return copies_[i].x; }

  private:
    struct copy {
        layer_list layers;
        tensor<T> x;
    };

    static copy copy_of(const layer_list& layers) {
        no_seed_draws keep_seeds;  // the copies' initial weights are overwritten at once
        copy c;
        for (const auto& l : layers) {
            auto r = layers::registry<T>::create(l->class_name(), l->get_config());
            r->build(l->input_shape());
            c.layers.push_back(std::move(r));
        }
        return c;
    }

    std::vector<copy> copies_;
};

}  // namespace xkeras::detail
