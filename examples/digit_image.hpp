// examples/digit_image.hpp - reading a picture of a digit and preparing it as MNIST prepared
// its digits, for predict_digit (and its tests).
//
// Images are read with stb_image (Debian's libstb): PNG, PGM / PPM, JPEG, BMP, any size, any
// channel count (converted to grey). Preparation, after the MNIST paper's: the digit is made light
// on dark (a dark digit on light paper, told by a border lighter than the middle, is inverted),
// the paper's level around each pixel is taken away (so that a phone photo's uneven light is not
// ink; dark ink is measured against the paper's brightness there), the digit's bounding box is
// cut out and scaled to fit 20x20 keeping its aspect, and it is placed in a 28x28 image with its
// centre of mass at the centre; values are then / 255. Only the standard library, stb and
// xkeras's file reading: predict_digit builds on the inference-only include with it.
#pragma once

#include <stb_image.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <xkeras/config.hpp>
#include <xkeras/io/read_file.hpp>

namespace digit_image {

/// A grey image, values 0-255, row-major.
struct gray {
    int width = 0, height = 0;
    std::vector<float> pixels;
    float at(int x, int y) const {
        return pixels[std::size_t(y) * std::size_t(width) + std::size_t(x)];
    }
};

/// The largest picture accepted: 50 megapixels (a 48-megapixel phone photo fits). Larger ones
/// are refused from their header, before decoding: a header can announce up to 2^24 x 2^24
/// pixels in a few bytes, and the decoder would allocate and fill them from whatever follows.
inline constexpr std::size_t max_pixels = 50'000'000;

/// The largest image file read: 256 MiB, far more than a 50-megapixel photo takes.
inline constexpr std::size_t max_file_bytes = std::size_t(256) << 20;

/// stb_image's reason for refusing an image, in words where it is one of its common short codes
/// ("outofdata"), else the code itself.
inline std::string reason() {
    const char* code = stbi_failure_reason();
    if (!code) return "unknown error";
    static const std::pair<const char*, const char*> words[] = {
        {"outofdata", "the data ends before the picture does"},
        {"unknown image type", "not a PNG, JPEG, BMP, GIF, PGM or PPM picture"},
        {"no SOI", "not a JPEG picture (no start-of-image marker)"},
        {"no SOF", "the JPEG picture has no frame header"},
        {"bad png sig", "not a PNG picture (bad signature)"},
        {"no IDAT", "the PNG picture has no image data"},
        {"zlib corrupt", "the PNG picture's compressed data is damaged"},
        {"bad zlib header", "the PNG picture's compressed data is damaged"},
        {"too large", "its header announces too large a picture"},
        {"outofmem", "out of memory"},
    };
    for (const auto& [c, w] : words)
        if (std::string(code) == c) return std::string(w) + " (stb_image: " + code + ")";
    return std::string("stb_image: ") + code;
}

/// Decodes an image held in memory as grey; `name` names it in messages. Throws
/// xkeras::io_error with stb's reason, or for a picture larger than max_pixels.
inline gray load_from_memory(const std::string& bytes, const std::string& name) {
    if (bytes.size() > std::size_t(INT_MAX))
        throw xkeras::io_error("image '" + name +
                               "' is too large: " + std::to_string(bytes.size()) + " bytes");
    const auto* buf = reinterpret_cast<const stbi_uc*>(bytes.data());
    const int len = int(bytes.size());
    int w = 0, h = 0, channels = 0;
    if (!stbi_info_from_memory(buf, len, &w, &h, &channels))
        throw xkeras::io_error("cannot read image '" + name + "': " + reason());
    if (w < 1 || h < 1) throw xkeras::io_error("image '" + name + "' is empty");
    if (std::size_t(w) * std::size_t(h) > max_pixels)
        throw xkeras::io_error("image '" + name + "' is too large: " + std::to_string(w) + "x" +
                               std::to_string(h) + " pixels, at most " +
                               std::to_string(max_pixels) + " are accepted");
    // stb_image 2.27 (Debian 12) decodes a binary PGM / PPM shorter than its header announces
    // without a word, leaving the missing pixels uninitialised (fixed in stb 2.28): refuse it
    if (bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6')) {
        const std::size_t depth = stbi_is_16_bit_from_memory(buf, len) ? 2 : 1;
        const std::size_t need = std::size_t(w) * std::size_t(h) * std::size_t(channels) * depth;
        if (need > bytes.size())
            throw xkeras::io_error("cannot read image '" + name + "': PNM file truncated (" +
                                   std::to_string(w) + "x" + std::to_string(h) + " pixels need " +
                                   std::to_string(need) + " bytes, the file has " +
                                   std::to_string(bytes.size()) + ")");
    }
    unsigned char* data = stbi_load_from_memory(buf, len, &w, &h, &channels, 1);
    if (!data) throw xkeras::io_error("cannot read image '" + name + "': " + reason());
    gray g{w, h, std::vector<float>(data, data + std::size_t(w) * std::size_t(h))};
    stbi_image_free(data);
    if (w < 1 || h < 1) throw xkeras::io_error("image '" + name + "' is empty");
    return g;
}

/// Reads an image file as grey (load_from_memory): a regular file of at most max_file_bytes
/// (xkeras::io::regular_file); throws xkeras::io_error with the reason.
inline gray load(const std::string& path) {
    return load_from_memory(xkeras::io::read_regular_file(path, "image", max_file_bytes), path);
}

/// The paper's level at every pixel of `img`: the picture cut into blocks a quarter of its
/// shorter side wide, each block's level the 90% quantile of its values (dark ink) or the 10%
/// one (light ink on dark), interpolated smoothly between the blocks (stb_image_resize). The ink
/// takes less than a tenth of most blocks, so their quantile is the paper's, lit as it is there.
inline std::vector<float> paper_level(const gray& img, bool dark_ink) {
    const int side = std::max(8, std::min(img.width, img.height) / 4);
    const int bx = (img.width + side - 1) / side, by = (img.height + side - 1) / side;
    std::vector<float> levels(std::size_t(bx) * std::size_t(by)), block;
    for (int j = 0; j < by; ++j)
        for (int i = 0; i < bx; ++i) {
            block.clear();
            for (int y = j * side; y < std::min(img.height, (j + 1) * side); ++y)
                for (int x = i * side; x < std::min(img.width, (i + 1) * side); ++x)
                    block.push_back(img.at(x, y));
            auto q =
                block.begin() + std::ptrdiff_t(double(block.size() - 1) * (dark_ink ? 0.9 : 0.1));
            std::nth_element(block.begin(), q, block.end());
            levels[std::size_t(j) * std::size_t(bx) + std::size_t(i)] = *q;
        }
    std::vector<float> out(img.pixels.size());
    stbir_resize_float(levels.data(), bx, by, 0, out.data(), img.width, img.height, 0, 1);
    return out;
}

/// The side of MNIST's pictures: to_mnist gives side x side values.
inline constexpr int side = 28;

/// The 28x28 MNIST-style input, row-major, values in [0, 1] (a model's (28, 28, 1) or (784)
/// sample); throws xkeras::value_error when the picture shows no digit.
inline std::vector<float> to_mnist(const gray& img) {
    // polarity from the border (the outermost row / column on each side)
    double border = 0;
    int n = 0;
    for (int x = 0; x < img.width; ++x) border += img.at(x, 0) + img.at(x, img.height - 1), n += 2;
    for (int y = 0; y < img.height; ++y) border += img.at(0, y) + img.at(img.width - 1, y), n += 2;
    border /= n;
    const bool dark_ink = border > 127.5;
    // the paper's level around each pixel, so that uneven light (a phone photo) is not ink
    const auto paper = paper_level(img, dark_ink);
    std::vector<float> v(img.pixels.size());
    float peak = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const float p = img.pixels[i], bg = paper[i];
        // dark ink: how much of the light the ink takes away, on the 0-255 scale
        v[i] =
            dark_ink ? std::max(0.f, (bg - p) / std::max(bg, 1.f) * 255.f) : std::max(0.f, p - bg);
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
    const int ox = std::clamp(int(std::lround(side / 2.0 - cx / mass)), 0, side - tw);
    const int oy = std::clamp(int(std::lround(side / 2.0 - cy / mass)), 0, side - th);
    std::vector<float> out(std::size_t(side) * side, 0.f);
    for (int y = 0; y < th; ++y)
        for (int x = 0; x < tw; ++x)
            out[std::size_t(oy + y) * side + std::size_t(ox + x)] =
                std::clamp(small[std::size_t(y) * std::size_t(tw) + std::size_t(x)], 0.f, 255.f) /
                255.f;
    return out;
}

}  // namespace digit_image
