// xkeras/training/trainer.hpp - fit, evaluate, train_on_batch and test_on_batch (Keras's
// Trainer): the epoch and batch loops, the callbacks, the metrics, and the training step.
//
// The model owns one Trainer and forwards its training calls to it. A step runs the forward
// pass in training mode, the loss, the backward pass and one optimizer update; when the loss is
// not finite nothing changes, the moving statistics included (see train_step).
//
// Under a DataParallel distribution (distribution/data_parallel.hpp) each process runs its
// micro-batches of the global batch instead (data_parallel_step), and the calls reduce what
// they log across the processes, so every process sees the same logs.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../callbacks/callback.hpp"
#include "../callbacks/history.hpp"
#include "../callbacks/progbar_logger.hpp"
#include "../config.hpp"
#include "../distribution/broadcast.hpp"
#include "../distribution/cross_replica.hpp"
#include "../distribution/data_parallel.hpp"
#include "../distribution/gradient_reducer.hpp"
#include "../distribution/tree_sum.hpp"
#include "../inference/executor.hpp"
#include "../layers/dropout_stream.hpp"
#include "../layers/layer.hpp"
#include "../metrics.hpp"
#include "../tensor.hpp"
#include "data.hpp"

namespace xkeras {

template <class T>
class basic_sequential;

/// Options of fit(); every default is Keras's.
template <class T>
struct fit_options {
    std::size_t batch_size = 32;
    int epochs = 1;
    int verbose = 1;  ///< 0 silent, 1 progress bar, 2 one line per epoch.
    std::vector<std::shared_ptr<callbacks::Callback<T>>> callbacks{};
    /// Fraction of the data held out for validation: the LAST samples, taken before shuffling.
    double validation_split = 0.0;
    /// (x_val, y_val); overrides validation_split. `.validation_data = std::pair{x, y}`.
    std::optional<std::pair<tensor<T>, tensor<T>>> validation_data{};
    bool shuffle = true;  ///< Reshuffle the training samples every epoch.
    /// Weights of the classes in the training loss (class index -> weight; a class not named
    /// weighs 1), as sample weights by each sample's class; not with sample_weight.
    std::map<int, double> class_weight{};
    /// One weight per sample in the loss, (samples,) or (samples, 1); validation_split holds
    /// out the last weights with their samples. The compiled metrics are not weighted (Keras 3).
    std::optional<tensor<T>> sample_weight{};
    int initial_epoch = 0;
};

/// Options of evaluate().
template <class T>
struct evaluate_options {
    std::size_t batch_size = 32;
    int verbose = 1;
    std::optional<tensor<T>> sample_weight{};  ///< One weight per sample in the loss.
    std::vector<std::shared_ptr<callbacks::Callback<T>>> callbacks{};
};

namespace training {

template <class T>
class Trainer {
  public:
    using model_type = basic_sequential<T>;

    callbacks::History<T> fit(model_type& m, const tensor<T>& x, const tensor<T>& y,
                              const fit_options<T>& o);
    /// fit's loop over batches from `train`, validating on `val` (null: none) after each epoch;
    /// the caller holds the model's lock and has checked the data.
    callbacks::History<T> fit(model_type& m, DataAdapter<T>& train, DataAdapter<T>* val,
                              const fit_options<T>& o);
    std::vector<double> evaluate(model_type& m, const tensor<T>& x, const tensor<T>& y,
                                 const evaluate_options<T>& o);
    /// One step on (x, y), weighted by `sample_weight` when not null.
    std::vector<double> train_on_batch(model_type& m, const tensor<T>& x, const tensor<T>& y,
                                       const tensor<T>* sample_weight = nullptr);
    std::vector<double> test_on_batch(model_type& m, const tensor<T>& x, const tensor<T>& y,
                                      const tensor<T>* sample_weight = nullptr);

