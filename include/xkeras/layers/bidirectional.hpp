// xkeras/layers/bidirectional.hpp - Bidirectional: a recurrent layer run over the sequence
// forwards and, as a second layer of the same config, backwards; the two outputs merged.
//
// As Keras's: the wrapped layer's config makes the forward layer ("forward_<name>") and, with
// go_backwards set, the backward one ("backward_<name>"), each with weights of its own (the
// wrapped layer's are not reused). With return_sequences the backward layer's sequence is
// flipped back into the input's order before merging, so that step t of the output sees the
// whole sequence from both sides. merge_mode: concat (default: forward then backward on the
// last axis), sum, ave or mul; Keras's None (two outputs) is refused: a Sequential passes one.
// Weights: the forward layer's, then the backward layer's; in Keras 3 files each under its
// layer's cell (`layers/bidirectional/forward_layer/cell/vars`). A mask goes to both layers,
// whose masked steps give zeros with return_sequences (Keras sets their zero_output_for_mask).
#pragma once

#include <algorithm>
#include <concepts>
#include <memory>
#include <string>
#include <vector>

#include "make_layer.hpp"
#include "recurrent.hpp"

namespace xkeras::layers {

/// Options of Bidirectional, in Keras's order.
struct BidirectionalOptions {
    std::string merge_mode = "concat";  ///< concat, sum, ave or mul.
    shape_t input_shape{};  ///< Keras's `input_shape=` (steps, features), for a first layer.
    std::string name{};     ///< Defaults to "bidirectional", "bidirectional_1", ...
};

/// `Bidirectional(LSTM(64, {.return_sequences = true}))`, `Bidirectional(GRU(32), {.merge_mode
/// = "sum"})`, `Bidirectional(LSTM(8), LSTM(8, {.go_backwards = true}))` (a backward layer of
/// one's own).
template <class T = float>
class Bidirectional : public Layer<T> {
  public:
    template <std::derived_from<detail::recurrent<T>> L>
    explicit Bidirectional(const L& layer, BidirectionalOptions options = {})
        : Bidirectional(pair_from(layer.class_name(), layer.get_config(), nullptr),
                        std::move(options)) {}

    template <std::derived_from<detail::recurrent<T>> L, std::derived_from<detail::recurrent<T>> B>
    Bidirectional(const L& layer, const B& backward_layer, BidirectionalOptions options = {})
        : Bidirectional(
              pair_from(layer.class_name(), layer.get_config(),
                        make_recurrent(backward_layer.class_name(), backward_layer.get_config())),
              std::move(options)) {}

    std::string class_name() const override { return "Bidirectional"; }
    const BidirectionalOptions& options() const { return opt_; }
    const detail::recurrent<T>& forward_layer() const { return *forward_; }
    const detail::recurrent<T>& backward_layer() const { return *backward_; }

    shape_t compute_output_shape(const shape_t& in) const override {
        shape_t out = forward_->compute_output_shape(in);
        const shape_t back = backward_->compute_output_shape(in);
        if (back != out)
            throw shape_error(xkeras::detail::cat(
                "layer '", this->name(), "' (Bidirectional): the forward layer gives ",
                shape_str(out, true), ", the backward layer ", shape_str(back, true),
                " (merge_mode '", opt_.merge_mode, "' needs the same shape)"));
        if (merge_ == merge::concat) out.back() *= 2;
        return out;
    }

    std::vector<Param<T>*> params() override {
        if (!this->built_) return {};
        auto ps = forward_->params();
        for (auto* p : backward_->params()) ps.push_back(p);
        return ps;
    }

    /// The forward layer's weights under `forward_layer`, the backward layer's under
    /// `backward_layer`, each where its class keeps them (its cell).
    std::vector<typename Layer<T>::keras_weight_group> keras_weight_groups() const override {
        std::vector<typename Layer<T>::keras_weight_group> out;
        using entry = std::pair<const detail::recurrent<T>*, const char*>;
        for (const auto& [layer, key] :
             {entry{forward_.get(), "forward_layer"}, entry{backward_.get(), "backward_layer"}})
            for (auto g : layer->keras_weight_groups()) {
                g.path.insert(g.path.begin(), key);
                out.push_back(std::move(g));
            }
        return out;
    }

