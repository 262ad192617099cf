// utils::plot_model / model_to_dot: the DOT text has one box per layer, with its name, class and
// shapes, edges in order; the image is rendered by Graphviz's dot when it is installed, and
// without it the DOT file is still written and the result says why there is no image.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <fstream>
#include <regex>
#include <sstream>

#include <xkeras/xkeras.hpp>

#include "../examples/seed_models.hpp"
#include "temp_dir.hpp"

using namespace xkeras;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + 1)) ++n;
    return n;
}

/// Sets PATH for the scope (to hide or show Graphviz).
class path_env {
  public:
    explicit path_env(const std::string& value)
        : old_(std::getenv("PATH") ? std::getenv("PATH") : "") {
        ::setenv("PATH", value.c_str(), 1);
    }
    ~path_env() { ::setenv("PATH", old_.c_str(), 1); }

  private:
    std::string old_;
};

}  // namespace

TEST_CASE("model_to_dot names every layer with its class and output shape", "[plot_model]") {
    backend::clear_session();
    Sequential model;
    seed_models::e1_cnn(model);
    const auto dot = utils::model_to_dot(model, {.show_shapes = true, .show_layer_names = true});
    CHECK(dot.rfind("digraph", 0) == 0);
    CHECK_THAT(dot, Catch::Contains("rankdir=TB") && Catch::Contains("dpi=200"));
    const auto layers = model.layers();
    REQUIRE(layers.size() == 10);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        INFO(layers[i]->name());
        const std::string node = "layer_" + std::to_string(i) + " [label=";
        const auto at = dot.find(node);
        REQUIRE(at != std::string::npos);
        const auto line = dot.substr(at, dot.find('\n', at) - at);
        CHECK_THAT(line, Catch::Contains("<b>" + layers[i]->name() + "</b> (" +
                                         layers[i]->class_name() + ")"));
        CHECK_THAT(line,
                   Catch::Contains("Output shape: " + shape_str(layers[i]->output_shape(), true)));
    }
    CHECK_THAT(dot, Catch::Contains("Input shape: (None, 28, 28, 1)"));
    CHECK_THAT(dot, Catch::Contains("Output shape: (None, 3, 3, 128)"));
    CHECK_THAT(dot, Catch::Contains("Output shape: (None, 10)"));
    CHECK(count(dot, "->") == 9);
    CHECK_THAT(dot, Catch::Contains("layer_8 -> layer_9;"));

    SECTION("Keras 3's defaults: the class names only") {
        const auto plain = utils::model_to_dot(model);
        CHECK(count(plain, "Output shape") == 0);
        CHECK(count(plain, "<b>Conv2D</b>") == 3);
        CHECK(count(plain, "conv2d") == 0);
    }
    SECTION("activations, dtype, trainable and left-to-right") {
        layers[0]->trainable = false;
        const auto more = utils::model_to_dot(model, {.show_dtype = true,
                                                      .rankdir = "LR",
                                                      .dpi = 96,
                                                      .show_layer_activations = true,
                                                      .show_trainable = true});
        CHECK_THAT(more, Catch::Contains("rankdir=LR") && Catch::Contains("dpi=96"));
        CHECK(count(more, "Activation: relu") == 4);
        CHECK(count(more, "Activation: softmax") == 1);
        CHECK(count(more, "dtype: float32") == 10);
        CHECK(count(more, "Trainable: False") == 1);
        CHECK(count(more, "Trainable: True") == 9);
    }
}

TEST_CASE("model_to_dot escapes names and refuses bad options", "[plot_model]") {
    Sequential model;
    model.add(layers::Dense(4, {.input_shape = {3}, .name = "a<b>&\"c\""}));
    const auto dot = utils::model_to_dot(model, {.show_layer_names = true});
    CHECK_THAT(dot, Catch::Contains("a&lt;b&gt;&amp;&quot;c&quot;"));
    CHECK_THROWS_WITH(utils::model_to_dot(model, {.rankdir = "BT"}),
                      Catch::Contains("rankdir must be 'TB' or 'LR', got 'BT'"));
    CHECK_THROWS_WITH(utils::model_to_dot(model, {.dpi = 0}),
                      Catch::Contains("dpi must be 1..2400, got 0"));
    Sequential unbuilt;
    unbuilt.add(layers::Dense(4));
    CHECK_THROWS_AS(utils::model_to_dot(unbuilt, {.show_shapes = true}), state_error);
    CHECK_NOTHROW(utils::model_to_dot(unbuilt));
}

TEST_CASE("plot_model writes the DOT file and renders it with Graphviz when installed",
          "[plot_model]") {
    testing::temp_dir dir;
    Sequential model;
    seed_models::e5_mlp(model);

    SECTION("without Graphviz: the DOT file, and a note saying why there is no image") {
        path_env hide(dir.path().string());
        const auto r = utils::plot_model(model, dir / "sub" / "model.png", {.show_shapes = true});
        CHECK(r.dot_file == dir / "sub" / "model.dot");
        CHECK_FALSE(r.image);
        CHECK_THAT(r.note,
                   Catch::Contains("'dot' is not on PATH") && Catch::Contains("install graphviz"));
        CHECK(read_file(r.dot_file) == utils::model_to_dot(model, {.show_shapes = true}));
        CHECK_FALSE(fs::exists(dir / "sub" / "model.png"));
    }
    SECTION("a .dot target writes the text only") {
        const auto r = utils::plot_model(model, dir / "m.dot");
        CHECK(r.dot_file == dir / "m.dot");
        CHECK_FALSE(r.image);
        CHECK(r.note.empty());
        CHECK_THAT(read_file(dir / "m.dot"), Catch::StartsWith("digraph"));
    }
    SECTION("an unknown extension is refused") {
        CHECK_THROWS_WITH(utils::plot_model(model, dir / "model.bmp"),
                          Catch::Contains("expected .png, .svg, .pdf, .jpg or .dot, got '.bmp'"));
        CHECK(fs::is_empty(dir.path()));
    }
    SECTION("with Graphviz: a PNG (skipped when dot is not installed)") {
        if (!xkeras::detail::find_program("dot")) {
            WARN("Graphviz's dot is not installed: the PNG rendering is not tested");
            return;
        }
        const auto r = utils::plot_model(model, dir / "model.png",
                                         {.show_shapes = true, .show_layer_names = true});
        REQUIRE(r.image);
        const auto png = read_file(*r.image);
        REQUIRE(png.size() > 1000);
        CHECK(png.substr(0, 8) == "\x89PNG\r\n\x1a\n");
        // a tall picture: 13 boxes top to bottom (PNG IHDR: width and height, big-endian)
        auto be32 = [&](std::size_t at) {
            return (std::uint32_t(std::uint8_t(png[at])) << 24) |
                   (std::uint32_t(std::uint8_t(png[at + 1])) << 16) |
                   (std::uint32_t(std::uint8_t(png[at + 2])) << 8) | std::uint8_t(png[at + 3]);
        };
        CHECK(be32(20) > 3 * be32(16));
        const auto svg = utils::plot_model(model, dir / "model.svg", {.show_shapes = true});
        REQUIRE(svg.image);
        const auto text = read_file(*svg.image);
        CHECK_THAT(text, Catch::Contains("<svg") && Catch::Contains("Output shape: (None, 64)"));
        std::set<std::string> names;
        for (const auto& e : fs::directory_iterator(dir.path()))
            names.insert(e.path().filename().string());
        CHECK(names == std::set<std::string>{"model.dot", "model.png", "model.svg"});
    }
}
