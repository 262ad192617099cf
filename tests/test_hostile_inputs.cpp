// Inputs built to break the loaders and the training loop (issue 24): special files in place of
// model files, numbers of the wrong kind or range in a model file's tables, optimizer state that
// would make the loader allocate without end, JSON nested without end, gzip archives that
// expand without end, and batch sizes that would make a count wrap. Each gets a clear error, or
// a bounded answer, quickly.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>

#include <xkeras/xkeras.hpp>

#include "model_file_bytes.hpp"
#include "nested_json.hpp"
#include "temp_dir.hpp"

using namespace xkeras;
using testing::model_file_bytes;
using testing::nested_json;

namespace {

/// A header of a Dense(1) model on 2 inputs, its weights at offsets 0 and 8 of 12 bytes of data,
/// with `weights` as the weights table and `extra` appended to the header's keys.
std::string dense_header(const std::string& weights, const std::string& extra = "") {
    return R"({"format_version": 1, "kind": "model", "dtype": "float32", "model": {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 2]}},
        {"class_name": "Dense", "config": {"name": "d", "units": 1}}]},
        "compile_config": {"optimizer": "adam", "loss": "mse"}},
        "weights": )" +
           weights + extra + "}";
}
const std::string good_table =
    R"([{"key": "dense/kernel", "shape": [2, 1], "offset": 0}, {"key": "dense/bias", "shape": [1], "offset": 8}])";

Sequential load(const std::string& header, std::size_t data_bytes = 12) {
    return io::detail::load_model_from<float>(io::detail::parse_model_bytes(
        model_file_bytes(header, std::string(data_bytes, '\0')), "h.xk"));
}

/// Seconds taken by f.
template <class F>
double seconds(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("Loaders open regular files only, and never block", "[hostile][io]") {
    testing::temp_dir dir;
    const auto fifo = dir / "fifo.xk";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    for (const auto& [path, kind] :
         {std::pair{dir.path(), "a directory"},
          std::pair{std::filesystem::path("/dev/zero"), "a character device"},
          std::pair{fifo, "a FIFO (named pipe)"}}) {
        INFO(path);
        // a FIFO with no writer would block an open for reading; /dev/zero never ends
        const double s = seconds([&] {
            CHECK_THROWS_WITH(load_model(path), "model file '" + path.string() + "' is " + kind +
                                                    ", not a regular file");
        });
        CHECK(s < 1.0);
        CHECK_THROWS_AS(datasets::read_idx(path), io_error);
    }
    CHECK_THROWS_WITH(load_model(dir / "missing.xk"), Catch::Contains("does not exist"));
}

TEST_CASE("A model file's numbers must be integers in range, not truncated or wrapped",
          "[hostile][io]") {
    CHECK(load(dense_header(good_table)).count_params() == 3);
    // offsets and sizes that a conversion would truncate (1.5, 3.9), wrap (-1) or turn into
    // anything (1e30, 2^64); each loaded silently wrong before
    for (const char* bad : {"1.5", "1e30", "18446744073709551616", "-1", "\"8\""}) {
        INFO(bad);
        const std::string table =
            std::string(
                R"([{"key": "dense/kernel", "shape": [2, 1], "offset": 0}, {"key": "dense/bias", "shape": [1], "offset": )") +
            bad + "}]";
        CHECK_THROWS_WITH(load(dense_header(table)),
                          Catch::StartsWith("'h.xk': the offset of weight 'dense/bias' (layer 'd') "
                                            "must be an integer from 0 to 12, got "));
    }
    CHECK_THROWS_WITH(
        load(dense_header(
            R"([{"key": "dense/kernel", "shape": [2.9, 1.0], "offset": 0}, {"key": "dense/bias", "shape": [1], "offset": 8}])")),
        Catch::Contains("a size in the shape of weight 'dense/kernel' (layer 'd') must be an "
                        "integer"));
    CHECK_THROWS_WITH(load(dense_header(good_table, R"(, "optimizer_state": {"iterations": -1})")),
                      Catch::Contains("optimizer iterations must be an integer from 0 to "));
    CHECK_THROWS_WITH(
        load(dense_header(good_table,
                          R"(, "optimizer_state": {"iterations": 9223372036854775807})")),
        Catch::Contains("optimizer iterations must be an integer from 0 to 9007199254740992"));
    CHECK_THROWS_WITH(
        load(dense_header(good_table, R"(, "training_state": {"shuffle_seed": 0.5})")),
        Catch::Contains("the shuffle seed must be an integer"));
    CHECK_THROWS_WITH(
        load(dense_header(
            R"([{"key": "dense/kernel", "shape": [2, 1], "offset": 0}, {"key": "dense/kernel", "shape": [2, 1], "offset": 0}, {"key": "dense/bias", "shape": [1], "offset": 8}])")),
        "'h.xk': weight 'dense/kernel' is in the weights table twice");
}

TEST_CASE("Optimizer state is counted and checked before a tensor is made for it",
          "[hostile][io]") {
    // extra slots all naming the one weight: each was allocated before the count was checked
    std::string slots;
    for (int i = 0; i < 2000; ++i)
        slots += std::string(i ? ", " : "") +
                 R"({"key": "dense/kernel", "shape": [2, 1], "offset": 0, "index": 0})";
    const double s = seconds([&] {
        CHECK_THROWS_WITH(
            load(dense_header(
                good_table, R"(, "optimizer_state": {"iterations": 3, "slots": [)" + slots + "]}")),
            "'h.xk': optimizer state tensor 0 of 'dense/kernel' is given twice");
    });
    CHECK(s < 1.0);
    CHECK_THROWS_WITH(
        load(dense_header(
            good_table,
            R"(, "optimizer_state": {"slots": [{"key": "dense/kernel", "shape": [2, 1], "offset": 0, "index": 2}]})")),
        Catch::Contains("the slot index of 'dense/kernel' must be an integer from 0 to 1"));
    CHECK_THROWS_WITH(
        load(dense_header(
            good_table,
            R"(, "optimizer_state": {"slots": [{"key": "dense/kernel", "shape": [2, 1], "offset": 0, "index": 1}]})")),
        "'h.xk': optimizer state tensor 0 of 'dense/kernel' is missing (Adam keeps 2 per weight)");
    CHECK_THROWS_WITH(
        load(dense_header(good_table,
                          R"(, "optimizer_state": {"slots": [{"key": "other/kernel"}]})")),
        Catch::StartsWith("'h.xk': optimizer state for unknown weight "));
}

TEST_CASE("Training state naming a missing layer is refused naming the file", "[hostile][io]") {
    CHECK_THROWS_WITH(
        load(dense_header(
            good_table, R"(, "training_state": {"layers": {"dropout": {"seed": 1, "calls": 2}}})")),
        Catch::StartsWith("'h.xk': training_state: model '") &&
            Catch::Contains("has no layer 'dropout'"));
    CHECK_THROWS_WITH(
        load(dense_header(good_table, R"(, "training_state": {"layers": {"d": {"seed": 1}}})")),
        "'h.xk': training_state: layer 'd' (Dense) keeps no training state, but one was given");
}

TEST_CASE("JSON nested without end is refused before anything recurses on it", "[hostile][json]") {
    // 100,000 levels in 0.2 MB: copying or printing such a value recursed off the stack
    const std::string deep = nested_json(100000);
    CHECK_THROWS_AS(model_from_json(deep), value_error);
    CHECK_THROWS_AS(
        model_from_json(
            R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"units": )" +
            deep + "}}]}}"),
        value_error);
    CHECK_THROWS_AS(load(dense_header(good_table, R"(, "training_state": )" + deep)), io_error);
    CHECK_THROWS_AS(load(dense_header(good_table, R"(, "x": )" + deep)), io_error);
}

