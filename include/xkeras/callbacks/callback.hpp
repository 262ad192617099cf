// xkeras/callbacks/callback.hpp - Callback, Logs and the list that runs them.
//
// Hooks are called by fit / evaluate / predict in Keras's order:
//   on_train_begin; per epoch: on_epoch_begin, per batch on_train_batch_begin/end, then the
//   validation pass (on_test_begin, on_test_batch_begin/end, on_test_end), then on_epoch_end;
//   finally on_train_end with the last epoch's logs.
// Every hook does nothing by default: override the ones you need. Set
// `model->stop_training = true` to stop after the current batch / epoch.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace xkeras {
template <class T>
class basic_sequential;
}

namespace xkeras::callbacks {

/// Logs keyed as Keras's ("loss", "accuracy", "val_loss", ...), sorted by key as in Keras 3.
using Logs = std::map<std::string, double>;

/// What fit / evaluate tell the callbacks before starting (Keras's `callback.params`).
struct Params {
    int verbose = 1;
    int epochs = 1;
    int steps = 0;  ///< batches per epoch (or per evaluate call)
};

template <class T = float>
class Callback {
  public:
    virtual ~Callback() = default;

    /// The model being trained (set by fit before on_train_begin).
    basic_sequential<T>* model = nullptr;
    /// Set by fit / evaluate before the first hook.
    Params params;

    virtual void set_model(basic_sequential<T>* m) { model = m; }
    virtual void set_params(const Params& p) { params = p; }

    /// Called before on_epoch_end for every callback: add keys to the epoch's logs (Keras's
    /// learning-rate callbacks add `learning_rate`), so that every callback, History included,
    /// sees them.
    virtual void update_logs(int /*epoch*/, Logs& /*logs*/) {}
    /// True when this callback deals with a non-finite training loss itself (TerminateOnNaN);
    /// otherwise fit throws a numerical_error.
    virtual bool handles_invalid_loss() const { return false; }
    /// Whether, in data-parallel training, only the process of rank 0 runs it: the callbacks
    /// that write files or the terminal (ModelCheckpoint, CSVLogger, the progress bar).
    virtual bool rank_zero_only() const { return false; }

    virtual void on_train_begin(const Logs& /*logs*/) {}
    virtual void on_train_end(const Logs& /*logs*/) {}
    virtual void on_epoch_begin(int /*epoch*/, const Logs& /*logs*/) {}
    virtual void on_epoch_end(int /*epoch*/, const Logs& /*logs*/) {}
    virtual void on_train_batch_begin(int /*batch*/, const Logs& /*logs*/) {}
    virtual void on_train_batch_end(int /*batch*/, const Logs& /*logs*/) {}
    virtual void on_test_begin(const Logs& /*logs*/) {}
    virtual void on_test_end(const Logs& /*logs*/) {}
    virtual void on_test_batch_begin(int /*batch*/, const Logs& /*logs*/) {}
    virtual void on_test_batch_end(int /*batch*/, const Logs& /*logs*/) {}
    virtual void on_predict_begin(const Logs& /*logs*/) {}
    virtual void on_predict_end(const Logs& /*logs*/) {}
    virtual void on_predict_batch_begin(int /*batch*/, const Logs& /*logs*/) {}
    virtual void on_predict_batch_end(int /*batch*/, const Logs& /*logs*/) {}
};

/// Runs a sequence of callbacks in order.
template <class T>
class CallbackList {
  public:
    CallbackList() = default;
    explicit CallbackList(std::vector<std::shared_ptr<Callback<T>>> cbs) : cbs_(std::move(cbs)) {}

    void add(std::shared_ptr<Callback<T>> cb) { cbs_.push_back(std::move(cb)); }
    void set_model(basic_sequential<T>* m) {
        for (auto& c : cbs_) c->set_model(m);
    }
    void set_params(const Params& p) {
        for (auto& c : cbs_) c->set_params(p);
    }
    bool empty() const { return cbs_.empty(); }
    bool handles_invalid_loss() const {
        for (const auto& c : cbs_)
            if (c->handles_invalid_loss()) return true;
        return false;
    }
    /// Lets every callback add to the epoch's logs, then calls on_epoch_end.
    void on_epoch_end(int epoch, Logs& logs) {
        for (auto& c : cbs_) c->update_logs(epoch, logs);
        for (auto& c : cbs_) c->on_epoch_end(epoch, logs);
    }

#define XKERAS_FORWARD_HOOK(hook)           \
    void hook(const Logs& logs) {           \
        for (auto& c : cbs_) c->hook(logs); \
    }
#define XKERAS_FORWARD_INDEXED_HOOK(hook)      \
    void hook(int i, const Logs& logs) {       \
        for (auto& c : cbs_) c->hook(i, logs); \
    }
    XKERAS_FORWARD_HOOK(on_train_begin)
    XKERAS_FORWARD_HOOK(on_train_end)
    XKERAS_FORWARD_HOOK(on_test_begin)
    XKERAS_FORWARD_HOOK(on_test_end)
    XKERAS_FORWARD_HOOK(on_predict_begin)
    XKERAS_FORWARD_HOOK(on_predict_end)
    XKERAS_FORWARD_INDEXED_HOOK(on_epoch_begin)
    XKERAS_FORWARD_INDEXED_HOOK(on_train_batch_begin)
    XKERAS_FORWARD_INDEXED_HOOK(on_train_batch_end)
    XKERAS_FORWARD_INDEXED_HOOK(on_test_batch_begin)
    XKERAS_FORWARD_INDEXED_HOOK(on_test_batch_end)
    XKERAS_FORWARD_INDEXED_HOOK(on_predict_batch_begin)
    XKERAS_FORWARD_INDEXED_HOOK(on_predict_batch_end)
#undef XKERAS_FORWARD_HOOK
#undef XKERAS_FORWARD_INDEXED_HOOK

  private:
    std::vector<std::shared_ptr<Callback<T>>> cbs_;
};

}  // namespace xkeras::callbacks
