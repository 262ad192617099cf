// xkeras/plot/training_curves.hpp - the accuracy and loss curves of a training run, train against
// validation per epoch, side by side (the figure every Keras tutorial draws from `history`).
//
//   auto history = model.fit(x, y, {.epochs = 10, .validation_split = 0.1});
//   xkeras::plot::training_curves(history, "out/curves.png");
//   xkeras::plot::training_curves(history, "out/curves.svg",
//       {.accuracy_title = "The Training Accuracy History", .train_label = "Train"});
//
// Needs cairo (link xkeras::plot). PNG or SVG by the file's extension; written atomically.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "../callbacks/history.hpp"
#include "detail/line_panel.hpp"

namespace xkeras::plot {

/// Titles, labels and layout of training_curves. The defaults are Keras's usual figure
/// ("model accuracy" / "model loss", legend "train" / "val", x label "epoch").
struct curves_options {
    std::string accuracy_title = "model accuracy";
    std::string loss_title = "model loss";
    std::string xlabel = "epoch";
    std::string accuracy_ylabel = "accuracy";
    std::string loss_ylabel = "loss";
    std::string train_label = "train";
    std::string validation_label = "val";
    /// The history key of the accuracy curve; empty: the first present of "accuracy", "acc",
    /// "Accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy".
    /// Without any, only the loss is drawn.
    std::string accuracy_key{};
    /// The history key of the loss curve. Defaults to "loss"; "val_" + key is the validation.
    std::string loss_key = "loss";
    /// Legend corners ("upper left", "upper right", "lower left", "lower right"). Default to
    /// E1's: lower right for accuracy, upper right for loss.
    std::string accuracy_legend_loc = "lower right";
    std::string loss_legend_loc = "upper right";
    /// Dashed horizontal lines on the accuracy panel (E5 draws 1, 0.95 and 0.9). Defaults to none.
    std::vector<double> accuracy_reference_lines{};
    /// Light grid lines at the ticks (E3's plt.grid()). Defaults to false.
    bool grid = false;
    /// A title over both panels. Defaults to none.
    std::string suptitle{};
    /// Picture size in pixels. Defaults to 1000 x 450.
    int width = 1000;
    int height = 450;
};

namespace detail {
/// The keys of `history`, comma-separated ("(none)" when empty), for error messages.
inline std::string keys(const std::map<std::string, std::vector<double>>& history) {
    std::string out;
    for (const auto& [k, v] : history) out += (out.empty() ? "" : ", ") + k;
    return out.empty() ? "(none)" : out;
}
}  // namespace detail

/// The accuracy key training_curves uses for `history` (see curves_options::accuracy_key), or
/// "" when there is none.
inline std::string find_accuracy_key(const std::map<std::string, std::vector<double>>& history,
                                     const std::string& requested = {}) {
    if (!requested.empty()) {
        if (!history.count(requested))
            throw value_error(xkeras::detail::cat("training_curves: the history has no key '",
                                                  requested, "'; keys: ", detail::keys(history)));
        return requested;
    }
    for (const char* k : {"accuracy", "acc", "Accuracy", "categorical_accuracy",
                          "sparse_categorical_accuracy", "binary_accuracy"})
        if (history.count(k)) return k;
    return {};
}

/// Draws the per-epoch `history` (key -> one value per epoch, as History::history or a
/// history.csv read back) to `path` (.png or .svg): accuracy on the left, loss on the right,
/// train and validation ("val_" + key) lines in each. Throws value_error when the loss key is
/// missing (naming the keys there are) or the picture format is unknown, io_error when the file
/// cannot be written.
inline void training_curves(const std::map<std::string, std::vector<double>>& history,
                            const std::filesystem::path& path, const curves_options& o = {}) {
    const char* who = "training_curves";
    if (!history.count(o.loss_key))
        throw value_error(xkeras::detail::cat(who, ": the history has no key '", o.loss_key,
                                              "'; keys: ", detail::keys(history)));
    const std::string acc = find_accuracy_key(history, o.accuracy_key);
    detail::canvas page(path, o.width, o.height, who);
    cairo_t* cr = page.cr();
    const double top = o.suptitle.empty() ? 0 : 30;
    if (!o.suptitle.empty())
        detail::text(cr, o.suptitle, o.width / 2.0, 8, 16, 0.5, 0, detail::black, true);
    auto lines_of = [&](const std::string& key) {
        std::vector<detail::series> s{{o.train_label, history.at(key), detail::tab_blue}};
        if (auto it = history.find("val_" + key); it != history.end())
            s.push_back({o.validation_label, it->second, detail::tab_orange});
        return s;
    };
    const double half = o.width / 2.0;
    const detail::box left{0, top, acc.empty() ? double(o.width) : half, o.height - top},
        right{acc.empty() ? 0 : half, top, acc.empty() ? double(o.width) : half, o.height - top};
    if (!acc.empty()) {
        std::vector<detail::hline> refs;
        const std::vector<detail::rgb> ref_colors{detail::tab_green, detail::tab_orange,
                                                  detail::tab_red};
        for (std::size_t i = 0; i < o.accuracy_reference_lines.size(); ++i)
            refs.push_back({o.accuracy_reference_lines[i], ref_colors[i % ref_colors.size()]});
        detail::line_panel(
            cr, left, lines_of(acc), refs,
            {o.accuracy_title, o.xlabel, o.accuracy_ylabel, o.accuracy_legend_loc, o.grid});
    }
    detail::line_panel(cr, right, lines_of(o.loss_key), {},
                       {o.loss_title, o.xlabel, o.loss_ylabel, o.loss_legend_loc, o.grid});
    page.save();
}

/// The same for the History fit returned.
template <class T>
void training_curves(const callbacks::History<T>& history, const std::filesystem::path& path,
                     const curves_options& o = {}) {
    training_curves(history.history, path, o);
}

}  // namespace xkeras::plot
