// examples/digit_image.hpp - reading a picture of a digit and preparing it as MNIST prepared
// its digits, for predict_digit (and its tests).
//
// Images are read with stb_image (Debian's libstb): PNG, PGM / PPM, JPEG, BMP, any size, any
// channel count (converted to grey). Preparation, after the MNIST paper's: the digit is made light
// on dark (the picture is inverted when its border is lighter than its middle, i.e. a dark digit
// on light paper), the paper's level is subtracted, the digit's bounding box is cut out and
// scaled to fit 20x20 keeping its aspect, and it is placed in a 28x28 image with its centre of
// mass at the centre; values are then / 255.
#pragma once

#include <stb_image.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <xkeras/xkeras.hpp>

namespace digit_image {

/// A grey image, values 0-255, row-major.
struct gray {
    int width = 0, height = 0;
    std::vector<float> pixels;
    float at(int x, int y) const {
        return pixels[std::size_t(y) * std::size_t(width) + std::size_t(x)];
    }
};

/// Reads an image file as grey; throws xkeras::io_error with stb's reason.
inline gray load(const std::string& path) {
    int w = 0, h = 0, channels = 0;
    unsigned char* data = stbi_load(path.c_str(), &w, &h, &channels, 1);
    if (!data)
        throw xkeras::io_error("cannot read image '" + path + "': " +
                               (stbi_failure_reason() ? stbi_failure_reason() : "unknown error"));
    gray g{w, h, std::vector<float>(data, data + std::size_t(w) * std::size_t(h))};
    stbi_image_free(data);
    if (w < 1 || h < 1) throw xkeras::io_error("image '" + path + "' is empty");
    return g;
}

/// The 28x28 MNIST-style input (values in [0, 1]); throws when the picture shows no digit.
inline xt::xarray<float> to_mnist(const gray& img) {
    // polarity and paper level from the border (the outermost row / column on each side)
    double border = 0;
    int n = 0;
    for (int x = 0; x < img.width; ++x) border += img.at(x, 0) + img.at(x, img.height - 1), n += 2;
    for (int y = 0; y < img.height; ++y) border += img.at(0, y) + img.at(img.width - 1, y), n += 2;
    border /= n;
    const bool invert = border > 127.5;
    const float paper = float(invert ? 255.0 - border : border);
    std::vector<float> v(img.pixels.size());
    float peak = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const float p = invert ? 255.f - img.pixels[i] : img.pixels[i];
        v[i] = std::max(0.f, p - paper);
        peak = std::max(peak, v[i]);
    }
    if (peak < 32.f) throw xkeras::value_error("no digit found: the picture has no contrast");
    // ink: above a quarter of the strongest stroke (ignores paper texture and noise)
    const float ink = peak * 0.25f;
    int x0 = img.width, y0 = img.height, x1 = -1, y1 = -1;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x)
            if (v[std::size_t(y) * std::size_t(img.width) + std::size_t(x)] > ink) {
                x0 = std::min(x0, x);
                x1 = std::max(x1, x);
                y0 = std::min(y0, y);
                y1 = std::max(y1, y);
            }
    const int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    std::vector<float> crop(std::size_t(bw) * std::size_t(bh));
    for (int y = 0; y < bh; ++y)
        for (int x = 0; x < bw; ++x)
            crop[std::size_t(y) * std::size_t(bw) + std::size_t(x)] = std::min(
                255.f, v[std::size_t(y + y0) * std::size_t(img.width) + std::size_t(x + x0)] *
                           255.f / peak);
    // fit into 20x20, keeping the aspect ratio
    const double scale = 20.0 / std::max(bw, bh);
    const int tw = std::max(1, int(std::lround(bw * scale))),
              th = std::max(1, int(std::lround(bh * scale)));
    std::vector<float> small(std::size_t(tw) * std::size_t(th));
    stbir_resize_float(crop.data(), bw, bh, 0, small.data(), tw, th, 0, 1);
    // centre of mass to the centre of the 28x28 image
    double mass = 0, cx = 0, cy = 0;
    for (int y = 0; y < th; ++y)
        for (int x = 0; x < tw; ++x) {
            const double m =
                std::max(0.f, small[std::size_t(y) * std::size_t(tw) + std::size_t(x)]);
            mass += m;
            cx += m * (x + 0.5);
            cy += m * (y + 0.5);
        }
    const int ox = std::clamp(int(std::lround(14.0 - cx / mass)), 0, 28 - tw);
    const int oy = std::clamp(int(std::lround(14.0 - cy / mass)), 0, 28 - th);
    xt::xarray<float> out = xt::zeros<float>({1, 28, 28, 1});
    for (int y = 0; y < th; ++y)
        for (int x = 0; x < tw; ++x)
            out(0, oy + y, ox + x, 0) =
                std::clamp(small[std::size_t(y) * std::size_t(tw) + std::size_t(x)], 0.f, 255.f) /
                255.f;
    return out;
}

}  // namespace digit_image