    /// The two layers' training states (their dropout masks' streams), when they have any.
    nlohmann::json training_state() const override {
        auto f = forward_->training_state(), b = backward_->training_state();
        if (f.is_null() && b.is_null()) return nullptr;
        return {{"forward_layer", std::move(f)}, {"backward_layer", std::move(b)}};
    }
    void set_training_state(const nlohmann::json& s) override {
        if (s.is_null() && training_state().is_null()) return;
        if (!s.is_object() || !s.contains("forward_layer") || !s.contains("backward_layer"))
            throw value_error("layer '" + this->name() +
                              "' (Bidirectional): its training state needs 'forward_layer' and "
                              "'backward_layer'");
        forward_->set_training_state(s["forward_layer"]);
        backward_->set_training_state(s["backward_layer"]);
    }

    bool supports_masking() const override { return true; }
    bool output_masked(bool input_masked) const override {
        return input_masked && forward_->return_sequences();
    }

    const tensor<T>& forward(const tensor<T>& x, bool training) override {
        this->check_input(x);
        return merged(forward_->forward(x, training), backward_->forward(x, training), training);
    }

    /// Both layers read the mask, the backward one from the last step, as Keras's.
    const tensor<T>& forward_masked(const tensor<T>& x, const tensor<T>& mask,
                                    bool training) override {
        this->check_input(x);
        return merged(forward_->forward_masked(x, mask, training),
                      backward_->forward_masked(x, mask, training), training);
    }

    const tensor<T>& backward(const tensor<T>& dy, bool need_input_grad) override {
        this->require_training_forward(yf_ != nullptr);
        const std::size_t steps = sequence_steps(), u = forward_->units();
        const std::size_t n = dy.shape()[0];
        this->ensure_shape(dyf_, shape_of(*yf_));
        this->ensure_shape(dyb_, shape_of(*yb_));
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t t = 0; t < steps; ++t) {
                const std::size_t fr = (i * steps + t) * u, br = (i * steps + steps - 1 - t) * u;
                const T* d = dy.data() + (i * steps + t) * width();
                T *df = dyf_.data() + fr, *db = dyb_.data() + br;
                switch (merge_) {
                    case merge::concat:
                        std::copy_n(d, u, df);
                        std::copy_n(d + u, u, db);
                        break;
                    case merge::sum:
                        std::copy_n(d, u, df);
                        std::copy_n(d, u, db);
                        break;
                    case merge::ave:
                        for (std::size_t j = 0; j < u; ++j) df[j] = db[j] = d[j] / T(2);
                        break;
                    case merge::mul:
                        for (std::size_t j = 0; j < u; ++j) {
                            df[j] = d[j] * yb_->data()[br + j];
                            db[j] = d[j] * yf_->data()[fr + j];
                        }
                        break;
                }
            }
        // each layer returns its own buffer: the sum takes one pass over both
        const tensor<T>& dxf = forward_->backward(dyf_, need_input_grad);
        const tensor<T>& dxb = backward_->backward(dyb_, need_input_grad);
        if (!need_input_grad) return dx_;
        this->ensure_shape(dx_, shape_of(dxf));
        const T *f = dxf.data(), *b = dxb.data();
        T* o = dx_.data();
        for (std::size_t k = 0; k < dx_.size(); ++k) o[k] = f[k] + b[k];
        return dx_;
    }

    nlohmann::json get_config() const override {
        auto c = Layer<T>::get_config();
        c["merge_mode"] = opt_.merge_mode;
        c["layer"] =
            config::keras_object("keras.layers", forward_->class_name(), forward_->get_config());
        c["backward_layer"] =
            config::keras_object("keras.layers", backward_->class_name(), backward_->get_config());
        return c;
    }

