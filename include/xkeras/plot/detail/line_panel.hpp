// xkeras/plot/detail/line_panel.hpp - one matplotlib-like axes with lines, ticks, labels and a
// legend. Internal to xkeras/plot/.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "canvas.hpp"

namespace xkeras::plot::detail {

/// One line: y values at x = 1, 2, ... (epochs).
struct series {
    std::string label;
    std::vector<double> y;
    rgb color;
};

/// A dashed horizontal reference line.
struct hline {
    double y;
    rgb color;
};

struct panel_text {
    std::string title, xlabel, ylabel, legend_loc;
    bool grid = false;
};

/// Draws axes filling `area` (title and labels included) with `lines` against x = 1..n.
inline void line_panel(cairo_t* cr, box area, const std::vector<series>& lines,
                       const std::vector<hline>& hlines, const panel_text& t) {
    const double fs = 13, tick_fs = 11;
    // the plotting rectangle inside the area: room for the title, tick labels and axis labels
    const box p{area.x + 70, area.y + 34, area.w - 70 - 16, area.h - 34 - 52};
    std::size_t n = 0;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& s : lines) {
        n = std::max(n, s.y.size());
        for (double v : s.y)
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    for (const auto& h : hlines) lo = std::min(lo, h.y), hi = std::max(hi, h.y);
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
    const double pad = (hi - lo) * 0.05;  // matplotlib's 5% margins
    lo -= pad, hi += pad;
    const double x_lo = n > 1 ? 1 - (double(n) - 1) * 0.05 : 0.5,
                 x_hi = n > 1 ? double(n) + (double(n) - 1) * 0.05 : 1.5;
    auto px = [&](double x) { return p.x + (x - x_lo) / (x_hi - x_lo) * p.w; };
    auto py = [&](double y) { return p.y + p.h - (y - lo) / (hi - lo) * p.h; };

    // ticks, grid and tick labels
    cairo_set_line_width(cr, 1);
    auto yt = nice_ticks(lo, hi, 6);
    const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1;
    for (double v : yt) {
        if (v < lo || v > hi) continue;
        const double y = std::round(py(v)) + 0.5;
        if (t.grid) {
            set_color(cr, light_grey);
            cairo_move_to(cr, p.x, y);
            cairo_line_to(cr, p.x + p.w, y);
            cairo_stroke(cr);
        }
        set_color(cr, black);
        cairo_move_to(cr, p.x - 5, y);
        cairo_line_to(cr, p.x, y);
        cairo_stroke(cr);
        text(cr, tick_label(v, ystep), p.x - 8, y, tick_fs, 1, 0.5);
    }
    auto xt = nice_ticks(x_lo, x_hi, 8);
    const double xstep = std::max(1.0, xt.size() > 1 ? std::round(xt[1] - xt[0]) : 1.0);
    for (double v = std::ceil(x_lo / xstep) * xstep; v <= x_hi; v += xstep) {
        if (v < 1 && n > 1) continue;
        const double x = std::round(px(v)) + 0.5;
        if (t.grid) {
            set_color(cr, light_grey);
            cairo_move_to(cr, x, p.y);
            cairo_line_to(cr, x, p.y + p.h);
            cairo_stroke(cr);
        }
        set_color(cr, black);
        cairo_move_to(cr, x, p.y + p.h);
        cairo_line_to(cr, x, p.y + p.h + 5);
        cairo_stroke(cr);
        text(cr, tick_label(v, 1), x, p.y + p.h + 8, tick_fs, 0.5, 0);
    }

    // reference lines, then the data, clipped to the axes
    cairo_save(cr);
    cairo_rectangle(cr, p.x, p.y, p.w, p.h);
    cairo_clip(cr);
    const double dash[] = {6, 4};
    for (const auto& h : hlines) {
        set_color(cr, h.color);
        cairo_set_dash(cr, dash, 2, 0);
        cairo_move_to(cr, p.x, py(h.y));
        cairo_line_to(cr, p.x + p.w, py(h.y));
        cairo_stroke(cr);
    }
    cairo_set_dash(cr, nullptr, 0, 0);
    cairo_set_line_width(cr, 2);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (const auto& s : lines) {
        set_color(cr, s.color);
        bool pen = false;
        for (std::size_t i = 0; i < s.y.size(); ++i) {
            if (!std::isfinite(s.y[i])) {
                pen = false;
                continue;
            }
            const double x = px(double(i + 1)), y = py(s.y[i]);
            pen ? cairo_line_to(cr, x, y) : cairo_move_to(cr, x, y);
            pen = true;
        }
        cairo_stroke(cr);
        if (s.y.size() <= 20)  // markers show each epoch when there are few
            for (std::size_t i = 0; i < s.y.size(); ++i)
                if (std::isfinite(s.y[i])) {
                    cairo_arc(cr, px(double(i + 1)), py(s.y[i]), 3, 0, 2 * M_PI);
                    cairo_fill(cr);
                }
    }
    cairo_restore(cr);

    // frame, title, axis labels
    set_color(cr, black);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, std::round(p.x) + 0.5, std::round(p.y) + 0.5, std::round(p.w),
                    std::round(p.h));
    cairo_stroke(cr);
    text(cr, t.title, p.x + p.w / 2, area.y + 8, fs + 1, 0.5, 0);
    text(cr, t.xlabel, p.x + p.w / 2, p.y + p.h + 28, fs, 0.5, 0);
    text(cr, t.ylabel, area.x + 14, p.y + p.h / 2, fs, 0.5, 0, black, false, -M_PI / 2);

    // legend in the requested corner
    if (lines.empty()) return;
    double lw = 0;
    for (const auto& s : lines) lw = std::max(lw, text_width(cr, s.label, tick_fs + 1));
    const double row = 20, bw = lw + 50, bh = row * double(lines.size()) + 8;
    const bool right = t.legend_loc.find("right") != std::string::npos,
               lower = t.legend_loc.find("lower") != std::string::npos;
    const double bx = right ? p.x + p.w - bw - 8 : p.x + 8,
                 by = lower ? p.y + p.h - bh - 8 : p.y + 8;
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_fill_preserve(cr);
    set_color(cr, {0.8, 0.8, 0.8});
    cairo_stroke(cr);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const double y = by + 4 + row * (double(i) + 0.5);
        set_color(cr, lines[i].color);
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, bx + 8, y);
        cairo_line_to(cr, bx + 36, y);
        cairo_stroke(cr);
        text(cr, lines[i].label, bx + 42, y, tick_fs + 1, 0, 0.5);
    }
}

}  // namespace xkeras::plot::detail
