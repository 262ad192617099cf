// xkeras/layers/nested_sequential.hpp - a Sequential model used as a layer of another:
// `Sequential{std::move(model), layers::Softmax()}`, TensorFlow's beginner tutorial.
//
// As Keras's: the layer is the model (its class name "Sequential", its name the model's), its
// layers run in order (masks included, inference/forward.hpp) and keep their own weights,
// trained with the outer model's. Its config is the model's config, its layers' entries in
// `layers`, an InputLayer first when it was given one; it nests up to max_nesting deep. Its
// weights' names start with its name ("sequential/dense/kernel"); Keras 3's files keep them
// under its layers' keys (`layers/sequential/layers/dense/vars`). Setting its `trainable`
// sets every inner layer's, as Keras's setter does, from the next compile or forward pass on.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../inference/forward.hpp"
#include "make_layer.hpp"

namespace xkeras::layers {

template <class T = float>
class NestedSequential : public Layer<T> {
  public:
    using layer_list = std::vector<std::unique_ptr<Layer<T>>>;

    /// How deep Sequential models may nest in a config.
    static constexpr int max_nesting = 8;

    /// The layers of a model named `name` (built or not), its declared input shape (empty when
    /// none): what basic_sequential::add gives a moved model.
    NestedSequential(std::string name, layer_list layers, shape_t input_shape = {})
        : Layer<T>("sequential", std::move(name), std::move(input_shape)),
          layers_(std::move(layers)) {
        if (layers_.empty())
            throw value_error("Sequential '" + this->name() +
                              "': a model used as a layer needs at least one layer");
    }

    std::string class_name() const override { return "Sequential"; }

    /// The model's layers, in order.
    std::vector<Layer<T>*> layers() const {
        std::vector<Layer<T>*> out;
        for (const auto& l : layers_) out.push_back(l.get());
        return out;
    }

    /// Gives the layers up (the layer is empty after): what basic_sequential::add moves back
    /// into a model whose nesting was refused.
    layer_list release_layers() { return std::move(layers_); }

    bool inference_only() const override {
        return std::any_of(layers_.begin(), layers_.end(),
                           [](const auto& l) { return l->inference_only(); });
    }
    bool synchronized() const override {
        return std::any_of(layers_.begin(), layers_.end(),
                           [](const auto& l) { return l->synchronized(); });
    }

    shape_t compute_output_shape(const shape_t& in) const override {
        const shape_t& declared = this->declared_input_shape();
        if (!declared.empty() && declared != in)
            throw shape_error(xkeras::detail::cat("layer '", this->name(), "' (Sequential) takes ",
                                                  shape_str(declared, true),
                                                  " (its InputLayer), got ", shape_str(in, true)));
        shape_t s = in;
        for (const auto& l : layers_) s = l->compute_output_shape(s);
        return s;
    }

    // ---- masks: the inner layers' ----------------------------------------------------------
    bool supports_masking() const override { return true; }
    bool output_masked(bool input_masked) const override {
        bool masked = input_masked;
        for (const auto& l : layers_) masked = l->output_masked(masked && l->supports_masking());
        return masked;
    }
    void check_input_mask() const override {
        for (const auto& l : layers_) {
            if (!l->supports_masking()) return;  // dropped there
            l->check_input_mask();
            if (!l->output_masked(true)) return;
        }
    }
    const tensor<T>* compute_mask(const tensor<T>&, const tensor<T>*) const override {
        return output_mask_;
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        return run(x, nullptr, training);
    }
    const tensor<T>& forward_masked(const tensor<T>& x, const tensor<T>& mask,
                                    bool training) override {
        return run(x, &mask, training);
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        const tensor<T>* g = &dy;
        for (std::size_t i = layers_.size(); i-- > 0;)
            g = &layers_[i]->backward(*g, i > 0 || need_input_grad);
        return *g;
    }

    std::vector<Param<T>*> params() override {
        std::vector<Param<T>*> out;
        for (auto& l : layers_)
            for (auto* p : l->params()) out.push_back(p);
        return out;
    }

    bool trains(const Param<T>& p) const override {
        push_trainable();
        if (!this->trainable) return false;
        for (const auto& l : layers_)
            for (const auto* q : std::as_const(*l).params())
                if (q == &p) return l->trains(p);
        return false;
    }

    /// Each inner layer's weights under `layers/<its key>`, where its class keeps them; a layer
    /// without weights gets its (empty) vars group, as Keras writes it.
    std::vector<typename Layer<T>::keras_weight_group> keras_weight_groups() const override {
        std::vector<typename Layer<T>::keras_weight_group> out;
        const auto keys = inner_keys();
        for (std::size_t i = 0; i < layers_.size(); ++i)
            for (auto g : layers_[i]->keras_weight_groups()) {
                g.path.insert(g.path.begin(), {"layers", keys[i]});
                out.push_back(std::move(g));
            }
        return out;
    }

    /// The inner layers' training states by key, for those that have one.
    nlohmann::json training_state() const override {
        nlohmann::json out = nlohmann::json::object();
        const auto keys = inner_keys();
        for (std::size_t i = 0; i < layers_.size(); ++i)
            if (auto s = layers_[i]->training_state(); !s.is_null()) out[keys[i]] = std::move(s);
        return out.empty() ? nlohmann::json() : out;
    }
    void set_training_state(const nlohmann::json& s) override {
        if (s.is_null() && training_state().is_null()) return;
        if (!s.is_object())
            throw value_error("layer '" + this->name() +
                              "' (Sequential): its training state must be an object of its "
                              "layers' states, got " +
                              io::describe(s));
        const auto keys = inner_keys();
        for (std::size_t i = 0; i < layers_.size(); ++i)
            layers_[i]->set_training_state(s.contains(keys[i]) ? s[keys[i]] : nlohmann::json());
    }