    static layer_example example() {
        return {
            {{"layer",
              {{"class_name", "LSTM"}, {"config", {{"units", 3}, {"return_sequences", true}}}}}},
            {4, 2}};
    }

    /// Keras 3's config (`layer`, `backward_layer`, `merge_mode`) and tf.keras 2's (without
    /// `backward_layer`: made from `layer` as the C++ constructor makes it).
    static std::unique_ptr<Layer<T>> from_config(const nlohmann::json& cfg) {
        config::reader r(cfg, "Bidirectional");
        BidirectionalOptions o;
        o.name = r.name();
        if (r.has("merge_mode") || !cfg.contains("merge_mode"))
            o.merge_mode = r.get("merge_mode", std::string("concat"));
        else
            throw value_error(r.where("merge_mode") +
                              " = null (two outputs) is not supported by xkeras: a Sequential "
                              "passes one (concat, sum, ave or mul)");
        r.expect("weights", nullptr);
        const auto [cls, layer_cfg] = nested_layer_config(r, cfg, "layer");
        std::unique_ptr<detail::recurrent<T>> backward;
        if (r.has("backward_layer")) {
            const auto [bcls, bcfg] = nested_layer_config(r, cfg, "backward_layer");
            backward = make_recurrent(bcls, bcfg, r.where("backward_layer"));
        }
        r.mark("backward_layer");
        r.finish();
        auto layer = std::unique_ptr<Bidirectional<T>>(new Bidirectional<T>(
            pair_from(cls, layer_cfg, std::move(backward), r.where("layer")), std::move(o)));
        layer->trainable = r.get("trainable", true);
        return layer;
    }

  protected:
    void build_weights(const shape_t& in) override {
        // the weights are this layer's: "bidirectional/forward_lstm/kernel", as Keras names them
        for (auto* layer : {forward_.get(), backward_.get()}) {
            layer->set_weight_owner(this->name());
            layer->build(in);
        }
        yf_ = yb_ = nullptr;
    }

  private:
    enum class merge { concat, sum, ave, mul };

    using layer_pair =
        std::pair<std::unique_ptr<detail::recurrent<T>>, std::unique_ptr<detail::recurrent<T>>>;

    Bidirectional(layer_pair layers, BidirectionalOptions options)
        : Layer<T>("bidirectional", options.name, options.input_shape),
          merge_(merge_kind(options.merge_mode)),
          opt_(std::move(options)),
          forward_(std::move(layers.first)),
          backward_(std::move(layers.second)) {
        check_pair();
        // Keras's Bidirectional gives masked steps a zero output when it returns sequences
        for (auto* layer : {forward_.get(), backward_.get()})
            layer->set_zero_output_for_mask(layer->return_sequences());
    }

    /// The forward and backward layers as Keras makes them from the wrapped layer's config:
    /// the forward one named "forward_<name>"; without a backward layer of one's own, the same
    /// config with go_backwards set, named "backward_<name>".
    static layer_pair pair_from(const std::string& cls, nlohmann::json cfg,
                                std::unique_ptr<detail::recurrent<T>> backward,
                                const std::string& where = "Bidirectional") {
        const std::string name =
            cfg.contains("name") && cfg["name"].is_string() ? cfg["name"].get<std::string>() : "";
        if (!backward) {
            auto bcfg = cfg;
            bcfg["go_backwards"] = true;
            bcfg["name"] = "backward_" + without_prefix(name, "backward_");
            backward = make_recurrent(cls, bcfg, where);
        }
        cfg["name"] = "forward_" + without_prefix(name, "forward_");
        return {make_recurrent(cls, cfg, where), std::move(backward)};
    }

    static merge merge_kind(const std::string& m) {
        if (m == "concat") return merge::concat;
        if (m == "sum") return merge::sum;
        if (m == "ave") return merge::ave;
        if (m == "mul") return merge::mul;
        throw value_error("Bidirectional: merge_mode '" + m +
                          "' is not supported (concat, sum, ave or mul)");
    }

