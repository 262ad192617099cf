// xkeras/plot/detail/canvas.hpp - a cairo drawing surface written atomically as PNG or SVG, and
// the drawing helpers the plots share (text, axes, ticks). Internal to xkeras/plot/.
//
// cairo (Debian's libcairo2-dev) encodes the files and renders the text (through fontconfig and
// FreeType, in DejaVu Sans as matplotlib does); nothing here encodes images by hand.
#pragma once

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "../../config.hpp"
#include "../../io/atomic_file.hpp"

namespace xkeras::plot::detail {

/// An RGB colour, components in [0, 1].
struct rgb {
    double r = 0, g = 0, b = 0;
};

/// matplotlib's default colour cycle (tab10) and a few named colours the seeds use.
inline constexpr rgb tab_blue{0.122, 0.467, 0.706}, tab_orange{1.0, 0.498, 0.055},
    tab_green{0.173, 0.627, 0.173}, tab_red{0.839, 0.153, 0.157}, black{0, 0, 0},
    grey{0.5, 0.5, 0.5}, light_grey{0.88, 0.88, 0.88}, white{1, 1, 1};
inline const std::vector<rgb>& color_cycle() {
    static const std::vector<rgb> c{tab_blue, tab_orange,        tab_green,
                                    tab_red,  {0.58, 0.4, 0.74}, {0.55, 0.34, 0.29}};
    return c;
}

enum class file_format { png, svg };

/// The file format named by `path`'s extension (.png or .svg, any case).
inline file_format format_of(const std::filesystem::path& path, const char* who) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".png") return file_format::png;
    if (ext == ".svg") return file_format::svg;
    throw value_error(xkeras::detail::cat(who, ": cannot tell the picture format of '",
                                          path.string(), "'; expected a .png or .svg file, got '",
                                          ext.empty() ? std::string("no extension") : ext, "'"));
}

/// A white page of `width` x `height` pixels (points for SVG); `save()` writes it atomically.
class canvas {
  public:
    canvas(std::filesystem::path path, int width, int height, const char* who)
        : path_(std::move(path)), who_(who), format_(format_of(path_, who)) {
        if (width < 1 || height < 1 || width > 20000 || height > 20000)
            throw value_error(xkeras::detail::cat(who,
                                                  ": the picture size must be 1..20000 "
                                                  "pixels a side, got ",
                                                  width, "x", height));
        surface_ =
            format_ == file_format::png
                ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height)
                : cairo_svg_surface_create_for_stream(&canvas::append, &bytes_, width, height);
        cr_ = cairo_create(surface_);
        check("cairo_create");
        cairo_set_source_rgb(cr_, 1, 1, 1);
        cairo_paint(cr_);
        cairo_select_font_face(cr_, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                               CAIRO_FONT_WEIGHT_NORMAL);
    }
    canvas(const canvas&) = delete;
    canvas& operator=(const canvas&) = delete;
    ~canvas() {
        cairo_destroy(cr_);
        cairo_surface_destroy(surface_);
    }

    cairo_t* cr() const { return cr_; }

    /// Encodes the picture and replaces the file atomically (xkeras::io::atomic_write).
    void save() {
        check("drawing");
        if (format_ == file_format::png) {
            cairo_surface_flush(surface_);
            if (cairo_surface_write_to_png_stream(surface_, &canvas::append, &bytes_) !=
                CAIRO_STATUS_SUCCESS)
                throw io_error(xkeras::detail::cat(who_, ": cairo could not encode '",
                                                   path_.string(), "' as PNG"));
        } else {
            cairo_surface_finish(surface_);
            if (cairo_surface_status(surface_) != CAIRO_STATUS_SUCCESS)
                throw io_error(xkeras::detail::cat(
                    who_, ": cairo could not encode '", path_.string(),
                    "' as SVG: ", cairo_status_to_string(cairo_surface_status(surface_))));
        }
        if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
        io::atomic_write(path_, bytes_);
    }

  private:
    static cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
        static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
        return CAIRO_STATUS_SUCCESS;
    }
    void check(const char* what) const {
        if (cairo_status(cr_) != CAIRO_STATUS_SUCCESS)
            throw error(xkeras::detail::cat(who_, ": cairo failed in ", what, " for '",
                                            path_.string(),
                                            "': ", cairo_status_to_string(cairo_status(cr_))));
    }

    std::filesystem::path path_;
    const char* who_;
    file_format format_;
    std::string bytes_;
    cairo_surface_t* surface_ = nullptr;
    cairo_t* cr_ = nullptr;
};

inline void set_color(cairo_t* cr, rgb c) {
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

/// A rectangle in page coordinates.
struct box {
    double x = 0, y = 0, w = 0, h = 0;
};

/// Selects DejaVu Sans at `size` (bold or not) and measures `s` in it.
inline cairo_text_extents_t measure(cairo_t* cr, const std::string& s, double size, bool bold) {
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t te;
    cairo_text_extents(cr, s.c_str(), &te);
    return te;
}

/// Draws `s` with its anchor point at (x, y): `ax` 0 / 0.5 / 1 aligns its left / centre / right
/// there, `ay` 0 / 0.5 / 1 its top / middle / baseline-ish bottom. `angle` in radians.
inline void text(cairo_t* cr, const std::string& s, double x, double y, double size, double ax,
                 double ay, rgb color = black, bool bold = false, double angle = 0) {
    cairo_save(cr);
    const auto te = measure(cr, s, size, bold);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, angle);
    // vertical placement from the font size, not the ink, so that labels line up
    const double height = size * 0.72;
    cairo_move_to(cr, -te.x_advance * ax, height * (1 - ay));
    set_color(cr, color);
    cairo_show_text(cr, s.c_str());
    cairo_restore(cr);
}

/// The width `s` takes at `size`.
inline double text_width(cairo_t* cr, const std::string& s, double size, bool bold = false) {
    cairo_save(cr);
    const auto te = measure(cr, s, size, bold);
    cairo_restore(cr);
    return te.x_advance;
}

/// About `target` round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 times a power of
/// ten), as matplotlib's MaxNLocator chooses them.
inline std::vector<double> nice_ticks(double lo, double hi, int target = 6) {
    if (!(hi > lo)) hi = lo + 1;
    const double raw = (hi - lo) / std::max(1, target);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    std::vector<double> t;
    for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
        t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    return t;
}

/// A tick label with as many decimals as the step needs.
inline std::string tick_label(double v, double step) {
    int decimals = 0;
    while (decimals < 6 && std::abs(step * std::pow(10.0, decimals) -
                                    std::round(step * std::pow(10.0, decimals))) > 1e-6)
        ++decimals;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

}  // namespace xkeras::plot::detail