  private:
    /// A batch: inputs, targets, the samples' weights when `weighted`, and dL/d(output);
    /// the output's mask of the last forward pass (null for none), and, with one, the
    /// output per unit (unit_pred) and the units' weights (unit_w).
    struct batch_state {
        tensor<T> x, y, w, grad;
        bool weighted = false;
        const tensor<T>* mask = nullptr;
        tensor<T> unit_pred, unit_w;
    };

    /// What every call starts with: the model's lock, a compiled model (with no inference-only
    /// layer when the call `trains`), x that fits its input (the model is built from it when
    /// needed), finite x and y that fit the loss, and metrics fresh for y.
    std::unique_lock<std::recursive_mutex> begin(model_type& m, const char* who, bool trains,
                                                 const tensor<T>& x, const tensor<T>& y) {
        auto lock = m.lock_.hold();
        m.require_compiled(who);
        if (trains)
            for (const auto& layer : m.layers_)
                if (layer->inference_only())
                    throw state_error(xkeras::detail::cat(
                        "model '", m.name(), "': ", who, ": layer '", layer->name(), "' (",
                        layer->class_name(),
                        ") runs only at inference in xkeras (Keras's augmentation is not "
                        "implemented): train the model without it"));
        prepare_input(m, x, who);
        check_xy(m, x, y, who);
        metrics_ = make_metrics(m, shape_of(y));
        fuse_loss(m);
        dp_ = distribution::distribution();
        if (dp_ && m.output_masked())
            throw value_error(detail::cat(
                "model '", m.name(), "': ", who,
                ": data-parallel training of a model whose output carries a mask is not "
                "supported yet (the loss's divisor, the unmasked count, would need a reduction "
                "first); train it in one process"));
        synchronized_ = nullptr;
        if (dp_)
            for (const auto& layer : m.layers_)
                if (layer->synchronized()) synchronized_ = layer.get();
        if (trains && synchronized_ && dp_->micro_batches_per_process() != 1)
            throw value_error(detail::cat(
                "model '", m.name(), "': ", who, ": layer '", synchronized_->name(),
                "' is synchronized (its batch moments are the whole global batch's), so each "
                "process runs one micro-batch per step; DataParallel has micro_batches = ",
                dp_->options().micro_batches, " for ", dp_->size(),
                " processes: leave it 0 (one per process)"));
        return lock;
    }

    /// Fuses the last activation with the loss when both allow it (softmax + crossentropy): the
    /// last layer keeps its logits and its backward pass takes dL/d(logits).
    void fuse_loss(model_type& m) {
        auto& layers = m.layers_;
        fused_ = m.loss_->fuses_with(layers.back()->output_activation());
        layers.back()->set_output_logits(fused_);
        for (std::size_t i = 0; i + 1 < layers.size(); ++i) layers[i]->set_output_logits(false);
    }

    /// Finite x and y (`prefix` "validation_data " names the validation pair), as many samples
    /// each, targets that fit the loss and the output.
    static void check_xy(const model_type& m, const tensor<T>& x, const tensor<T>& y,
                         const char* who, const std::string& prefix = "") {
        auto where = [&] { return detail::cat("model '", m.name(), "': ", who); };
        check_finite(x, where, prefix + "x");
        check_finite(y, where, prefix + "y");
        if (y.dimension() == 0 || y.shape()[0] != x.shape()[0])
            throw shape_error(detail::cat(
                where(), ": ", prefix, "x has ", x.shape()[0], " samples but its targets have ",
                y.dimension() ? y.shape()[0] : 0, " (shapes ", shape_str(shape_of(x)), " and ",
                shape_str(shape_of(y)), ")"));
        m.loss().check_targets(y, m.output_shape());
    }

    static shape_t batched(std::size_t n, shape_t s) {
        s.insert(s.begin(), n);
        return s;
    }

    static void check_batch_size(const char* who, std::size_t batch_size) {
        if (batch_size == 0)
            throw value_error(detail::cat(who, ": batch_size must be >= 1, got 0"));
    }

