// The pictures (xkeras/plot/, cairo): training curves, digit grids and confusion matrices are
// valid PNG / SVG files of the expected size with the expected content at known places, and bad
// input is refused with a message naming what was expected.
#include <catch2/catch.hpp>

#include <stb_image.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <xkeras/plot.hpp>
#include <xkeras/xkeras.hpp>

#include "temp_dir.hpp"

using namespace xkeras;
namespace fs = std::filesystem;

namespace {

/// A PNG read back with stb_image: RGB pixels and size; fails the test when unreadable.
struct rgb_image {
    int width = 0, height = 0;
    std::vector<unsigned char> px;
    std::array<int, 3> at(int x, int y) const {
        const std::size_t i = (std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3;
        return {px[i], px[i + 1], px[i + 2]};
    }
};

rgb_image read_png(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[8] = {};
    in.read(magic, 8);
    REQUIRE(std::string(magic, 8) == "\x89PNG\r\n\x1a\n");
    int w = 0, h = 0, c = 0;
    unsigned char* data = stbi_load(path.c_str(), &w, &h, &c, 3);
    REQUIRE(data != nullptr);
    rgb_image img{w, h, std::vector<unsigned char>(data, data + std::size_t(w * h * 3))};
    stbi_image_free(data);
    return img;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Pixels of `img` close to colour (r, g, b).
int count_color(const rgb_image& img, int r, int g, int b, int tol = 30) {
    int n = 0;
    for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x) {
            auto p = img.at(x, y);
            n += std::abs(p[0] - r) < tol && std::abs(p[1] - g) < tol && std::abs(p[2] - b) < tol;
        }
    return n;
}

/// No temporary files left behind by the atomic writes.
bool only_files(const fs::path& dir, std::set<std::string> names) {
    std::set<std::string> seen;
    for (const auto& e : fs::directory_iterator(dir)) seen.insert(e.path().filename().string());
    return seen == names;
}

std::map<std::string, std::vector<double>> sample_history() {
    return {{"loss", {0.5, 0.2, 0.1, 0.08}},
            {"val_loss", {0.3, 0.15, 0.12, 0.11}},
            {"accuracy", {0.85, 0.94, 0.97, 0.98}},
            {"val_accuracy", {0.9, 0.95, 0.96, 0.965}}};
}

}  // namespace

TEST_CASE("training_curves draws train and validation accuracy and loss side by side", "[plot]") {
    testing::temp_dir dir;
    plot::training_curves(sample_history(), dir / "curves.png");
    auto img = read_png(dir / "curves.png");
    CHECK(img.width == 1000);
    CHECK(img.height == 450);
    // the train line (matplotlib blue) and the validation line (orange) in both panels
    auto in_half = [&](int x0, int r, int g, int b) {
        int n = 0;
        for (int y = 0; y < img.height; ++y)
            for (int x = x0; x < x0 + 500; ++x) {
                auto p = img.at(x, y);
                n += std::abs(p[0] - r) < 30 && std::abs(p[1] - g) < 30 && std::abs(p[2] - b) < 30;
            }
        return n;
    };
    CHECK(in_half(0, 31, 119, 180) > 200);
    CHECK(in_half(0, 255, 127, 14) > 200);
    CHECK(in_half(500, 31, 119, 180) > 200);
    CHECK(in_half(500, 255, 127, 14) > 200);
    CHECK(only_files(dir.path(), {"curves.png"}));

    SECTION("SVG by the extension, with the size and the titles' glyphs") {
        plot::training_curves(
            sample_history(), dir / "curves.svg",
            {.accuracy_title = "The Training Accuracy History", .width = 800, .height = 300});
        const auto svg = read_text(dir / "curves.svg");
        CHECK(svg.rfind("<?xml", 0) == 0);
        CHECK_THAT(svg, Catch::Contains("<svg") && Catch::Contains("width=\"800pt\"") &&
                            Catch::Contains("height=\"300pt\"") && Catch::Contains("</svg>"));
    }
    SECTION("a History from fit, with only a loss, gives the loss panel alone") {
        callbacks::History<float> h;
        h.history = {{"loss", {1.0, 0.5}}};
        h.epoch = {0, 1};
        plot::training_curves(h, dir / "loss.png");
        auto loss_only = read_png(dir / "loss.png");
        CHECK(loss_only.width == 1000);
        CHECK(count_color(loss_only, 31, 119, 180) > 200);
        CHECK(count_color(loss_only, 255, 127, 14) == 0);  // no validation line
    }
    SECTION("E5's reference lines") {
        plot::training_curves(sample_history(), dir / "ref.png",
                              {.accuracy_reference_lines = {1.0, 0.95, 0.9}});
        auto ref = read_png(dir / "ref.png");
        CHECK(count_color(ref, 44, 160, 44) > 50);  // the green dashed line at 1
    }
}

TEST_CASE("training_curves refuses what it cannot draw", "[plot]") {
    testing::temp_dir dir;
    CHECK_THROWS_WITH(plot::training_curves({{"accuracy", {0.5}}}, dir / "c.png"),
                      Catch::Contains("no key 'loss'") && Catch::Contains("keys: accuracy"));
    CHECK_THROWS_WITH(plot::training_curves(sample_history(), dir / "c.jpg"),
                      Catch::Contains("expected a .png or .svg file, got '.jpg'"));
    CHECK_THROWS_WITH(
        plot::training_curves(sample_history(), dir / "c.png", {.accuracy_key = "acc"}),
        Catch::Contains("no key 'acc'"));
    CHECK_THROWS_WITH(plot::training_curves(sample_history(), dir / "c.png", {.width = 0}),
                      Catch::Contains("got 0x450"));
    CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("digit_grid draws each image in its cell with its title", "[plot]") {
    testing::temp_dir dir;
    // image k is a flat grey of 20 * k, with a white square in its top-left quarter
    xt::xarray<std::uint8_t> images = xt::zeros<std::uint8_t>({12, 28, 28});
    for (std::size_t k = 0; k < 12; ++k)
        for (std::size_t y = 0; y < 28; ++y)
            for (std::size_t x = 0; x < 28; ++x)
                images(k, y, x) = std::uint8_t(y < 14 && x < 14 ? 255 : 20 * k);
    std::vector<std::string> titles;
    for (int k = 0; k < 12; ++k) titles.push_back("Class " + std::to_string(k));
    plot::digit_grid(images, 3, 4, dir / "grid.png", {.titles = titles});
    auto img = read_png(dir / "grid.png");
    // 4 cells of 112 + 5 gaps of 10 wide; 3 rows of 112 + title 24 + gap 10, plus margins
    CHECK(img.width == 4 * 112 + 5 * 10);
    CHECK(img.height == 4 + 3 * (112 + 24 + 10) + 5);
    for (int k = 0; k < 12; ++k) {
        const int cx = 10 + (k % 4) * 122, cy = 4 + (k / 4) * 146 + 24;
        INFO("cell " << k);
        CHECK(img.at(cx + 84, cy + 84)[0] == 20 * k);  // bottom-right quarter: the grey
        CHECK(img.at(cx + 28, cy + 28)[0] == 255);     // top-left quarter: the white square
    }
    // titles are dark text above the cells
    int dark = 0;
    for (int y = 4; y < 4 + 24; ++y)
        for (int x = 10; x < 122; ++x) dark += img.at(x, y)[0] < 100;
    CHECK(dark > 20);

    SECTION("inverted, floats in [0, 1], (N, H, W, 1), marked cells framed in red") {
        xt::xarray<float> f = utils::normalize_pixels(images);
        f.reshape({12, 28, 28, 1});
        std::vector<bool> marked(12, false);
        marked[5] = true;
        plot::digit_grid(f, 2, 2, dir / "inv.png", {.marked = marked, .invert = true});
        auto inv = read_png(dir / "inv.png");
        CHECK(inv.at(10 + 84, 4 + 6 + 84)[0] == 255);  // grey 0 inverted
        CHECK(inv.at(10 + 28, 4 + 6 + 28)[0] == 0);    // white square inverted
        CHECK(count_color(inv, 214, 39, 40) == 0);     // cell 5 is not in a 2x2 grid
        plot::digit_grid(f, 2, 3, dir / "marked.png", {.marked = marked});
        CHECK(count_color(read_png(dir / "marked.png"), 214, 39, 40) > 400);
    }
    SECTION("bad shapes and sizes") {
        CHECK_THROWS_WITH(
            plot::digit_grid(xt::xarray<float>(xt::zeros<float>({4, 28})), 1, 1, dir / "x.png"),
            Catch::Contains("expected images of shape (N, H, W) or (N, H, W, 1)") &&
                Catch::Contains("got (4, 28)"));
        CHECK_THROWS_WITH(plot::digit_grid(images, 5, 5, dir / "x.png"),
                          Catch::Contains("a 5x5 grid needs 25 images, got 12"));
        CHECK_THROWS_AS(plot::digit_grid(images, 0, 5, dir / "x.png"), value_error);
        CHECK_FALSE(fs::exists(dir / "x.png"));
    }
}

TEST_CASE("confusion_matrix counts true against predicted classes", "[plot][utils]") {
    std::vector<int> truth{0, 0, 1, 1, 2, 2, 2};
    std::vector<int> pred{0, 1, 1, 1, 2, 0, 2};
    auto m = utils::confusion_matrix(xt::adapt(truth), xt::adapt(pred));
    REQUIRE(shape_of(m) == shape_t{3, 3});
    CHECK((m == xt::xarray<std::size_t>{{1, 1, 0}, {0, 2, 0}, {1, 0, 2}}));
    // one-hot truth against probabilities give the same matrix
    auto onehot = utils::to_categorical(xt::adapt(truth), 3);
    xt::xarray<float> probs = utils::to_categorical(xt::adapt(pred), 3) * 0.8f + 0.05f;
    CHECK((utils::confusion_matrix(onehot, probs) == m));
    CHECK(shape_of(utils::confusion_matrix(xt::adapt(truth), xt::adapt(pred), 10)) ==
          shape_t{10, 10});
    CHECK_THROWS_WITH(utils::confusion_matrix(xt::adapt(truth), xt::adapt(pred), 2),
                      Catch::Contains("true class 2") && Catch::Contains("expected classes 0..1"));
    std::vector<int> shorter{0, 1};
    CHECK_THROWS_WITH(utils::confusion_matrix(xt::adapt(truth), xt::adapt(shorter)),
                      Catch::Contains("y_true has 7 samples and y_pred 2"));
    std::vector<double> negative{0, -1};
    CHECK_THROWS_WITH(utils::confusion_matrix(xt::adapt(negative), xt::adapt(shorter)),
                      Catch::Contains("y_true[1] is -1"));
}

TEST_CASE("plot::confusion_matrix shades each cell by its share of the true class", "[plot]") {
    testing::temp_dir dir;
    xt::xarray<std::size_t> m{{90, 10, 0}, {0, 100, 0}, {5, 0, 95}};
    plot::confusion_matrix(m, dir / "cm.png", {.class_names = {"a", "b", "c"}});
    auto img = read_png(dir / "cm.png");
    const int cell = 56, left = 90, top = 54;
    CHECK(img.width == left + 3 * cell + 30);
    CHECK(img.height == top + 3 * cell + 64);
    auto corner = [&](int i, int j) { return img.at(left + j * cell + 4, top + i * cell + 4); };
    CHECK(corner(1, 1)[0] < 20);               // 100%: darkest blue
    CHECK(corner(1, 0)[0] == 255);             // 0: white
    CHECK(corner(0, 1)[0] > corner(0, 0)[0]);  // 10% lighter than 90%
    CHECK(corner(0, 0)[2] > corner(0, 0)[0]);  // blue
    CHECK_THROWS_WITH(plot::confusion_matrix(xt::xarray<int>{{1, 2}}, dir / "x.png"),
                      Catch::Contains("square (C, C)") && Catch::Contains("got (1, 2)"));
    CHECK_THROWS_WITH(plot::confusion_matrix(m, dir / "x.png", {.class_names = {"a"}}),
                      Catch::Contains("3 classes, got 1 class names"));
}
