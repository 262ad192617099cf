// predict_digit's picture preparation (examples/digit_image.hpp): real MNIST digits rendered
// large, on light paper, shifted, written as PNG and PGM files, read back and prepared must look
// like the originals and be classified like them.
#include <catch2/catch.hpp>

#include <stb_image_write.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "../examples/digit_image.hpp"
#include "../examples/seed_models.hpp"
#include "real_mnist.hpp"

using namespace xkeras;
namespace fs = std::filesystem;

namespace {

/// MNIST digit `img` (28x28 uint8) drawn `scale` times larger on a w x h page of grey `paper`,
/// dark ink, its top-left corner at (ox, oy).
std::vector<unsigned char> render(const xt::xarray<std::uint8_t>& img, int scale, int w, int h,
                                  int ox, int oy, int paper) {
    std::vector<unsigned char> page(std::size_t(w * h), static_cast<unsigned char>(paper));
    for (int y = 0; y < 28 * scale; ++y)
        for (int x = 0; x < 28 * scale; ++x) {
            const int v = img(y / scale, x / scale);
            const int ink = paper - v * paper / 255;  // dark where the digit is bright
            page[std::size_t((oy + y) * w + ox + x)] = static_cast<unsigned char>(ink);
        }
    return page;
}

/// predict_digit's preparation of a picture file, as the (1, 28, 28, 1) tensor a model takes.
xt::xarray<float> prepare_file(const std::filesystem::path& file) {
    const auto x = digit_image::to_mnist(digit_image::load(file.string()));
    REQUIRE(x.size() == 784);
    return xt::adapt(x, shape_t{1, 28, 28, 1});
}

/// The best correlation of two 28x28 images over shifts of up to 2 pixels (centring by the
/// centre of mass is only exact to a pixel, and thin strokes make correlation unforgiving).
double correlation(const xt::xarray<float>& a, const xt::xarray<float>& b) {
    double best = -1;
    for (int dy = -2; dy <= 2; ++dy)
        for (int dx = -2; dx <= 2; ++dx) {
            double sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0, n = 0;
            for (int y = 0; y < 28; ++y)
                for (int x = 0; x < 28; ++x) {
                    const int y2 = y + dy, x2 = x + dx;
                    const double va = a.data()[y * 28 + x];
                    const double vb =
                        (y2 < 0 || x2 < 0 || y2 >= 28 || x2 >= 28) ? 0.0 : b.data()[y2 * 28 + x2];
                    sa += va, sb += vb, sab += va * vb, saa += va * va, sbb += vb * vb, n += 1;
                }
            const double cov = sab - sa * sb / n, va = saa - sa * sa / n, vb = sbb - sb * sb / n;
            best = std::max(best, cov / std::sqrt(va * vb));
        }
    return best;
}

}  // namespace

TEST_CASE("Pictures of real MNIST digits are prepared like MNIST and classified alike",
          "[digit_image][mnist][real]") {
    const auto& [train, test] = testing::real_mnist();
    // a quick model: E2's MLP, one epoch on 10,000 images
    xt::xarray<float> x = utils::normalize_pixels(xt::view(train.images, xt::range(0, 10000)));
    x.reshape({10000, 784});
    auto y = utils::to_categorical(xt::view(train.labels, xt::range(0, 10000)), 10);
    utils::set_random_seed(9);
    Sequential model;
    seed_models::e2_mlp(model);
    model.compile("adam", "categorical_crossentropy");
    model.fit(x, y, {.batch_size = 128, .epochs = 1, .verbose = 0});
    auto classify = [&](xt::xarray<float> img) {
        img.reshape({1, 784});
        auto p = model.predict(img);
        return std::size_t(std::max_element(p.data(), p.data() + 10) - p.data());
    };

    std::string tmpl = (fs::temp_directory_path() / "xkeras-digits-XXXXXX").string();
    const fs::path dir = ::mkdtemp(tmpl.data());
    int same = 0;
    for (std::size_t i = 0; i < 6; ++i) {
        xt::xarray<std::uint8_t> digit = xt::view(test.images, i);
        xt::xarray<float> original = utils::normalize_pixels(digit);
        original.reshape({1, 28, 28, 1});
        // 6x larger on 240 x 200 grey paper, off centre; even files as PNG, odd as PGM
        const int w = 240, h = 200;
        auto page = render(digit, 6, w, h, 40 + int(i) * 5, 20 - int(i) * 3, 220);
        fs::path file = dir / ("digit" + std::to_string(i) + (i % 2 ? ".pgm" : ".png"));
        if (i % 2) {
            std::ofstream out(file, std::ios::binary);
            out << "P5\n" << w << " " << h << "\n255\n";
            out.write(reinterpret_cast<const char*>(page.data()), std::streamsize(page.size()));
        } else {
            REQUIRE(stbi_write_png(file.c_str(), w, h, 1, page.data(), w) != 0);
        }
        const auto prepared = prepare_file(file);
        INFO("test digit " << i << " (label " << int(test.labels(i)) << ")");
        CHECK(correlation(prepared, original) > 0.8);
        same += classify(prepared) == classify(original);
    }
    CHECK(same >= 5);
    // light ink on dark, as MNIST itself, is read the same way
    auto light =
        render(xt::xarray<std::uint8_t>(xt::view(test.images, 0)), 4, 150, 150, 10, 30, 220);
    for (auto& v : light) v = static_cast<unsigned char>(255 - v);
    REQUIRE(stbi_write_png((dir / "light.png").c_str(), 150, 150, 1, light.data(), 150) != 0);
    const auto prepared = prepare_file(dir / "light.png");
    xt::xarray<float> original =
        utils::normalize_pixels(xt::xarray<std::uint8_t>(xt::view(test.images, 0)));
    original.reshape({1, 28, 28, 1});
    CHECK(correlation(prepared, original) > 0.8);
    fs::remove_all(dir);
}

