// to_categorical, normalize_pixels, initializers, seeds and atomic writes.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <xkeras/xkeras.hpp>

using namespace xkeras;

TEST_CASE("to_categorical one-hot encodes like Keras", "[utils]") {
    xt::xarray<std::uint8_t> labels{5, 0, 4};
    auto y = utils::to_categorical(labels, 10);
    CHECK(shape_of(y) == shape_t{3, 10});
    CHECK(y(0, 5) == 1.0f);
    CHECK((xt::sum(y)() == 3.0f));
    xt::xarray<double> column{1.0, 3.0};
    column.reshape({2, 1});
    auto inferred = utils::to_categorical(column);  // trailing 1 squeezed
    CHECK(shape_of(inferred) == shape_t{2, 4});
    CHECK_THROWS_WITH(utils::to_categorical(labels, 5),
                      Catch::Contains("label 5") && Catch::Contains("num_classes=5"));
    CHECK_THROWS_AS(utils::to_categorical(xt::xarray<double>{-1, 2}), value_error);
    CHECK_THROWS_AS(utils::to_categorical(xt::xarray<double>{0.5}), value_error);
}

TEST_CASE("normalize_pixels divides by 255 in float32", "[utils]") {
    xt::xarray<std::uint8_t> px{0, 51, 255};
    auto x = utils::normalize_pixels(px);
    CHECK((x(0) == 0.0f));
    CHECK((x(1) == 51.0f / 255.0f));
    CHECK((x(2) == 1.0f));
}

TEST_CASE("glorot_uniform stays within +-sqrt(6 / (fan_in + fan_out))", "[initializers]") {
    utils::set_random_seed(1);
    auto w = xt::xarray<float>::from_shape({300, 100});
    initializers::GlorotUniform().fill(w.data(), {300, 100});
    double limit = std::sqrt(6.0 / 400.0);
    CHECK(xt::amax(w)() <= limit);
    CHECK(xt::amin(w)() >= -limit);
    CHECK(xt::amax(w)() > 0.95 * limit);
    CHECK(std::abs(xt::mean(w)()) < 0.01);
    // conv fans: (3, 3, 1, 32) -> limit sqrt(6 / (9 + 288)) = 0.1421
    auto [fi, fo] = initializers::compute_fans({3, 3, 1, 32});
    CHECK(fi == 9.0);
    CHECK(fo == 288.0);
}

TEST_CASE("he_normal has stddev sqrt(2 / fan_in), truncated at 2 sigma", "[initializers]") {
    auto w = xt::xarray<double>::from_shape({200, 200});
    initializers::HeNormal(42).fill(w.data(), {200, 200});
    double sd = std::sqrt(xt::variance(w)());
    CHECK(sd == Approx(std::sqrt(2.0 / 200)).epsilon(0.03));
    CHECK(xt::amax(xt::abs(w))() <= 2 * std::sqrt(2.0 / 200) / 0.87962566103423978 + 1e-12);
    auto again = xt::xarray<double>::from_shape({200, 200});
    initializers::HeNormal(42).fill(again.data(), {200, 200});
    CHECK((w == again));  // a seeded initializer repeats itself
}

TEST_CASE("Initializers by name, constants and bad names", "[initializers]") {
    auto w = xt::xarray<float>::from_shape({3});
    initializers::Initializer ones = "ones";
    ones.fill(w.data(), {3});
    CHECK((w == xt::xarray<float>{1, 1, 1}));
    initializers::Constant(0.5).fill(w.data(), {3});
    CHECK((w(2) == 0.5f));
    for (const char* n : {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                          "lecun_uniform", "lecun_normal", "random_normal", "random_uniform",
                          "zeros", "ones", "orthogonal", "uniform", "normal"})
        CHECK_NOTHROW(initializers::get(n));
    CHECK_THROWS_AS(initializers::get("identity"), value_error);
    CHECK_THROWS_AS(initializers::RandomUniform(1.0, -1.0), value_error);
}

TEST_CASE("atomic_write replaces a file and leaves no temporary behind", "[utils][io]") {
    namespace fs = std::filesystem;
    std::string tmpl = (fs::temp_directory_path() / "xkeras-io-XXXXXX").string();
    fs::path dir = ::mkdtemp(tmpl.data());
    io::atomic_write(dir / "a.json", "first");
    io::atomic_write(dir / "a.json", "second");
    std::ifstream in(dir / "a.json");
    std::string s;
    std::getline(in, s);
    CHECK(s == "second");
    CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
    CHECK_THROWS_WITH(io::atomic_write(dir / "no" / "such" / "dir.json", "x"),
                      Catch::Contains("cannot create a temporary file"));
    fs::remove_all(dir);
}

TEST_CASE("set_num_threads validates its argument", "[utils][threads]") {
    int before = get_num_threads();
    CHECK(before >= 1);
    CHECK_THROWS_AS(set_num_threads(0), value_error);
    set_num_threads(1);
    CHECK(get_num_threads() == 1);
    set_num_threads(before);
}

TEST_CASE("Tensors print with << from xkeras.hpp", "[tensor]") {
    std::ostringstream out;
    out << xt::xarray<float>{{1.5f, -2.0f}, {0.25f, 4.0f}};
    CHECK(out.str().find("1.5") != std::string::npos);
    CHECK(out.str().find("0.25") != std::string::npos);
}