    /// A batch count as the callbacks' Params take it.
    static int steps_of(const DataAdapter<T>& data) {
        if (data.num_batches() > std::size_t(INT_MAX))
            throw value_error(detail::cat(data.num_batches(), " batches per epoch are more than ",
                                          INT_MAX, "; use a larger batch_size"));
        return int(data.num_batches());
    }

    /// A compiled metric as a call runs it: weighted metrics take the batch's sample weights.
    struct live_metric {
        std::unique_ptr<metrics::Metric<T>> metric;
        bool weighted = false;
    };
    using metric_list = std::vector<live_metric>;

    /// The compiled metrics for targets of shape `ys` (batch axis first): "accuracy" takes its
    /// kind from the shapes, as Keras.
    static metric_list make_metrics(const model_type& m, const shape_t& ys) {
        shape_t ps = m.output_shape();
        ps.insert(ps.begin(), ys[0]);
        metric_list out;
        for (const auto& c : m.compiled_metrics())
            out.push_back({metrics::get<T>(c.name, ys, ps, c.log_name), c.weighted});
        return out;
    }

    void update_metrics(const model_type& m, metric_list& metrics, batch_state& b,
                        const tensor<T>& out) {
        if (b.mask) return update_masked_metrics(m, metrics, b, out);
        for (auto& mt : metrics)
            mt.metric->update(b.y, out, mt.weighted && b.weighted ? b.w.data() : nullptr);
    }

    // ---- an output with a mask -------------------------------------------------------------
    // As Keras 3's `apply_mask`: each unmasked (sample, step) of the output counts as a unit of
    // its own in the loss and the metrics, the masked ones not at all. The loss is the sum of
    // the units' losses (times their samples' weights) over the number of unmasked units, 0
    // when there is none; a metric is the mean over the unmasked units.

    /// Views the targets and `pred` (into b.unit_pred) as one row per unit: the mask's axes
    /// (batch, steps) merged into one. Throws unless both start with the mask's shape.
    static void to_units(const model_type& m, batch_state& b, const tensor<T>& pred) {
        const tensor<T>& mask = *b.mask;
        const std::size_t k = mask.dimension();
        auto leads = [&](const tensor<T>& t) {
            if (t.dimension() < k) return false;
            for (std::size_t a = 0; a < k; ++a)
                if (t.shape()[a] != mask.shape()[a]) return false;
            return true;
        };
        if (!leads(b.y) || !leads(pred))
            throw shape_error(detail::cat(
                "model '", m.name(), "': the output carries a mask of shape ",
                shape_str(shape_of(mask)), " (Embedding's mask_zero), so the targets need one per ",
                "masked position: expected targets of shape ", shape_str(shape_of(mask)),
                " followed by the output's last axes, got ", shape_str(shape_of(b.y))));
        auto unit_shape = [&](const tensor<T>& t) {
            shape_t s{mask.size()};
            s.insert(s.end(), t.shape().begin() + k, t.shape().end());
            return s;
        };
        b.y.reshape(unit_shape(b.y));
        const shape_t s = unit_shape(pred);
        if (b.unit_pred.dimension() != s.size() ||
            !std::equal(s.begin(), s.end(), b.unit_pred.shape().begin()))
            b.unit_pred.resize(s);
        std::copy_n(pred.data(), pred.size(), b.unit_pred.data());
    }

    /// The units' weights into b.unit_w: the mask times the unit's sample's weight (when
    /// `with_samples` and the batch has weights), times `scale` for the loss.
    static void unit_weights(batch_state& b, bool with_samples, bool for_loss) {
        const tensor<T>& mask = *b.mask;
        const std::size_t units = mask.size(), per = units / mask.shape()[0];
        double valid = 0.0;
        for (std::size_t u = 0; u < units; ++u) valid += mask.data()[u] != T(0);
        const double scale = !for_loss ? 1.0 : valid > 0.0 ? double(units) / valid : 0.0;
        if (b.unit_w.size() != units) b.unit_w.resize({units});
        for (std::size_t u = 0; u < units; ++u) {
            double w = mask.data()[u] != T(0) ? scale : 0.0;
            if (with_samples && b.weighted) w *= double(b.w.data()[u / per]);
            b.unit_w.data()[u] = T(w);
        }
    }