TEST_CASE("Unreadable and empty pictures are refused with a reason", "[digit_image]") {
    std::string tmpl = (fs::temp_directory_path() / "xkeras-digits-XXXXXX").string();
    const fs::path dir = ::mkdtemp(tmpl.data());
    std::ofstream(dir / "text.png") << "not an image";
    CHECK_THROWS_WITH(digit_image::load((dir / "text.png").string()),
                      Catch::Contains("cannot read image"));
    CHECK_THROWS_AS(digit_image::load((dir / "missing.png").string()), io_error);
    std::vector<unsigned char> blank(64 * 64, 200);
    REQUIRE(stbi_write_png((dir / "blank.png").c_str(), 64, 64, 1, blank.data(), 64) != 0);
    CHECK_THROWS_WITH(digit_image::to_mnist(digit_image::load((dir / "blank.png").string())),
                      Catch::Contains("no digit"));
    fs::remove_all(dir);
}

TEST_CASE("Pictures announcing more pixels than they hold are refused before decoding",
          "[digit_image]") {
    // found by fuzz_image: a 32-byte PGM announcing 26 x 2222222 pixels, which stb_image 2.27
    // decoded (the missing pixels left uninitialised) and to_mnist then worked on for seconds;
    // it is now over max_pixels, and a truncated PGM under it is refused all the same
    const std::string pgm("P5\n26\n2222222\n252\n4P5\n\xfe\x34\x35\xff\xff\xff\xff\x1f\x32\x32",
                          32);
    CHECK_THROWS_WITH(digit_image::load_from_memory(pgm, "short.pgm"),
                      "image 'short.pgm' is too large: 26x2222222 pixels, at most 50000000 are "
                      "accepted");
    const std::string short_pgm = "P5\n2000\n2000\n255\n" + std::string(10, '\x7f');
    CHECK_THROWS_WITH(digit_image::load_from_memory(short_pgm, "short2.pgm"),
                      "cannot read image 'short2.pgm': PNM file truncated (2000x2000 pixels need "
                      "4000000 bytes, the file has 27)");
    // a PNG whose header announces 30000 x 30000 pixels (900 MB once decoded)
    std::ifstream in(
        std::string(XKERAS_TEST_DATA_DIR) + "/../fuzz/regressions/image/png_30000x30000",
        std::ios::binary);
    const std::string png{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    REQUIRE(png.size() == 74);
    CHECK_THROWS_WITH(digit_image::load_from_memory(png, "big.png"),
                      "image 'big.png' is too large: 30000x30000 pixels, at most 50000000 are "
                      "accepted");
    // a 908-byte JPEG announcing 8192 x 8192 pixels: decoded from garbage (795 MB, seconds)
    // while 2^26 pixels were accepted
    std::ifstream jin(
        std::string(XKERAS_TEST_DATA_DIR) + "/../fuzz/regressions/image/jpeg_64M_pixels_908_bytes",
        std::ios::binary);
    const std::string jpeg{std::istreambuf_iterator<char>(jin), std::istreambuf_iterator<char>()};
    REQUIRE(jpeg.size() == 908);
    CHECK_THROWS_WITH(digit_image::load_from_memory(jpeg, "big.jpg"),
                      Catch::StartsWith("image 'big.jpg' is too large: ") &&
                          Catch::EndsWith("pixels, at most 50000000 are accepted"));
    // a directory or a device is refused by name, not read
    CHECK_THROWS_WITH(digit_image::load("/dev/zero"),
                      "image '/dev/zero' is a character device, not a regular file");
    // stb_image's short reasons come with words
    CHECK_THROWS_WITH(
        digit_image::load_from_memory(std::string("\xff\xd8\xff", 3), "cut.jpg"),
        Catch::StartsWith("cannot read image 'cut.jpg': ") && Catch::Contains("stb_image: "));
    // the same picture, complete, still reads
    const std::string ok = "P5\n2 2\n255\n" + std::string("\x01\x02\x03\x04", 4);
    CHECK(digit_image::load_from_memory(ok, "ok.pgm").pixels == std::vector<float>{1, 2, 3, 4});
}
