// xkeras/plot/confusion_matrix.hpp - a confusion matrix as a picture: one cell per (true,
// predicted) pair, shaded by its share of the true class (matplotlib's "Blues"), with the count
// written in it.
//
//   auto m = xkeras::utils::confusion_matrix(test.labels, model.predict(x_test));
//   xkeras::plot::confusion_matrix(m, "out/confusion_matrix.png");
//
// Needs cairo (link xkeras::plot). PNG or SVG by the file's extension; written atomically.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "../tensor.hpp"
#include "detail/canvas.hpp"

namespace xkeras::plot {

/// Titles and layout of confusion_matrix.
struct confusion_matrix_options {
    /// Defaults to "Confusion matrix".
    std::string title = "Confusion matrix";
    std::string xlabel = "Predicted label";
    std::string ylabel = "True label";
    /// Class names along the axes; empty: 0, 1, 2, ...
    std::vector<std::string> class_names{};
    /// Side of each cell in pixels. Defaults to 56.
    int cell = 56;
};

/// Draws the square count matrix `m` ((C, C), entry (i, j): true class i predicted as j; see
/// xkeras::utils::confusion_matrix) to `path`. The title gets the accuracy (trace / total) when
/// the matrix is not empty. Throws shape_error for a matrix that is not square, value_error for
/// a wrong number of class names or picture format.
template <class E>
void confusion_matrix(const E& matrix, const std::filesystem::path& path,
                      const confusion_matrix_options& o = {}) {
    const char* who = "confusion_matrix";
    const xt::xarray<double> m = xt::cast<double>(xt::eval(matrix));
    if (m.dimension() != 2 || m.shape()[0] != m.shape()[1] || m.shape()[0] == 0)
        throw shape_error(xkeras::detail::cat(who, ": expected a square (C, C) count matrix, got ",
                                              shape_str(shape_of(m))));
    const std::size_t c = m.shape()[0];
    if (!o.class_names.empty() && o.class_names.size() != c)
        throw value_error(xkeras::detail::cat(who, ": ", c, " classes, got ", o.class_names.size(),
                                              " class names"));
    auto name = [&](std::size_t i) {
        return o.class_names.empty() ? std::to_string(i) : o.class_names[i];
    };
    const double cell = std::max(16, o.cell), left = 90, top = 54;
    const int width = int(left + cell * double(c) + 30), height = int(top + cell * double(c) + 64);
    detail::canvas page(path, width, height, who);
    cairo_t* cr = page.cr();
    double total = 0, correct = 0;
    for (std::size_t i = 0; i < c; ++i)
        for (std::size_t j = 0; j < c; ++j) total += m(i, j), correct += i == j ? m(i, j) : 0;
    std::string title = o.title;
    if (total > 0) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " (accuracy %.2f%%)", 100.0 * correct / total);
        title += buf;
    }
    detail::text(cr, title, left + cell * double(c) / 2, 12, 15, 0.5, 0, detail::black, true);
    const double fs = std::min(13.0, cell * 0.26);
    for (std::size_t i = 0; i < c; ++i) {
        double row_total = 0;
        for (std::size_t j = 0; j < c; ++j) row_total += m(i, j);
        for (std::size_t j = 0; j < c; ++j) {
            // share of the true class, from white to matplotlib's darkest "Blues" blue
            const double f = row_total > 0 ? m(i, j) / row_total : 0;
            const double s = std::sqrt(f);  // so that a few percent of errors still show
            const detail::rgb col{1 - s * (1 - 0.03), 1 - s * (1 - 0.19), 1 - s * (1 - 0.42)};
            const double x = left + cell * double(j), y = top + cell * double(i);
            detail::set_color(cr, col);
            cairo_rectangle(cr, x, y, cell, cell);
            cairo_fill(cr);
            if (m(i, j) > 0) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.0f", m(i, j));
                detail::text(cr, buf, x + cell / 2, y + cell / 2, fs, 0.5, 0.5,
                             s > 0.6 ? detail::white : detail::black);
            }
        }
        detail::text(cr, name(i), left - 8, top + cell * (double(i) + 0.5), 12, 1, 0.5);
        detail::text(cr, name(i), left + cell * (double(i) + 0.5), top + cell * double(c) + 8, 12,
                     0.5, 0);
    }
    detail::set_color(cr, detail::black);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, left + 0.5, top + 0.5, cell * double(c), cell * double(c));
    cairo_stroke(cr);
    detail::text(cr, o.xlabel, left + cell * double(c) / 2, top + cell * double(c) + 32, 13, 0.5,
                 0);
    detail::text(cr, o.ylabel, 24, top + cell * double(c) / 2, 13, 0.5, 0, detail::black, false,
                 -M_PI / 2);
    page.save();
}

}  // namespace xkeras::plot