    double masked_loss(model_type& m, batch_state& b, const tensor<T>& pred) {
        const shape_t ys = shape_of(b.y), ps = shape_of(pred);
        to_units(m, b, pred);
        unit_weights(b, true, true);
        const double loss =
            m.loss_->compute_weighted(b.y, b.unit_pred, b.grad, b.unit_w.data(), fused_);
        b.y.reshape(ys);
        b.grad.reshape(ps);
        return loss;
    }

    void update_masked_metrics(const model_type& m, metric_list& metrics, batch_state& b,
                               const tensor<T>& out) {
        const shape_t ys = shape_of(b.y);
        to_units(m, b, out);
        for (auto& mt : metrics) {
            unit_weights(b, mt.weighted, false);
            mt.metric->update(b.y, b.unit_pred, b.unit_w.data());
        }
        b.y.reshape(ys);
    }

    static callbacks::Logs current_logs(double loss, const metric_list& metrics) {
        callbacks::Logs logs{{"loss", loss}};
        for (const auto& mt : metrics) logs[mt.metric->name()] = mt.metric->result();
        return logs;
    }

    static std::vector<double> logs_to_list(const model_type& m, const callbacks::Logs& logs) {
        std::vector<double> out{logs.at("loss")};
        for (const auto& c : m.compiled_metrics()) out.push_back(logs.at(c.log_name));
        return out;
    }

    static double regularization_penalty(const model_type& m) {
        double p = 0.0;
        for (const auto& l : m.layers_)
            for (const auto* prm : std::as_const(*l).params())
                if (prm->regularizer)
                    p += prm->regularizer->penalty(prm->value.data(), prm->value.size());
        return p;
    }

    /// Loss of the batch's current output, weighted when the batch is, with dL/d(output or
    /// logits) in b.grad.
    double batch_loss(model_type& m, batch_state& b, const tensor<T>& out) {
        const tensor<T>& pred = fused_ ? *m.layers_.back()->logits() : out;
        if (b.mask) return masked_loss(m, b, pred);
        if (b.weighted) return m.loss_->compute_weighted(b.y, pred, b.grad, b.w.data(), fused_);
        if (fused_) return m.loss_->compute_from_logits(b.y, pred, b.grad);
        return m.loss_->compute(b.y, pred, b.grad);
    }

    /// Fills b from batch `step` of `data`.
    static std::size_t next_batch(DataAdapter<T>& data, std::size_t step, batch_state& b) {
        b.weighted = data.has_sample_weights();
        return data.get_batch(step, b.x, b.y, b.w);
    }

    /// The weights fit, evaluate, train_on_batch and test_on_batch were given, checked: null
    /// when none.
    static const tensor<T>* checked_weights(const model_type& m, const tensor<T>* w,
                                            const tensor<T>& x, const char* who) {
        if (w)
            check_sample_weight(*w, x.shape()[0], detail::cat("model '", m.name(), "': ", who),
                                "sample_weight");
        return w;
    }

    double train_step(model_type& m, batch_state& b, int epoch, std::size_t step,
                      bool tolerate_invalid = false);

    /// Copies the model's non-trainable weights (the moving statistics) into state_backup_.
    void keep_state(const model_type& m) {
        const auto& state = m.state_;
        state_backup_.resize(state.size());
        for (std::size_t i = 0; i < state.size(); ++i) {
            const auto& v = state[i]->value;
            auto& keep = state_backup_[i];
            if (keep.size() != v.size())
                keep = v;
            else
                std::copy_n(v.data(), v.size(), keep.data());
        }
    }
    /// Puts state_backup_ back into the model's non-trainable weights.
    void restore_state(model_type& m) {
        for (std::size_t i = 0; i < m.state_.size(); ++i) {
            std::copy_n(state_backup_[i].data(), state_backup_[i].size(),
                        m.state_[i]->value.data());
            m.state_[i]->changed();
        }
    }

