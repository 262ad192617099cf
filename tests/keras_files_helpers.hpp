// Helpers of the Keras-file tests (test_keras_files.cpp, test_keras_legacy.cpp): the fixtures,
// the independent reference in Python, MNIST test images, and scratch directories.
#pragma once

#include <catch2/catch.hpp>

#include <xkeras/keras_files.hpp>
#include <xkeras/xkeras.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

using namespace xkeras;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const fs::path fixtures = XKERAS_KERAS_FILES_DIR;

/// What the Python script `script` of tests/keras_files prints for `args`, parsed.
json python(const std::string& script, const std::string& args) {
    const std::string command = "/usr/bin/python3 '" + (fixtures / script).string() + "' " + args;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    REQUIRE(pipe);
    std::string out;
    char buffer[65536];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0;)
        out.append(buffer, n);
    INFO(command);
    REQUIRE(!out.empty());
    return json::parse(out);
}

/// What reference.py predicts for `args` (the model file and its options).
json reference(const std::string& args) {
    return python("reference.py",
                  args + " --data-dir '" + datasets::mnist::default_dir().string() + "'");
}

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

/// The MNIST test images as the model takes them: `shape` per image, pixels divided by
/// `scale` (1 for models trained on raw pixels, 255 for those trained on [0, 1]).
xt::xarray<float> test_images(const shape_t& shape, float scale) {
    static const auto data = datasets::mnist::load_data();
    xt::xarray<float> x = xt::cast<float>(data.test.images) / scale;
    std::vector<std::size_t> s{x.shape()[0]};
    s.insert(s.end(), shape.begin(), shape.end());
    x.reshape(s);
    return x;
}

const xt::xarray<std::uint8_t>& test_labels() {
    static const auto data = datasets::mnist::load_data();
    return data.test.labels;
}

/// The largest difference between xkeras's predictions of the first images and the reference's.
double max_difference(const xt::xarray<float>& got, const json& expected) {
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i)
        for (std::size_t k = 0; k < expected[i].size(); ++k)
            worst = std::max(worst, std::abs(double(got(i, k)) - expected[i][k].get<double>()));
    return worst;
}

double accuracy(const xt::xarray<float>& predictions) {
    const auto& labels = test_labels();
    std::size_t right = 0;
    for (std::size_t i = 0; i < labels.size(); ++i)
        right += std::size_t(xt::argmax(xt::view(predictions, i))()) == labels(i);
    return double(right) / double(labels.size());
}

struct fixture {
    const char* file;        // under tests/keras_files/
    const char* preprocess;  // reference.py's --preprocess: raw pixels or divided by 255
    shape_t input;
    std::size_t params;
};

/// A directory of its own under the system's temporary directory, removed at the end.
struct scratch {
    fs::path path =
        fs::temp_directory_path() /
        ("xkeras_keras_files_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()));
    scratch() { fs::create_directories(path); }
    ~scratch() { fs::remove_all(path); }
};

}  // namespace