TEST_CASE("A gzip IDX file is decompressed only as far as its header announces", "[hostile][idx]") {
    testing::temp_dir dir;
    // a header announcing 10 labels, then 64 MiB of zeros: an archive of a few dozen KB
    std::string raw = {0, 0, 8, 1, 0, 0, 0, 10};
    raw += std::string(std::size_t(64) << 20, '\0');
    const auto path = dir / "bomb-idx1-ubyte.gz";
    gzFile gz = gzopen(path.c_str(), "wb9");
    REQUIRE(gz);
    REQUIRE(gzwrite(gz, raw.data(), unsigned(raw.size())) == int(raw.size()));
    gzclose(gz);
    REQUIRE(std::filesystem::file_size(path) < (std::size_t(1) << 20));
    const double s = seconds(
        [&] { CHECK_THROWS_WITH(datasets::read_idx(path), Catch::Contains("trailing bytes")); });
    CHECK(s < 1.0);
    // a header announcing 2^44 bytes, more than the reader accepts, is refused before the data
    // is read
    std::string huge = {0, 0, 8, 3, 0, 0x10, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 0};
    const auto path2 = dir / "huge-idx3-ubyte.gz";
    gz = gzopen(path2.c_str(), "wb");
    REQUIRE(gzwrite(gz, huge.data(), unsigned(huge.size())) == int(huge.size()));
    gzclose(gz);
    CHECK_THROWS_WITH(datasets::read_idx(path2),
                      Catch::Contains("announces 17592186044416 bytes of data, more than the "
                                      "1073741824 accepted"));
}

TEST_CASE("Batch sizes that would make a count wrap train and predict as one batch",
          "[hostile][fit]") {
    utils::set_random_seed(1);
    Sequential m;
    m.add(layers::Dense(2, {.activation = "softmax", .input_shape = {3}}));
    m.compile(optimizers::SGD(0.1), "categorical_crossentropy", {"accuracy"});
    const xt::xarray<float> x = xt::ones<float>({8, 3});
    const xt::xarray<float> y = utils::to_categorical(xt::xarray<int>{0, 1, 0, 1, 0, 1, 0, 1}, 2);
    const auto before = m.get_weights();
    const std::size_t huge = std::size_t(-1);
    // the step count wrapped to 0: the epoch showed 0/0 and nothing trained
    auto history =
        m.fit(x, y, {.batch_size = huge, .epochs = 2, .verbose = 0, .validation_split = 0.25});
    CHECK(history["loss"].size() == 2);
    CHECK(history["val_loss"].size() == 2);
    CHECK_FALSE(bool(m.get_weights()[0] == before[0]));
    CHECK(m.evaluate(x, y, {.batch_size = huge, .verbose = 0}).size() == 2);
    CHECK(m.predict(x, huge).shape()[0] == 8);
}