    /// Keras 3's config of a Sequential model: its layers' entries, an InputLayer first when
    /// its input shape is known.
    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        nlohmann::json list = nlohmann::json::array();
        const shape_t& in = this->built_ ? this->input_shape_ : this->declared_input_shape();
        if (!in.empty())
            list.push_back(config::keras_object("keras.layers", "InputLayer",
                                                {{"batch_shape", config::batch_shape(in)},
                                                 {"dtype", sizeof(T) == 8 ? "float64" : "float32"},
                                                 {"sparse", false},
                                                 {"ragged", false},
                                                 {"name", this->name() + "_input"}}));
        for (const auto& l : layers_) list.push_back(entry(*l));
        c["layers"] = std::move(list);
        if (!in.empty()) c["build_input_shape"] = config::batch_shape(in);
        return c;
    }

    /// A layer's entry as a model's config lists it: Keras's object (a nested model's module is
    /// `keras`, as Keras writes it), with its input shape (build_config) once built.
    static nlohmann::json entry(const Layer<T>& l) {
        const std::string cls = l.class_name();
        auto e = config::keras_object(cls == "Sequential" ? "keras" : "keras.layers", cls,
                                      l.get_config());
        if (l.built()) e["build_config"] = {{"input_shape", config::batch_shape(l.input_shape())}};
        return e;
    }

    static layer_example example() {
        return {{{"layers",
                  {{{"class_name", "Dense"}, {"config", {{"units", 3}, {"activation", "tanh"}}}},
                   {{"class_name", "Dense"}, {"config", {{"units", 2}}}}}}},
                {4}};
    }

    /// Keras 3's and tf.keras 2's config (`layers`: entries {"class_name", "config"}; an
    /// InputLayer, or a first layer's batch_input_shape, gives the input shape).
    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Sequential");
        r.mark("layers");
        r.mark("build_input_shape");
        const auto& list = cfg.contains("layers") ? cfg["layers"] : nlohmann::json();
        if (!list.is_array())
            throw value_error(r.where("layers") + " must be a list of layers, got " +
                              io::describe(list));
        auto& depth = nesting();
        if (depth + 1 >= max_nesting)
            throw value_error(xkeras::detail::cat(
                "Sequential '", r.name(), "' nests models more than ", max_nesting, " deep"));
        struct level {
            int& d;
            explicit level(int& d_) : d(++d_) {}
            ~level() { --d; }
        } guard(depth);
        shape_t input;
        layer_list inner;
        for (std::size_t i = 0; i < list.size(); ++i) {
            const auto& e = list[i];
            const std::string where = xkeras::detail::cat(r.where("layers"), "[", i, "]");
            if (!e.is_object() || !e.contains("class_name") || !e["class_name"].is_string() ||
                (e.contains("config") && !e["config"].is_object()))
                throw value_error(where +
                                  " must be a layer, {\"class_name\": ..., \"config\": "
                                  "{...}}, got " +
                                  io::describe(e));
            const std::string cls = e["class_name"].get<std::string>();
            const nlohmann::json& c = e.contains("config") ? e["config"] : nlohmann::json::object();
            for (const char* key : {"batch_shape", "batch_input_shape"})
                if (inner.empty() && input.empty() && c.contains(key) && !c[key].is_null())
                    input = config::from_batch_shape(c[key], where + " " + key);
            if (cls == "InputLayer") {
                if (!inner.empty() || input.empty())
                    throw value_error(where + " (InputLayer) must come first, with a batch_shape");
                continue;
            }
            try {
                inner.push_back(make_layer<T>(cls, c));
            } catch (const error& e) {
                throw value_error(where + ": " + e.what());
            }
        }
        r.finish();
        auto layer = std::make_unique<NestedSequential<T>>(r.name(), std::move(inner), input);
        layer->trainable = r.get("trainable", true);
        layer->pushed_ = layer->trainable;
        return layer;
    }

  protected:
    /// Builds each layer on the one before; a layer already built for its input (a trained
    /// model moved in) keeps its weights, renamed under this layer's name.
    void build_weights(const shape_t& in) override {
        shape_t s = in;
        const std::string prefix = this->name() + "/";
        for (auto& l : layers_) {
            l->set_weight_owner(this->name());
            if (!l->built() || l->input_shape() != s) l->build(s);
            for (auto* p : l->params())
                if (p->name.rfind(prefix, 0) != 0) p->name = prefix + p->name;
            s = l->output_shape();
        }
    }

  private:
    const tensor<T>& run(const tensor<T>& x, const tensor<T>* mask, bool training) {
        this->check_input(x);
        push_trainable();
        return inference::forward(layers_, x, training, &output_mask_, mask);
    }

    /// Keras's trainable setter, applied when this layer's flag changed since the last time:
    /// every inner layer takes it.
    void push_trainable() const {
        if (pushed_ == this->trainable) return;
        for (const auto& l : layers_) l->trainable = this->trainable;
        pushed_ = this->trainable;
    }

    std::vector<std::string> inner_keys() const {
        std::vector<std::string> classes;
        for (const auto& l : layers_) classes.push_back(l->class_name());
        return config::keras_keys(classes);
    }

    /// How deep from_config is in nested models on this thread.
    static int& nesting() {
        thread_local int depth = 0;
        return depth;
    }

    layer_list layers_;
    mutable bool pushed_ = true;  ///< The `trainable` last given to the inner layers.
    const tensor<T>* output_mask_ = nullptr;
};

}  // namespace xkeras::layers
