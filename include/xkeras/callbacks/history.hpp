// xkeras/callbacks/history.hpp - History: the per-epoch logs fit returns.
//
// `history["loss"]`, `history["val_accuracy"]`, ... are the values of each epoch, in order;
// `history.epoch` the epoch indices (0-based, as Keras).
#pragma once

#include <string>
#include <vector>

#include "../config.hpp"
#include "callback.hpp"

namespace xkeras::callbacks {

template <class T = float>
class History : public Callback<T> {
  public:
    /// key -> one value per epoch.
    std::map<std::string, std::vector<double>> history;
    /// The epochs recorded (0-based).
    std::vector<int> epoch;

    /// The values of `key`; throws value_error listing the keys there are when it is missing.
    const std::vector<double>& operator[](const std::string& key) const {
        auto it = history.find(key);
        if (it == history.end()) {
            std::string keys;
            for (const auto& [k, v] : history) keys += (keys.empty() ? "" : ", ") + k;
            throw value_error(xkeras::detail::cat("History has no key '", key,
                                                  "'; keys: ", keys.empty() ? "(none)" : keys));
        }
        return it->second;
    }
    bool contains(const std::string& key) const { return history.count(key) > 0; }

    void on_train_begin(const Logs&) override { epoch.clear(); }
    void on_epoch_end(int e, const Logs& logs) override {
        epoch.push_back(e);
        for (const auto& [k, v] : logs) history[k].push_back(v);
    }
};

}  // namespace xkeras::callbacks