    // ---- data-parallel training (distribution/data_parallel.hpp) ---------------------------

    /// Whether this process writes files and the terminal: rank 0, or the only process.
    bool writes() const { return !dp_ || dp_->rank() == 0; }

    /// The callbacks of a call: `given`, less those that only rank 0 runs on other ranks.
    callbacks::CallbackList<T> callback_list(
        const std::vector<std::shared_ptr<callbacks::Callback<T>>>& given) const {
        callbacks::CallbackList<T> out;
        for (const auto& c : given)
            if (writes() || !c->rank_zero_only()) out.add(c);
        return out;
    }

    void sync_replicas(model_type& m);
    /// Whether `flag` is set on any process: a callback that stops training on one process only
    /// (a program's own, deciding from something else than the logs) stops it on all.
    bool any_process(bool flag) const {
        auto& comm = dp_->communicator();
        const unsigned char mine = flag;
        std::vector<unsigned char> all(std::size_t(comm.size()));
        comm.allgather(&mine, 1, all.data());
        return std::find(all.begin(), all.end(), 1) != all.end();
    }
    distribution::GradientReducer<T>& reducer(model_type& m);
    /// Throws unless a training batch of `rows` rows gives every process one at least, when the
    /// model has a synchronized layer (a process without rows could not join its sums).
    void check_part_rows(const model_type& m, std::size_t rows) const {
        if (synchronized_ && rows < std::size_t(dp_->size()))
            throw value_error(detail::cat(
                "model '", m.name(), "': layer '", synchronized_->name(),
                "' is synchronized, so each of the ", dp_->size(),
                " processes needs one row of every batch at least; a batch has ", rows,
                " rows (the last one is the remainder of the samples over batch_size)"));
    }
    /// One step of batch `step` of `data`: this process's micro-batches, the gradients and
    /// moving statistics summed over every process, one optimizer update; returns the global
    /// loss. The metrics then hold every process's counts.
    double data_parallel_step(model_type& m, DataAdapter<T>& data, int epoch, std::size_t step,
                              bool tolerate_invalid = false);
    /// Sums over the processes (distribution/tree_sum.hpp): `extra`, returned, and the metrics'
    /// counts since they held `saved` (each process's own), which are added to `saved` into
    /// `metrics` on every process.
    std::vector<double> reduce_logs(metric_list& metrics,
                                    const std::vector<std::pair<double, double>>& saved,
                                    std::vector<double> extra);

    static std::vector<std::pair<double, double>> metric_states(const metric_list& metrics) {
        std::vector<std::pair<double, double>> out;
        for (const auto& mt : metrics) out.push_back(mt.metric->state());
        return out;
    }
    static void set_metric_states(metric_list& metrics,
                                  const std::vector<std::pair<double, double>>& states) {
        for (std::size_t i = 0; i < metrics.size(); ++i) metrics[i].metric->set_state(states[i]);
    }
    callbacks::Logs run_evaluation(model_type& m, DataAdapter<T>& data, metric_list& metrics,
                                   callbacks::CallbackList<T>& cbs);

