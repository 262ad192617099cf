// Helpers of the Keras-file tests (test_keras_files.cpp, test_keras_legacy.cpp): the fixtures,
// the independent reference in Python, MNIST test images, and scratch directories.
#pragma once

#include <catch2/catch.hpp>

#include <xkeras/keras_files.hpp>
#include <xkeras/xkeras.hpp>

#include "whole_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

using namespace xkeras;
namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::read_bytes;
using testing::write_bytes;

namespace {

const fs::path fixtures = XKERAS_KERAS_FILES_DIR;

/// What the Python script `script` of tests/keras_files prints for `args`, parsed.
inline json python(const std::string& script, const std::string& args) {
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
inline json reference(const std::string& args) {
    return python("reference.py",
                  args + " --data-dir '" + datasets::mnist::default_dir().string() + "'");
}

/// The MNIST test images as the model takes them: `shape` per image, pixels divided by
/// `scale` (1 for models trained on raw pixels, 255 for those trained on [0, 1]).
inline xt::xarray<float> test_images(const shape_t& shape, float scale) {
    static const auto data = datasets::mnist::load_data();
    xt::xarray<float> x = xt::cast<float>(data.test.images) / scale;
    std::vector<std::size_t> s{x.shape()[0]};
    s.insert(s.end(), shape.begin(), shape.end());
    x.reshape(s);
    return x;
}

inline const xt::xarray<std::uint8_t>& test_labels() {
    static const auto data = datasets::mnist::load_data();
    return data.test.labels;
}

/// The largest difference between xkeras's predictions of the first images and the reference's.
inline double max_difference(const xt::xarray<float>& got, const json& expected) {
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i)
        for (std::size_t k = 0; k < expected[i].size(); ++k)
            worst = std::max(worst, std::abs(double(got(i, k)) - expected[i][k].get<double>()));
    return worst;
}

inline double accuracy(const xt::xarray<float>& predictions) {
    const auto& labels = test_labels();
    std::size_t right = 0;
    for (std::size_t i = 0; i < labels.size(); ++i)
        right += std::size_t(xt::argmax(xt::view(predictions, i))()) == labels(i);
    return double(right) / double(labels.size());
}

/// Checks that `a` and `b` hold the same weights, bit for bit.
inline void check_same_weights(const Sequential& a, const Sequential& b) {
    const auto wa = a.get_weights(), wb = b.get_weights();
    REQUIRE(wa.size() == wb.size());
    for (std::size_t i = 0; i < wa.size(); ++i) CHECK((wa[i] == wb[i]));
}

struct fixture {
    const char* file;        // under tests/keras_files/
    const char* preprocess;  // reference.py's --preprocess: raw pixels or divided by 255
    shape_t input;
    std::size_t params;
};

/// `m`, already saved as `<stem>.keras` in `dir`, saved as `<stem>.h5` too: each file loads back
/// with m's config, weights and predictions on x, bit for bit.
inline void check_keras_and_h5_round_trip(Sequential& m, const fs::path& dir,
                                          const std::string& stem, const xt::xarray<float>& x) {
    m.save(dir / (stem + ".h5"));
    for (const std::string ext : {".keras", ".h5"}) {
        INFO(stem + ext);
        auto loaded = load_model(dir / (stem + ext));
        CHECK(loaded.to_json() == m.to_json());
        check_same_weights(loaded, m);
        const xt::xarray<float> a = m.predict(x), b = loaded.predict(x);
        CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    }
}

/// A directory of its own under the system's temporary directory, removed at the end.
struct scratch {
    fs::path path =
        fs::temp_directory_path() /
        ("xkeras_keras_files_" + std::to_string(::getpid()) + "_" + std::to_string(std::rand()));
    scratch() { fs::create_directories(path); }
    ~scratch() { fs::remove_all(path); }
};

/// Loads `good` cut short at four places (each must give io_error) and with a byte flipped at
/// 98 places spread over it (each an io_error or, where the byte is not read, a model; never a
/// crash), through the file `bad`; says how many flipped files were refused.
inline std::size_t check_damaged_files(const std::string& good, const fs::path& bad,
                                       std::size_t shortest) {
    for (std::size_t len : {shortest, std::size_t(100), good.size() / 2, good.size() - 1}) {
        INFO("truncated to " << len);
        write_bytes(bad, good.substr(0, len));
        CHECK_THROWS_AS(load_model(bad), io_error);
    }
    std::size_t refused = 0, loaded = 0;
    for (std::size_t at = 0; at < good.size(); at += good.size() / 97) {
        std::string flipped = good;
        flipped[at] = char(flipped[at] ^ 0x5a);
        write_bytes(bad, flipped);
        try {
            (void)load_model(bad);
            ++loaded;
        } catch (const io_error&) {
            ++refused;
        }
    }
    WARN(bad.filename().string() << ": " << refused << " flipped files refused, " << loaded
                                 << " loaded");
    return refused;
}

/// The small CNN the save tests train (Conv2D, MaxPooling2D, Flatten, BatchNormalization,
/// Dense), seeded, compiled with `optimizer`.
inline Sequential small_cnn(unsigned seed, optimizer_arg<float> optimizer) {
    utils::set_random_seed(seed);
    Sequential m;
    m.add(Input({28, 28, 1}));
    m.add(layers::Conv2D(4, {3, 3}, {.activation = "relu"}));
    m.add(layers::MaxPooling2D({2, 2}));
    m.add(layers::Flatten());
    m.add(layers::BatchNormalization());
    m.add(layers::Dense(10, "softmax"));
    m.compile(std::move(optimizer), "sparse_categorical_crossentropy", {"accuracy"});
    return m;
}

/// Trains `make()` for 4 epochs at once, and for 2, saved to `file`, loaded, 2 more (no
/// shuffling: Keras files keep no stream): the loaded model's weights and optimizer state equal
/// the saved one's, and the resumed run ends where the uninterrupted one does, bit for bit.
/// Returns the model that was saved.
template <class Make>
Sequential check_resume_through(const fs::path& file, Make make) {
    const auto x = test_images({28, 28, 1}, 255.0f);
    const xt::xarray<float> some = xt::view(x, xt::range(0, 512));
    const xt::xarray<float> labels = xt::cast<float>(xt::view(test_labels(), xt::range(0, 512)));
    Sequential whole = make();
    whole.fit(some, labels, {.batch_size = 64, .epochs = 4, .verbose = 0, .shuffle = false});
    Sequential first = make();
    first.fit(some, labels, {.batch_size = 64, .epochs = 2, .verbose = 0, .shuffle = false});
    first.save(file);
    Sequential resumed = load_model(file);
    CHECK(resumed.optimizer().class_name() == first.optimizer().class_name());
    CHECK(resumed.optimizer().iterations() == first.optimizer().iterations());
    for (const auto& [name, slots] : first.optimizer().slots()) {
        INFO(name);
        const auto& back = resumed.optimizer().slots().at(name);
        REQUIRE(back.size() == slots.size());
        for (std::size_t k = 0; k < slots.size(); ++k) CHECK((back[k] == slots[k]));
    }
    const auto a = first.get_weights(), b = resumed.get_weights();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i]));
    resumed.fit(
        some, labels,
        {.batch_size = 64, .epochs = 4, .verbose = 0, .shuffle = false, .initial_epoch = 2});
    const auto c = whole.get_weights(), d = resumed.get_weights();
    for (std::size_t i = 0; i < c.size(); ++i) CHECK((c[i] == d[i]));
    return first;
}

}  // namespace