    static std::string without_prefix(const std::string& s, const std::string& prefix) {
        return s.rfind(prefix, 0) == 0 ? s.substr(prefix.size()) : s;
    }

    /// The layer of Keras class `cls` from its config, through the registry; it must be a
    /// recurrent layer (Bidirectional needs go_backwards and return_sequences). `where` starts
    /// the messages.
    static std::unique_ptr<detail::recurrent<T>> make_recurrent(
        const std::string& cls, const nlohmann::json& cfg,
        const std::string& where = "Bidirectional") try {
        auto layer = make_layer<T>(cls, cfg);
        auto* recurrent = dynamic_cast<detail::recurrent<T>*>(layer.get());
        if (!recurrent)
            throw value_error("the wrapped layer is a '" + io::excerpt(cls, 60) +
                              "'; Bidirectional wraps a recurrent layer (SimpleRNN, LSTM, GRU)");
        layer.release();
        return std::unique_ptr<detail::recurrent<T>>(recurrent);
    } catch (const error& e) {
        throw value_error(where + ": " + e.what());
    }

    /// Keras's checks of the two layers: opposite go_backwards, the same return_sequences.
    void check_pair() const {
        const std::string who = "Bidirectional '" + this->name() + "': ";
        if (forward_->go_backwards() == backward_->go_backwards())
            throw value_error(who +
                              "the forward and backward layers need different "
                              "go_backwards values, got " +
                              (forward_->go_backwards() ? "true" : "false") + " for both");
        if (forward_->return_sequences() != backward_->return_sequences())
            throw value_error(who +
                              "the forward and backward layers need the same return_sequences");
        if (forward_->units() != backward_->units())
            throw value_error(xkeras::detail::cat(who,
                                                  "the forward and backward layers need the "
                                                  "same units, got ",
                                                  forward_->units(), " and ", backward_->units()));
    }

    /// The two layers' outputs merged into y_: output step t takes the forward layer's step t
    /// and the backward layer's step steps - 1 - t (its own order runs from the last input
    /// step).
    const tensor<T>& merged(const tensor<T>& yf, const tensor<T>& yb, bool training) {
        const std::size_t n = yf.shape()[0], steps = sequence_steps(), u = forward_->units();
        shape_t shape = this->batched(n, this->output_shape());
        this->ensure_shape(y_, shape);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t t = 0; t < steps; ++t) {
                const T* f = yf.data() + (i * steps + t) * u;
                const T* b = yb.data() + (i * steps + steps - 1 - t) * u;
                T* o = y_.data() + (i * steps + t) * width();
                switch (merge_) {
                    case merge::concat:
                        std::copy_n(f, u, o);
                        std::copy_n(b, u, o + u);
                        break;
                    case merge::sum:
                        for (std::size_t j = 0; j < u; ++j) o[j] = f[j] + b[j];
                        break;
                    case merge::ave:
                        for (std::size_t j = 0; j < u; ++j) o[j] = (f[j] + b[j]) / T(2);
                        break;
                    case merge::mul:
                        for (std::size_t j = 0; j < u; ++j) o[j] = f[j] * b[j];
                        break;
                }
            }
        yf_ = training ? &yf : nullptr;
        yb_ = training ? &yb : nullptr;
        return y_;
    }

    std::size_t sequence_steps() const {
        return forward_->return_sequences() ? this->input_shape_[0] : 1;
    }
    std::size_t width() const { return this->output_shape_.back(); }

    merge merge_;
    BidirectionalOptions opt_;
    std::unique_ptr<detail::recurrent<T>> forward_, backward_;
    const tensor<T>* yf_ = nullptr;  ///< The two layers' outputs of the last training forward.
    const tensor<T>* yb_ = nullptr;
    tensor<T> y_, dyf_, dyb_, dx_;
};

}  // namespace xkeras::layers