    metric_list metrics_;  ///< the current call's
    bool fused_ = false;   ///< whether the loss takes the last layer's logits (fuse_loss)
    std::shared_ptr<const distribution::DataParallel> dp_;  ///< the current call's, or null
    /// under dp_, the model's last synchronized layer (Layer::synchronized), or null
    const layers::Layer<T>* synchronized_ = nullptr;
    /// the distribution train_on_batch last broadcast rank 0's model under
    std::shared_ptr<const distribution::DataParallel> synced_;
    std::unique_ptr<distribution::GradientReducer<T>> reducer_;
    std::vector<layers::Param<T>*> reducer_params_;  ///< the weights reducer_ was made for
    std::shared_ptr<const distribution::DataParallel> reducer_dp_;  ///< and the distribution
    std::vector<tensor<T>> state_backup_;  ///< the non-trainable weights before the current step
    std::vector<double> part_losses_;      ///< a data-parallel batch's micro-batches' loss sums
    std::vector<double> state_leaves_;     ///< and their non-trainable weights (moving statistics)
    batch_state train_, eval_;
};

template <class T>
callbacks::History<T> Trainer<T>::fit(model_type& m, const tensor<T>& x, const tensor<T>& y,
                                      const fit_options<T>& o) {
    check_batch_size("fit", o.batch_size);
    if (o.epochs < 0) throw value_error(detail::cat("fit: epochs must be >= 0, got ", o.epochs));
    if (o.initial_epoch < 0)
        throw value_error(detail::cat("fit: initial_epoch must be >= 0, got ", o.initial_epoch));
    if (!(o.validation_split >= 0.0 && o.validation_split < 1.0))
        throw value_error(
            detail::cat("fit: validation_split must be in [0, 1), got ", o.validation_split));
    if (o.verbose < 0 || o.verbose > 2)
        throw value_error(detail::cat("fit: verbose must be 0, 1 or 2, got ", o.verbose));
    auto lock = begin(m, "fit", true, x, y);
    if (dp_) sync_replicas(m);  // before the adapter takes rank 0's shuffling seed
    const std::size_t n = x.shape()[0];
    const tensor<T>* w =
        checked_weights(m, o.sample_weight ? &*o.sample_weight : nullptr, x, "fit");
    std::optional<tensor<T>> by_class;
    if (!o.class_weight.empty()) {
        const std::string where = detail::cat("model '", m.name(), "': fit");
        if (w)
            throw value_error(where +
                              ": class_weight and sample_weight cannot both be given "
                              "(as in Keras): fold the class weights into sample_weight");
        by_class = class_sample_weights(y, o.class_weight, where);
    }
    // validation: explicit data, else the LAST fraction of (x, y), split before shuffling
    const std::size_t n_train = o.validation_data ? n : training_samples(n, o.validation_split);
    ArrayDataAdapter<T> train(x, y, 0, n_train, o.batch_size, o.shuffle, m.shuffle_seed(),
                              by_class ? &*by_class : w);
    std::optional<ArrayDataAdapter<T>> val;
    if (o.validation_data) {
        const auto& [vx, vy] = *o.validation_data;
        prepare_input(m, vx, "fit (validation_data)");
        check_xy(m, vx, vy, "fit", "validation_data ");
        val.emplace(vx, vy, 0, vx.shape()[0], o.batch_size);
    } else if (n_train < n) {  // with the held-out samples' own weights (not class_weight's)
        val.emplace(x, y, n_train, n, o.batch_size, false, 0, w);
    }
    return fit(m, train, val ? &*val : nullptr, o);
}

template <class T>
callbacks::History<T> Trainer<T>::fit(model_type& m, DataAdapter<T>& train, DataAdapter<T>* val,
                                      const fit_options<T>& o) {
    auto history = std::make_shared<callbacks::History<T>>();
    callbacks::CallbackList<T> cbs = callback_list(o.callbacks);
    cbs.add(history);
    if (o.verbose > 0 && writes()) cbs.add(std::make_shared<callbacks::ProgbarLogger<T>>());
    const int steps = steps_of(train);
    if (steps > 0) check_part_rows(m, train.batch_rows(std::size_t(steps - 1)));
    cbs.set_model(&m);
    cbs.set_params({o.verbose, o.epochs, steps});
    callbacks::CallbackList<T> no_callbacks;
    // the validation pass has metrics of its own, made for its targets
    metric_list val_metrics;
    if (val) val_metrics = make_metrics(m, batched(val->num_samples(), val->target_shape()));

    m.stop_training = false;
    // from every given callback, so that every process decides alike
    const bool tolerate_invalid = callbacks::CallbackList<T>(o.callbacks).handles_invalid_loss();
    callbacks::Logs logs;
    cbs.on_train_begin(logs);
    for (int epoch = o.initial_epoch; epoch < o.epochs; ++epoch) {
        for (auto& mt : metrics_) mt.metric->reset();
        cbs.on_epoch_begin(epoch, {});
        train.on_epoch_begin(epoch);
        double loss_sum = 0.0;
        std::size_t seen = 0;
        for (int step = 0; step < steps; ++step) {
            cbs.on_train_batch_begin(step, {});
            std::size_t bn = 0;
            double loss = 0.0;
            if (dp_) {
                bn = train.batch_rows(std::size_t(step));
                loss = data_parallel_step(m, train, epoch, std::size_t(step), tolerate_invalid);
            } else {
                bn = next_batch(train, std::size_t(step), train_);
                loss = train_step(m, train_, epoch, std::size_t(step), tolerate_invalid);
            }
            loss_sum += loss * double(bn);
            seen += bn;
            logs = current_logs(loss_sum / double(seen), metrics_);
            cbs.on_train_batch_end(step, logs);
            if (dp_) m.stop_training = any_process(m.stop_training);
            if (m.stop_training) break;
        }
        if (val) {
            for (const auto& [k, v] : run_evaluation(m, *val, val_metrics, no_callbacks))
                logs["val_" + k] = v;
        }
        cbs.on_epoch_end(epoch, logs);
        if (dp_) m.stop_training = any_process(m.stop_training);
        if (m.stop_training) break;
    }
    cbs.on_train_end(logs);
    return *history;
}

template <class T>
std::vector<double> Trainer<T>::evaluate(model_type& m, const tensor<T>& x, const tensor<T>& y,
                                         const evaluate_options<T>& o) {
    check_batch_size("evaluate", o.batch_size);
    auto lock = begin(m, "evaluate", false, x, y);
    const tensor<T>* w =
        checked_weights(m, o.sample_weight ? &*o.sample_weight : nullptr, x, "evaluate");
    callbacks::CallbackList<T> cbs = callback_list(o.callbacks);
    if (o.verbose > 0 && writes()) cbs.add(std::make_shared<callbacks::ProgbarLogger<T>>());
    ArrayDataAdapter<T> data(x, y, 0, x.shape()[0], o.batch_size, false, 0, w);
    cbs.set_model(&m);
    cbs.set_params({o.verbose, 1, steps_of(data)});
    return logs_to_list(m, run_evaluation(m, data, metrics_, cbs));
}

template <class T>
std::vector<double> Trainer<T>::train_on_batch(model_type& m, const tensor<T>& x,
                                               const tensor<T>& y, const tensor<T>* sample_weight) {
    auto lock = begin(m, "train_on_batch", true, x, y);
    const tensor<T>* w = checked_weights(m, sample_weight, x, "train_on_batch");
    ArrayDataAdapter<T> data(x, y, 0, x.shape()[0], x.shape()[0], false, 0, w);
    if (dp_) {
        if (synced_ != dp_) sync_replicas(m), synced_ = dp_;
        return logs_to_list(m, current_logs(data_parallel_step(m, data, 0, 0), metrics_));
    }
    next_batch(data, 0, train_);
    return logs_to_list(m, current_logs(train_step(m, train_, 0, 0), metrics_));
}

template <class T>
std::vector<double> Trainer<T>::test_on_batch(model_type& m, const tensor<T>& x, const tensor<T>& y,
                                              const tensor<T>* sample_weight) {
    auto lock = begin(m, "test_on_batch", false, x, y);
    const tensor<T>* w = checked_weights(m, sample_weight, x, "test_on_batch");
    ArrayDataAdapter<T> data(x, y, 0, x.shape()[0], x.shape()[0], false, 0, w);
    callbacks::CallbackList<T> none;
    return logs_to_list(m, run_evaluation(m, data, metrics_, none));
}

/// Forward, loss, backward and one optimizer step. When the loss is not finite no weight
/// changes (moving statistics included): numerical_error is thrown, or, with `tolerate_invalid`
/// (a TerminateOnNaN among the callbacks), the loss is returned for the callbacks to see.
template <class T>
double Trainer<T>::train_step(model_type& m, batch_state& b, int epoch, std::size_t step,
                              bool tolerate_invalid) {
    // The forward pass in training mode moves the non-trainable state (BatchNormalization's
    // moving statistics): keep a copy (a few values per channel) to undo a bad batch.
    keep_state(m);
    const tensor<T>& out = inference::Executor<T>::forward(m.layers_, b.x, true, &b.mask);
    const double loss = batch_loss(m, b, out) + regularization_penalty(m);
    if (!std::isfinite(loss)) {
        restore_state(m);
        if (tolerate_invalid) return loss;  // no update; the callbacks decide
        throw numerical_error(detail::cat(
            "model '", m.name(), "': the training loss is ", loss, " at epoch ", epoch + 1,
            ", batch ", step,
            "; training stopped before applying this batch's update (the data is finite, so "
            "training diverged: lower the learning rate)"));
    }
    const tensor<T>* g = &b.grad;
    for (std::size_t i = m.layers_.size(); i-- > 0;) g = &m.layers_[i]->backward(*g, i > 0);
    for (auto* p : m.trainable_)
        if (p->regularizer)
            p->regularizer->add_gradient(p->value.data(), p->grad.data(), p->value.size());
    m.optimizer_->apply(m.trainable_);
    update_metrics(m, metrics_, b, out);
    return loss;
}

/// Mean loss and metrics over the batches of `data`, in inference mode.
template <class T>
callbacks::Logs Trainer<T>::run_evaluation(model_type& m, DataAdapter<T>& data,
                                           metric_list& metrics, callbacks::CallbackList<T>& cbs) {
    for (auto& mt : metrics) mt.metric->reset();
    double loss_sum = 0.0;
    std::size_t seen = 0;
    const double penalty = regularization_penalty(m);
    callbacks::Logs logs;
    cbs.on_test_begin(logs);
    data.on_epoch_begin(0);
    for (std::size_t step = 0; step < data.num_batches(); ++step) {
        cbs.on_test_batch_begin(int(step), {});
        const std::size_t bn = data.batch_rows(step);
        // the loss summed over the batch's rows of one micro-batch
        auto part = [&](std::size_t first, std::size_t n) {
            data.get_rows(step, first, n, eval_.x, eval_.y, eval_.w);
            eval_.weighted = data.has_sample_weights();
            const tensor<T>& out =
                inference::Executor<T>::forward(m.layers_, eval_.x, false, &eval_.mask);
            const double sum = (batch_loss(m, eval_, out) + penalty) * double(n);
            update_metrics(m, metrics, eval_, out);
            return sum;
        };
        double batch_sum = 0.0;
        if (!dp_) {
            batch_sum = part(0, bn);
        } else {
            // each process its micro-batches of the batch (as in training), their losses summed
            // by the tree over every process after it
            const auto saved = metric_states(metrics);
            set_metric_states(metrics, std::vector<std::pair<double, double>>(metrics.size()));
            part_losses_.assign(dp_->micro_batches_per_process(), 0.0);
            for (std::size_t j = 0; j < part_losses_.size(); ++j)
                if (const auto r = dp_->micro_batch_rows(bn, j); r.count > 0)
                    part_losses_[j] = part(r.first, r.count);
            batch_sum = distribution::tree_sum(std::span<const double>(part_losses_));
            batch_sum = reduce_logs(metrics, saved, {batch_sum})[0];
        }
        loss_sum += batch_sum;
        seen += bn;
        logs = current_logs(loss_sum / double(seen), metrics);
        cbs.on_test_batch_end(int(step), logs);
    }
    cbs.on_test_end(logs);
    return logs;
}

}  // namespace training
}  // namespace xkeras

// the data-parallel members' definitions
#include "trainer_distributed.hpp"  // IWYU pragma: export
