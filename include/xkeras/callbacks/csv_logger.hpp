// xkeras/callbacks/csv_logger.hpp - CSVLogger: one CSV row per epoch, as Keras's.
//
// Columns: `epoch` (0-based, as Keras writes it), then the log keys sorted; when the first
// epoch's logs have no `val_` key, `val_` columns are added for every key (values "NA" when
// absent). With `append`, rows go to the end of an existing file and the header is written only
// if the file is empty. Each row is flushed as it is written.
#pragma once

#include <charconv>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../config.hpp"
#include "callback.hpp"

namespace xkeras::callbacks {

namespace detail {
/// The shortest text that reads back as the same double (Python's repr of a float).
inline std::string shortest(double v) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    std::string s(buf, res.ptr);
    if (s.find_first_of(".eni") == std::string::npos) s += ".0";
    return s;
}
}  // namespace detail

template <class T = float>
class CSVLogger : public Callback<T> {
  public:
    explicit CSVLogger(std::filesystem::path filename, std::string separator = ",",
                       bool append = false)
        : path_(std::move(filename)), sep_(std::move(separator)), append_(append) {
        if (sep_.empty()) throw value_error("CSVLogger: the separator must not be empty");
    }

    void on_train_begin(const Logs&) override {
        const bool has_content =
            append_ && std::filesystem::exists(path_) && std::filesystem::file_size(path_) > 0;
        write_header_ = !has_content;
        keys_.clear();
        file_.close();
        file_.open(path_, append_ ? std::ios::app : std::ios::trunc);
        if (!file_)
            throw io_error(
                xkeras::detail::cat("CSVLogger: cannot open '", path_.string(), "' for writing"));
    }

    void on_epoch_end(int epoch, const Logs& logs) override {
        if (keys_.empty()) {
            for (const auto& [k, v] : logs) keys_.push_back(k);
            bool has_val = false;
            for (const auto& k : keys_) has_val = has_val || k.rfind("val_", 0) == 0;
            if (!has_val) {
                const std::size_t n = keys_.size();
                for (std::size_t i = 0; i < n; ++i) keys_.push_back("val_" + keys_[i]);
            }
        }
        if (write_header_) {
            file_ << "epoch";
            for (const auto& k : keys_) file_ << sep_ << k;
            file_ << "\n";
            write_header_ = false;
        }
        file_ << epoch;
        for (const auto& k : keys_) {
            auto it = logs.find(k);
            file_ << sep_ << (it == logs.end() ? std::string("NA") : detail::shortest(it->second));
        }
        file_ << "\n";
        file_.flush();
        if (!file_)
            throw io_error(xkeras::detail::cat("CSVLogger: writing '", path_.string(), "' failed"));
    }

    void on_train_end(const Logs&) override { file_.close(); }

  private:
    std::filesystem::path path_;
    std::string sep_;
    bool append_;
    bool write_header_ = true;
    std::vector<std::string> keys_;
    std::ofstream file_;
};

}  // namespace xkeras::callbacks
