// xkeras/utils/summary.hpp - Keras 3's model summary table (model.summary()).
//
//   Model: "sequential"
//   ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
//   ┃ Layer (type)              ┃ Output Shape           ┃       Param # ┃
//   ...
//    Total params: 535,818 (2.04 MB)
//
// The columns take 45%, 35% and 20% of the inner width, rounded up, as Keras's (rich) table, and
// a cell too long for its column wraps onto more lines as rich wraps it:
//
//   │ batch_normalization_12          │ (None, 26, 26, 32)     │           128 │
//   │ (BatchNormalization)            │                        │               │
#pragma once

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "../detail/format.hpp"
#include "../tensor.hpp"

namespace xkeras::utils {

/// Keras's default width: min(88, terminal columns - 4) on a terminal, 76 otherwise.
inline int default_summary_width() {
    winsize ws{};
    if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return std::min(88, int(ws.ws_col) - 4);
    return 76;
}

/// `text` in lines of at most `width` columns, as rich wraps a table cell: greedily at spaces,
/// and a word longer than the width folded into pieces of the width (never inside a UTF-8
/// character). One line at least.
inline std::vector<std::string> wrap_cell(const std::string& text, std::size_t width) {
    width = std::max<std::size_t>(width, 1);
    std::vector<std::string> lines;
    std::string line;
    std::size_t line_width = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == ' ') {
            ++i;
            continue;
        }
        const std::size_t end = std::min(text.find(' ', i), text.size());
        const std::string word = text.substr(i, end - i);
        const std::size_t w = detail::display_width(word);
        i = end;
        if (line_width > 0 && line_width + 1 + w <= width) {
            line += ' ' + word;
            line_width += 1 + w;
            continue;
        }
        if (line_width > 0) lines.push_back(std::move(line));
        line.clear();
        line_width = 0;
        for (std::size_t b = 0; b < word.size(); ++b) {  // fold: the last piece stays open
            const bool starts_char = (static_cast<unsigned char>(word[b]) & 0xC0) != 0x80;
            if (starts_char && line_width == width) {
                lines.push_back(std::move(line));
                line.clear();
                line_width = 0;
            }
            line += word[b];
            line_width += starts_char;
        }
    }
    lines.push_back(std::move(line));
    return lines;
}

/// The summary table of `model` (a basic_sequential) as text; `line_length` <= 0 takes
/// default_summary_width().
template <class Model>
std::string summary_string(const Model& model, int line_length = -1) {
    const int L = std::max(line_length > 0 ? line_length : default_summary_width(), 40);
    const int inner = L - 4;
    const int w1 = int(std::ceil(0.45 * inner)), w3 = int(std::ceil(0.20 * inner));
    const int w2 = inner - w1 - w3;
    auto rep = [](const char* s, int n) {
        std::string out;
        for (int i = 0; i < n; ++i) out += s;
        return out;
    };
    auto cell = [](const std::string& text, int w, bool right) {
        const auto pad = std::size_t(std::max(0, w - 2 - int(detail::display_width(text))));
        std::string out(" ");
        if (right) out.append(pad, ' ');
        out += text;
        if (!right) out.append(pad, ' ');
        return out + ' ';
    };
    auto rule = [&](const char* l, const char* line, const char* mid, const char* r) {
        return l + rep(line, w1) + mid + rep(line, w2) + mid + rep(line, w3) + r + "\n";
    };
    std::ostringstream os;
    os << "Model: \"" << model.name() << "\"\n";
    os << rule("┏", "━", "┳", "┓");
    os << "┃" << cell("Layer (type)", w1, false) << "┃" << cell("Output Shape", w2, false) << "┃"
       << cell("Param #", w3, true) << "┃\n";
    os << rule("┡", "━", "╇", "┩");
    std::size_t trainable = 0, non_trainable = 0;
    const auto layers = model.layers();
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const auto& l = *layers[i];
        const std::string shape = l.built() ? shape_str(l.output_shape(), true) : "?";
        const std::string count = l.built() ? detail::thousands(l.count_params()) : "0 (unbuilt)";
        for (const auto* p : l.params())
            (l.trains(*p) ? trainable : non_trainable) += p->value.size();
        const auto name = wrap_cell(l.name() + " (" + l.class_name() + ")", std::size_t(w1 - 2));
        const auto shapes = wrap_cell(shape, std::size_t(w2 - 2));
        const auto counts = wrap_cell(count, std::size_t(w3 - 2));
        const std::size_t rows = std::max({name.size(), shapes.size(), counts.size()});
        auto at = [](const std::vector<std::string>& v, std::size_t k) {
            return k < v.size() ? v[k] : std::string();
        };
        for (std::size_t k = 0; k < rows; ++k)
            os << "│" << cell(at(name, k), w1, false) << "│" << cell(at(shapes, k), w2, false)
               << "│" << cell(at(counts, k), w3, true) << "│\n";
        if (i + 1 < layers.size()) os << rule("├", "─", "┼", "┤");
    }
    os << rule("└", "─", "┴", "┘");
    const double b = double(sizeof(typename Model::value_type));
    std::size_t opt_vars = 0;
    if (model.compiled() && model.optimizer().iterations() > 0)
        opt_vars = model.optimizer().count_variables();
    const std::size_t total = trainable + non_trainable + opt_vars;
    // Optimizer variables: `iterations` is an int64 (8 bytes), the rest are of the model's type.
    const double opt_bytes = opt_vars ? 8.0 + b * double(opt_vars - 1) : 0.0;
    auto line = [&](const char* what, std::size_t count, double bytes) {
        os << " " << what << ": " << detail::thousands(count) << " ("
           << detail::readable_memory_size(bytes) << ")\n";
    };
    line("Total params", total, b * double(trainable + non_trainable) + opt_bytes);
    line("Trainable params", trainable, b * double(trainable));
    line("Non-trainable params", non_trainable, b * double(non_trainable));
    if (opt_vars) line("Optimizer params", opt_vars, opt_bytes);
    return os.str();
}

/// Prints summary_string(model, line_length) to `os`.
template <class Model>
void print_summary(const Model& model, std::ostream& os = std::cout, int line_length = -1) {
    os << summary_string(model, line_length);
}

}  // namespace xkeras::utils
