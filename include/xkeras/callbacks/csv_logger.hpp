// xkeras/callbacks/csv_logger.hpp - CSVLogger: one CSV row per epoch, as Keras's.
//
// Columns: `epoch` (0-based, as Keras writes it), then the log keys sorted; when the first
// epoch's logs have no `val_` key, `val_` columns are added for every key (values "NA" when
// absent). With `append`, rows go to the end of an existing file and the header is written only
// if the file is empty. Each row is flushed as it is written; a row that cannot be written (a
// full disk) throws an io_error naming the file, the epoch and the system's reason.
#pragma once

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
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
    bool rank_zero_only() const override { return true; }
    explicit CSVLogger(std::filesystem::path filename, std::string separator = ",",
                       bool append = false)
        : path_(std::move(filename)), sep_(std::move(separator)), append_(append) {
        if (sep_.empty()) throw value_error("CSVLogger: the separator must not be empty");
    }

    void on_train_begin(const Logs&) override {
        // only a regular file has a size (appending to a pipe or a device writes the header)
        std::error_code ec;
        const bool has_content = append_ && std::filesystem::is_regular_file(path_, ec) &&
                                 std::filesystem::file_size(path_, ec) > 0 && !ec;
        write_header_ = !has_content;
        keys_.clear();
        file_.close();
        file_.clear();
        errno = 0;
        file_.open(path_, append_ ? std::ios::app : std::ios::trunc);
        if (!file_)
            throw io_error(xkeras::detail::cat("CSVLogger: cannot open '", path_.string(),
                                               "' for writing: ", reason()));
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
        errno = 0;
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
            throw io_error(xkeras::detail::cat("CSVLogger: writing epoch ", epoch, " to '",
                                               path_.string(), "' failed: ", reason()));
    }

    void on_train_end(const Logs&) override {
        if (!file_.is_open()) return;
        errno = 0;
        file_.close();
        if (file_.fail())
            throw io_error(xkeras::detail::cat("CSVLogger: closing '", path_.string(),
                                               "' failed: ", reason()));
    }

  private:
    /// The system's reason for the last stream failure (streams keep errno from the failing
    /// call: "No space left on device" on a full disk).
    static std::string reason() {
        return errno != 0 ? std::strerror(errno) : "the stream reported an error";
    }

    std::filesystem::path path_;
    std::string sep_;
    bool append_;
    bool write_header_ = true;
    std::vector<std::string> keys_;
    std::ofstream file_;
};

}  // namespace xkeras::callbacks
