// xkeras/training/trainer_distributed.hpp - the Trainer's data-parallel members (declared in
// trainer.hpp, which includes this file after the class): rank 0's model broadcast, the gradient
// reducer, the reduction of the logs, and the step that runs a process's micro-batches
// (docs/distributed.md).
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "trainer.hpp"

namespace xkeras {
namespace training {

/// Rank 0's model on every process: weights, moving statistics, the layers' random streams,
/// the optimizer's state and the shuffling seed (Horovod's broadcast of the initial state).
/// The processes first compare what they built, so that all of them throw when one differs.
template <class T>
void Trainer<T>::sync_replicas(model_type& m) {
    auto& comm = dp_->communicator();
    std::string shape = m.optimizer_->class_name();
    for (const auto& l : m.layers_)
        for (const auto* p : std::as_const(*l).params())
            shape += detail::cat(";", p->name, ":", p->value.size());
    std::uint64_t mine = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : shape) mine = (mine ^ c) * 1099511628211ull;
    std::vector<std::uint64_t> all(std::size_t(comm.size()));
    comm.allgather(&mine, sizeof mine, all.data());
    for (std::size_t r = 1; r < all.size(); ++r)
        if (all[r] != all[0])
            throw state_error(detail::cat(
                "model '", m.name(), "': data-parallel training: rank ", r,
                " built a different model from rank 0's (its layers, weights or optimizer differ; ",
                comm.describe(), "): every process must run the same program"));
    for (const auto& l : m.layers_)
        for (auto* p : l->params()) {
            distribution::broadcast_tensor(comm, p->value, p->name);
            p->changed();
        }
    std::int64_t iterations = m.optimizer_->iterations();
    distribution::broadcast_value(comm, iterations);
    m.optimizer_->set_iterations(iterations);
    for (auto* p : m.trainable_) {
        const auto& slots = m.optimizer_->slots();
        const auto it = slots.find(p->name);
        std::uint64_t count = it == slots.end() ? 0 : it->second.size();
        distribution::broadcast_value(comm, count);
        std::vector<tensor<T>> state;
        if (count > 0) {
            // rank 0 sends its own; the others receive into slots of the right shapes
            state = comm.rank() == 0 ? it->second : m.optimizer_->initial_slots(*p);
            if (state.size() != count)
                throw state_error(detail::cat("model '", m.name(), "': rank 0's optimizer keeps ",
                                              count, " slots for '", p->name, "', this one ",
                                              state.size()));
            for (auto& t : state) distribution::broadcast_tensor(comm, t, p->name + " (slot)");
        }
        m.optimizer_->set_slots(p->name, std::move(state));
    }
    nlohmann::json streams = nlohmann::json::array();
    for (const auto& l : m.layers_) streams.push_back(l->training_state());
    std::string text = streams.dump();
    distribution::broadcast_string(comm, text, std::size_t(1) << 24);
    if (comm.rank() != 0) {
        streams = nlohmann::json::parse(text);
        for (std::size_t i = 0; i < m.layers_.size(); ++i)
            m.layers_[i]->set_training_state(streams.at(i));
    }
    std::uint64_t seed = m.shuffle_seed();
    distribution::broadcast_value(comm, seed);
    m.set_shuffle_seed(seed);
}

/// The gradient reducer for the model's trainable weights (made again when they change).
template <class T>
distribution::GradientReducer<T>& Trainer<T>::reducer(model_type& m) {
    if (!reducer_ || reducer_dp_ != dp_ || reducer_params_ != m.trainable_) {
        std::vector<std::vector<layers::Param<T>*>> per_layer;
        for (const auto& l : m.layers_) {
            per_layer.emplace_back();
            for (auto* p : l->params())
                if (l->trains(*p)) per_layer.back().push_back(p);
        }
        reducer_ = std::make_unique<distribution::GradientReducer<T>>(
            dp_->communicator(), per_layer, dp_->options().bucket_bytes,
            dp_->micro_batches_per_process(), &dp_->stats());
        reducer_params_ = m.trainable_;
        reducer_dp_ = dp_;
    }
    return *reducer_;
}

template <class T>
std::vector<double> Trainer<T>::reduce_logs(metric_list& metrics,
                                            const std::vector<std::pair<double, double>>& saved,
                                            std::vector<double> extra) {
    const std::size_t e = extra.size();
    std::vector<double> out = std::move(extra);
    for (const auto& mt : metrics) {
        const auto [total, count] = mt.metric->state();
        out.push_back(total);
        out.push_back(count);
    }
    distribution::all_sum(dp_->communicator(), out);
    for (std::size_t i = 0; i < metrics.size(); ++i)
        metrics[i].metric->set_state(
            {saved[i].first + out[e + 2 * i], saved[i].second + out[e + 2 * i + 1]});
    out.resize(e);
    return out;
}

/// The step of data-parallel training. Global batch `step` (bn samples) is K micro-batches,
/// micro-batch k its rows [k bn / K, (k + 1) bn / K); this process runs K / N of them in turn,
/// each from the same moving statistics and random streams (its dropout masks those of its rows
/// in the whole batch). A micro-batch's gradients, times its share of the batch, are a leaf of
/// the gradient reducer's sum; its moving statistics a leaf of their mean. Then, as train_step:
/// a loss that is not finite (on any process) changes nothing.
template <class T>
double Trainer<T>::data_parallel_step(model_type& m, DataAdapter<T>& data, int epoch,
                                      std::size_t step, bool tolerate_invalid) {
    auto& red = reducer(m);
    check_part_rows(m, data.batch_rows(step));
    // a synchronized layer sums over the processes inside the passes (distribution/cross_replica)
    std::optional<distribution::cross_replica_scope> replicas;
    if (synchronized_ && dp_->size() > 1) replicas.emplace(dp_->communicator());
    const std::size_t bn = data.batch_rows(step), leaves = dp_->micro_batches_per_process(),
                      micro = dp_->options().micro_batches;
    const auto& state = m.state_;
    keep_state(m);
    std::size_t state_values = 0;
    for (const auto* p : state) state_values += p->value.size();
    std::vector<nlohmann::json> streams;
    for (const auto& l : m.layers_) streams.push_back(l->training_state());
    const auto saved_metrics = metric_states(metrics_);
    set_metric_states(metrics_, std::vector<std::pair<double, double>>(metrics_.size()));

    auto& losses = part_losses_;
    losses.assign(leaves, 0.0);
    // value v's leaf j at state_leaves_[v * leaves + j]
    state_leaves_.assign(state_values * leaves, 0.0);
    red.begin_step();
    for (std::size_t j = 0; j < leaves; ++j) {
        const auto [first, n] = dp_->micro_batch_rows(bn, j);
        if (j > 0) {  // from the step's starting state, as the micro-batches of other processes
            restore_state(m);
            for (std::size_t i = 0; i < m.layers_.size(); ++i)
                if (!streams[i].is_null()) m.layers_[i]->set_training_state(streams[i]);
        }
        if (n == 0) {
            red.empty_leaf(j);
        } else {
            data.get_rows(step, first, n, train_.x, train_.y, train_.w);
            train_.weighted = data.has_sample_weights();
            layers::detail::batch_window window(first);
            const tensor<T>& out =
                inference::Executor<T>::forward(m.layers_, train_.x, true, &train_.mask);
            losses[j] = batch_loss(m, train_, out) * double(n);
            T scale = T(double(n) / double(bn));
            if (synchronized_ && scale != T(1)) {
                // the gradients of the global batch's loss from the output on: what the
                // synchronized layers' sums over the processes need
                for (auto& g : train_.grad) g *= scale;
                scale = T(1);
            }
            const tensor<T>* g = &train_.grad;
            for (std::size_t i = m.layers_.size(); i-- > 0;) {
                g = &m.layers_[i]->backward(*g, i > 0);
                red.layer_done(i, j, scale);
            }
            update_metrics(m, metrics_, train_, out);
        }
        std::size_t v = 0;
        for (const auto* p : state)
            for (std::size_t q = 0; q < p->value.size(); ++q)
                state_leaves_[leaves * v++ + j] = double(p->value.data()[q]);
    }
    red.finish();  // written back below, once the loss is known to be finite
    std::vector<double> extra{distribution::tree_sum(std::span<const double>(losses))};
    for (std::size_t v = 0; v < state_values; ++v)
        extra.push_back(distribution::tree_sum(
            std::span<const double>(state_leaves_.data() + v * leaves, leaves)));
    extra = reduce_logs(metrics_, saved_metrics, std::move(extra));
    const double loss = extra[0] / double(bn) + regularization_penalty(m);
    if (!std::isfinite(loss)) {
        set_metric_states(metrics_, saved_metrics);
        restore_state(m);
        if (tolerate_invalid) return loss;
        throw numerical_error(detail::cat(
            "model '", m.name(), "': the training loss is ", loss, " at epoch ", epoch + 1,
            ", batch ", step, " (summed over ", dp_->size(),
            " processes); training stopped before applying this batch's update (the data is "
            "finite, so training diverged: lower the learning rate)"));
    }
    std::size_t v = 1;
    for (auto* p : state) {
        for (std::size_t q = 0; q < p->value.size(); ++q)
            p->value.data()[q] = T(extra[v++] / double(micro));
        p->changed();
    }
    red.write_back();
    for (auto* p : m.trainable_)
        if (p->regularizer)
            p->regularizer->add_gradient(p->value.data(), p->grad.data(), p->value.size());
    m.optimizer_->apply(m.trainable_);
    return loss;
}

}  // namespace training
}  // namespace xkeras
