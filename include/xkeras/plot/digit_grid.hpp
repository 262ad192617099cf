// xkeras/plot/digit_grid.hpp - a rows x cols grid of grey images with a title over each (E2's
// 5x5 grid of test digits and their predictions, E3's 3x4 grid of training digits and classes).
//
//   xkeras::plot::digit_grid(test.images, 5, 5, "out/predictions.png",
//       {.titles = titles, .marked = wrong, .invert = true});
//
// Needs cairo (link xkeras::plot). PNG or SVG by the file's extension; written atomically.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include "../tensor.hpp"
#include "detail/canvas.hpp"

namespace xkeras::plot {

/// Titles, marks and layout of digit_grid.
struct digit_grid_options {
    /// One title per image, drawn over it (fewer titles leave the rest untitled). Defaults to none.
    std::vector<std::string> titles{};
    /// Images to mark (wrong predictions, say): their title is red and they get a red frame.
    /// Defaults to none.
    std::vector<bool> marked{};
    /// Draw 255 - pixel, a dark digit on white (E2's `imshow(255 - image)`). Defaults to false:
    /// light on black, as `imshow(x, cmap='gray')`.
    bool invert = false;
    /// Bold titles (E2's fontweight='bold'). Defaults to false.
    bool bold_titles = false;
    /// Side of each image in pixels. Defaults to 112 (4x a 28x28 digit).
    int cell = 112;
    /// A title over the whole grid. Defaults to none.
    std::string suptitle{};
};

/// Draws the first rows x cols images of `images` to `path`. `images` has shape (N, H, W) or
/// (N, H, W, 1); integer values are taken as 0-255, floating values as 0-1 (the
/// normalize_pixels scale). Throws shape_error when the shape is not one of these or there are
/// fewer than rows x cols images, value_error for a bad size or picture format.
template <class E>
void digit_grid(const E& images_expr, int rows, int cols, const std::filesystem::path& path,
                const digit_grid_options& o = {}) {
    const char* who = "digit_grid";
    using value_type = typename std::decay_t<E>::value_type;
    const auto images = xt::eval(images_expr);
    const auto& s = images.shape();
    const bool ok =
        (images.dimension() == 3 || (images.dimension() == 4 && s[3] == 1)) && s[1] > 0 && s[2] > 0;
    if (!ok)
        throw shape_error(
            xkeras::detail::cat(who, ": expected images of shape (N, H, W) or (N, H, W, 1), got ",
                                shape_str(shape_t(s.begin(), s.end()))));
    if (rows < 1 || cols < 1 || o.cell < 8)
        throw value_error(xkeras::detail::cat(who, ": expected rows, cols >= 1 and cell >= 8, got ",
                                              rows, ", ", cols, " and ", o.cell));
    const std::size_t n = std::size_t(rows) * std::size_t(cols), h = s[1], w = s[2];
    if (s[0] < n)
        throw shape_error(xkeras::detail::cat(who, ": a ", rows, "x", cols, " grid needs ", n,
                                              " images, got ", s[0]));
    const double scale = std::is_floating_point_v<value_type> ? 255.0 : 1.0;
    const int title_h = o.titles.empty() ? 6 : 24, gap = 10;
    const int top = o.suptitle.empty() ? 4 : 34;
    const int cell_w = o.cell, cell_h = int(std::lround(double(o.cell) * double(h) / double(w)));
    const int width = cols * (cell_w + gap) + gap,
              height = top + rows * (cell_h + title_h + gap) + gap / 2;
    detail::canvas page(path, width, height, who);
    cairo_t* cr = page.cr();
    if (!o.suptitle.empty())
        detail::text(cr, o.suptitle, width / 2.0, 8, 16, 0.5, 0, detail::black, true);
    // one grey image at a time, scaled with nearest-neighbour so that pixels stay pixels
    cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(w), int(h));
    const int stride = cairo_image_surface_get_stride(img);
    for (std::size_t k = 0; k < n; ++k) {
        const double cx = gap + double(k % std::size_t(cols)) * (cell_w + gap),
                     cy = top + double(k / std::size_t(cols)) * (cell_h + title_h + gap) + title_h;
        cairo_surface_flush(img);
        unsigned char* data = cairo_image_surface_get_data(img);
        const value_type* src = images.data() + k * h * w;
        for (std::size_t y = 0; y < h; ++y)
            for (std::size_t x = 0; x < w; ++x) {
                double v = std::clamp(double(src[y * w + x]) * scale, 0.0, 255.0);
                if (o.invert) v = 255.0 - v;
                const auto g = static_cast<std::uint32_t>(std::lround(v));
                reinterpret_cast<std::uint32_t*>(data + std::ptrdiff_t(y) * stride)[x] =
                    (g << 16) | (g << 8) | g;
            }
        cairo_surface_mark_dirty(img);
        cairo_save(cr);
        cairo_translate(cr, cx, cy);
        cairo_scale(cr, double(cell_w) / double(w), double(cell_h) / double(h));
        cairo_set_source_surface(cr, img, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
        cairo_rectangle(cr, 0, 0, double(w), double(h));
        cairo_fill(cr);
        cairo_restore(cr);
        const bool mark = k < o.marked.size() && o.marked[k];
        if (mark) {
            detail::set_color(cr, detail::tab_red);
            cairo_set_line_width(cr, 4);
            cairo_rectangle(cr, cx - 2, cy - 2, cell_w + 4, cell_h + 4);
            cairo_stroke(cr);
        }
        if (k < o.titles.size())
            detail::text(cr, o.titles[k], cx + cell_w / 2.0, cy - title_h + 5, 12, 0.5, 0,
                         mark ? detail::tab_red : detail::black, o.bold_titles || mark);
    }
    cairo_surface_destroy(img);
    page.save();
}

}  // namespace xkeras::plot
