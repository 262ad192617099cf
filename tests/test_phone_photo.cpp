// predict_digit and phone photos: real MNIST test digits "photographed" as a phone would take a
// digit written on paper - much larger, dark ink on light paper, off centre in a big picture,
// uneven light, a warm paper tint, sensor noise, JPEG compression - are read and prepared by
// predict_digit's code (examples/digit_image.hpp) and classified as their labels.
#include <catch2/catch.hpp>

#include <stb_image_resize.h>
#include <stb_image_write.h>

#include <cmath>
#include <random>

#include "../examples/digit_image.hpp"
#include "quick_model.hpp"
#include "temp_dir.hpp"

using namespace xkeras;

namespace {

struct photo_setup {
    int width, height;            ///< the picture
    int digit_size;               ///< side of the 28x28 digit once enlarged
    int ox, oy;                   ///< its top-left corner
    double light_from, light_to;  ///< paper brightness at the top-left and bottom-right corners
};

/// The RGB photo of MNIST test digit `i`.
std::vector<unsigned char> photograph(const xt::xarray<std::uint8_t>& digit, const photo_setup& s,
                                      std::mt19937& rng) {
    // enlarge smoothly (a pen stroke, not blocks of pixels)
    std::vector<float> src(digit.begin(), digit.end()),
        big(std::size_t(s.digit_size * s.digit_size));
    stbir_resize_float(src.data(), 28, 28, 0, big.data(), s.digit_size, s.digit_size, 0, 1);
    std::normal_distribution<double> noise(0.0, 6.0);
    std::vector<unsigned char> rgb(std::size_t(s.width * s.height * 3));
    const double diag = std::hypot(s.width, s.height);
    for (int y = 0; y < s.height; ++y)
        for (int x = 0; x < s.width; ++x) {
            // light falls off from one corner to the other, a little darker at the edges
            const double t = (x + y) / double(s.width + s.height);
            const double r = std::hypot(x - s.width / 2.0, y - s.height / 2.0) / diag;
            double paper = s.light_from + (s.light_to - s.light_from) * t - 30 * r * r;
            double ink = 0;  // 0: paper, 1: full ink
            const int dx = x - s.ox, dy = y - s.oy;
            if (dx >= 0 && dy >= 0 && dx < s.digit_size && dy < s.digit_size)
                ink = std::clamp(
                    double(big[std::size_t(dy) * std::size_t(s.digit_size) + std::size_t(dx)]) /
                        255.0,
                    0.0, 1.0);
            // blue-black ink at about a third of the paper's brightness
            const double v = paper * (1 - 0.68 * ink);
            const double px[3] = {v * 1.02, v * 0.98, v * (0.90 + 0.15 * ink)};
            for (int c = 0; c < 3; ++c)
                rgb[std::size_t((y * s.width + x) * 3 + c)] =
                    static_cast<unsigned char>(std::clamp(px[c] + noise(rng), 0.0, 255.0));
        }
    return rgb;
}

}  // namespace

TEST_CASE("predict_digit reads phone photos of real MNIST digits written on paper",
          "[digit_image][phone][mnist][real]") {
    const auto& test = testing::real_mnist().test;
    auto& model = testing::quick_cnn();
    testing::temp_dir dir("xkeras-phone");
    std::mt19937 rng(6);
    // eight pictures: sizes, positions and light change from one to the next
    const std::vector<photo_setup> setups{
        {1200, 900, 420, 180, 120, 215, 170},  {900, 1200, 380, 400, 600, 200, 160},
        {1600, 1200, 600, 700, 300, 220, 150}, {1000, 750, 300, 80, 400, 190, 205},
        {1200, 900, 500, 600, 250, 170, 220},  {800, 800, 350, 300, 60, 210, 180},
        {1280, 960, 450, 120, 420, 225, 165},  {960, 1280, 520, 200, 650, 185, 215}};
    int right = 0, same = 0;
    for (std::size_t i = 0; i < setups.size(); ++i) {
        const auto& s = setups[i];
        xt::xarray<std::uint8_t> digit = xt::view(test.images, i);
        const auto photo = photograph(digit, s, rng);
        const auto file = dir / ("photo" + std::to_string(i) + ".jpg");
        REQUIRE(stbi_write_jpg(file.c_str(), s.width, s.height, 3, photo.data(), 85) != 0);
        // predict_digit's path: read (grey), prepare as MNIST, classify
        const auto pixels = digit_image::to_mnist(digit_image::load(file.string()));
        REQUIRE(pixels.size() == 784);
        const xt::xarray<float> prepared = xt::adapt(pixels, shape_t{1, 28, 28, 1});
        xt::xarray<float> original = utils::normalize_pixels(digit);
        original.reshape({1, 28, 28, 1});
        const auto got = testing::classify(model, prepared);
        INFO("photo " << i << " of test digit " << i << " (label " << int(test.labels(i))
                      << "): classified as " << got);
        // the prepared picture is the digit, centred: no paper left in the corners
        CHECK(prepared(0, 0, 0, 0) == 0.f);
        CHECK(prepared(0, 27, 27, 0) == 0.f);
        CHECK(xt::amax(prepared)() > 0.6f);
        right += got == test.labels(i);
        same += got == testing::classify(model, original);
    }
    CHECK(right >= 7);
    CHECK(same >= 7);
}
