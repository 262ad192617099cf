// Faults: saves interrupted at any point (SIGKILL spread over a whole save, a full tmpfs, a file
// size limit, /dev/full for the appending CSVLogger, ModelCheckpoint on a full disk), leftovers of
// killed saves, and the defined outcome of every bad-data and edge case: NaN / inf in x or y,
// exploding losses (with and without TerminateOnNaN), labels outside the classes, empty datasets,
// batches larger than the data, zero epochs and initial_epoch >= epochs. docs/api/model.md lists
// the outcomes.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include <xkeras/xkeras.hpp>

#include "temp_dir.hpp"
#include "whole_file.hpp"

using namespace xkeras;
namespace fs = std::filesystem;

namespace {

/// Matches an exception whose what() contains every one of `parts`. (Catch2 v2 matches
/// exceptions only with exception matchers, and its `&&` of matchers keeps pointers to
/// temporaries, so a composed matcher cannot be stored; this one owns its strings.)
struct says : Catch::MatcherBase<std::exception> {
    std::vector<std::string> parts;
    says(std::initializer_list<std::string> p) : parts(p) {}
    bool match(const std::exception& e) const override {
        const std::string what = e.what();
        for (const auto& p : parts)
            if (what.find(p) == std::string::npos) return false;
        return true;
    }
    std::string describe() const override {
        std::string out = "has a message containing";
        for (const auto& p : parts) out += " \"" + p + "\"";
        return out;
    }
};

constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();
constexpr float inf_f = std::numeric_limits<float>::infinity();

/// Files in `dir` whose name starts with `prefix`.
std::size_t count_prefixed(const fs::path& dir, const std::string& prefix) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
    return n;
}

std::size_t count_files(const fs::path& dir) {
    return std::size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

/// Bitwise equality of two weight lists (NaN and inf compare as the bits they are).
bool same_bits(const std::vector<xt::xarray<float>>& a, const std::vector<xt::xarray<float>>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].shape() != b[i].shape() ||
            std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0)
            return false;
    return true;
}

/// A dense model of `in` -> `out` units with weights drawn from `seed`.
void dense_model(Sequential& m, std::size_t in, std::size_t out, std::uint64_t seed) {
    utils::set_random_seed(seed);
    m.add(layers::Dense(out, {.input_shape = {in}}));
}

/// 3 classes, 4 features, deterministic.
struct toy_problem {
    xt::xarray<float> x, y, labels;
    explicit toy_problem(std::size_t n) {
        detail::rng g(5);
        x = xt::xarray<float>::from_shape({n, 4});
        for (auto& v : x) v = float(g.uniform() * 2.0 - 1.0);
        labels = xt::zeros<float>({n});
        for (std::size_t i = 0; i < n; ++i)
            labels(i) = x(i, 0) + x(i, 1) > 0.5f ? 2.0f : (x(i, 2) > 0 ? 1.0f : 0.0f);
        y = utils::to_categorical<float>(labels, 3);
    }
};

/// Dense 4 -> 8 relu -> 3 softmax, Adam, categorical crossentropy (no dropout: deterministic).
void toy_model(Sequential& m, std::uint64_t seed,
               const std::string& loss = "categorical_crossentropy") {
    utils::set_random_seed(seed);
    m.add(layers::Dense(8, {.activation = "relu", .input_shape = {4}}));
    m.add(layers::Dense(3, "softmax"));
    m.compile(optimizers::Adam(0.01), loss, {"accuracy"});
}

/// Runs `body` in a child process and returns what it wrote to its pipe, with its exit code.
/// The child never returns into Catch2 (it _exits), so no assertion runs there.
template <class F>
std::pair<int, std::string> in_child(F body) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(fds[0]);
        std::string msg;
        int code = 0;
        try {
            code = body(msg);
        } catch (const std::exception& e) {
            msg = std::string("unexpected exception: ") + e.what();
            code = 90;
        }
        if (!msg.empty()) (void)!::write(fds[1], msg.data(), msg.size());
        ::_exit(code);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        out.append(buf, std::size_t(n));
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

/// A 256 KiB tmpfs mounted on a fresh directory for the scope (needs CAP_SYS_ADMIN).
struct small_tmpfs {
    testing::temp_dir dir{"xkeras-tmpfs"};
    bool mounted = false;
    std::string why;
    small_tmpfs() {
        if (::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=256k") == 0)
            mounted = true;
        else
            why = std::strerror(errno);
    }
    ~small_tmpfs() {
        if (mounted) ::umount2(dir.path().c_str(), MNT_DETACH);
    }
};

}  // namespace

// ---- saves interrupted at any point ----------------------------------------------------------

TEST_CASE("A save killed at any point of the write leaves the old or the new file, whole",
          "[faults][io][kill]") {
    testing::temp_dir d("xkeras-kill");
    const auto path = d / "model.xk";
    Sequential small, big;
    dense_model(small, 8, 4, 1);
    dense_model(big, 1000, 1000, 2);  // 1,001,000 params: a 4 MB file
    const auto small_w = small.get_weights(), big_w = big.get_weights();
    // how long one save of the big model takes here (the best of 3: the children are alike)
    double save_s = 1e9;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        big.save(d / "timing.xk");
        save_s = std::min(
            save_s, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    fs::remove(d / "timing.xk");
    small.save(path);
    const std::string prefix = ".model.xk.tmp-";
    // A child saves the big model over the file again and again; it tells the parent (a pipe)
    // when its first save starts and when it has ended. The parent kills it at k / 20 of a save's
    // time after the start, k = 0..23 (20 points spread over the whole first save, then its
    // rename and the start of the next), and once just after the first save has ended.
    const int points = 20, kills = 25;
    int old_seen = 0, new_seen = 0;
    for (int k = 0; k < kills; ++k) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            ::close(fds[0]);
            ::signal(SIGPIPE, SIG_IGN);  // the parent may have stopped listening
            Sequential again;
            dense_model(again, 1000, 1000, 2);
            (void)!::write(fds[1], "s", 1);
            again.save(path);
            (void)!::write(fds[1], "d", 1);
            for (;;) again.save(path);  // never returns: killed by the parent
        }
        ::close(fds[1]);
        char c = 0;
        REQUIRE(::read(fds[0], &c, 1) == 1);  // the child's first save starts now
        if (k + 1 < kills)
            std::this_thread::sleep_for(std::chrono::duration<double>(save_s * k / points));
        else
            REQUIRE(::read(fds[0], &c, 1) == 1);  // the first save has ended
        ::kill(child, SIGKILL);
        ::close(fds[0]);
        int status = 0;
        ::waitpid(child, &status, 0);
        INFO("killed " << k << "/" << points << " of a save (" << save_s * 1e3 << " ms) in");
        REQUIRE(WIFSIGNALED(status));
        std::vector<xt::xarray<float>> loaded;
        REQUIRE_NOTHROW(loaded = load_model(path).get_weights());
        const bool is_old = same_bits(loaded, small_w), is_new = same_bits(loaded, big_w);
        CHECK((is_old || is_new));
        old_seen += is_old;
        new_seen += is_new;
        // nothing runs after SIGKILL: each killed child may leave its one temporary file
        CHECK(count_prefixed(d.path(), prefix) <= std::size_t(k + 1));
        CHECK(count_files(d.path()) == 1 + count_prefixed(d.path(), prefix));
    }
    INFO("old file seen " << old_seen << " times, new file " << new_seen << " times");
    CHECK(old_seen > 0);  // the earliest kills land before the first rename
    CHECK(new_seen > 0);  // at least the last one after it
}

TEST_CASE("The next save removes the temporary files that killed saves left, and nothing else",
          "[faults][io][kill]") {
    testing::temp_dir d("xkeras-stale");
    Sequential m;
    dense_model(m, 4, 2, 3);
    const auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
    auto make = [&](const std::string& name, bool old) {
        std::ofstream(d / name) << "partial";
        if (old) fs::last_write_time(d / name, hour_ago);
    };
    make(".m.xk.tmp-Ab3xY9", true);                // a killed save of m.xk: removed
    make(".m.xk.tmp-Qq1111", false);               // written after this process started: kept
    make(".m.xk.tmp-Ab3xY", true);                 // 5 characters: not mkstemp's pattern, kept
    make(".m.xk.tmp-Ab3xY9z", true);               // 7 characters: kept
    make(".n.xk.tmp-Ab3xY9", true);                // another file's: kept
    make("m.xk.tmp-Ab3xY9", true);                 // no leading dot: kept
    make(".m.xk.tmp-Ab3-Y9", true);                // '-' is not in mkstemp's alphabet: kept
    fs::create_directory(d / ".m.xk.tmp-Dir123");  // a directory: kept
    fs::last_write_time(d / ".m.xk.tmp-Dir123", hour_ago);
    m.save(d / "m.xk");
    CHECK_FALSE(fs::exists(d / ".m.xk.tmp-Ab3xY9"));
    for (const char* kept :
         {".m.xk.tmp-Qq1111", ".m.xk.tmp-Ab3xY", ".m.xk.tmp-Ab3xY9z", ".n.xk.tmp-Ab3xY9",
          "m.xk.tmp-Ab3xY9", ".m.xk.tmp-Ab3-Y9", ".m.xk.tmp-Dir123"})
        CHECK(fs::exists(d / kept));
    CHECK(count_files(d.path()) == 8);  // 7 kept + m.xk
}

TEST_CASE("A save on a full disk (a 256 KiB tmpfs) fails with ENOSPC and keeps the old file",
          "[faults][io][disk]") {
    small_tmpfs disk;
    if (!disk.mounted) {
        WARN("SKIPPED: cannot mount a tmpfs here (" << disk.why
                                                    << "; needs root / CAP_SYS_ADMIN); the "
                                                       "file-size-limit test covers the same path");
        return;
    }
    const auto path = disk.dir / "m.xk";
    Sequential small, big;
    dense_model(small, 8, 4, 4);
    dense_model(big, 300, 300, 5);  // 90,300 params: 361 KB, more than the disk
    small.save(path);
    const std::string before = testing::read_bytes(path);
    CHECK_THROWS_MATCHES(big.save(path), io_error,
                         says({"No space left on device", path.string(), "previous file"}));
    CHECK(testing::read_bytes(path) == before);
    CHECK(same_bits(load_model(path).get_weights(), small.get_weights()));
    CHECK(count_files(disk.dir.path()) == 1);  // no temporary file left
    // save_weights takes the same path
    CHECK_THROWS_WITH(big.save_weights(path), Catch::Contains("No space left on device"));
    CHECK(testing::read_bytes(path) == before);

    SECTION("ModelCheckpoint stops fit with the epoch, the path and the reason") {
        big.compile(optimizers::SGD(0.01), "mse");
        xt::xarray<float> x = xt::ones<float>({4, 300}), y = xt::zeros<float>({4, 300});
        auto ckpt = std::make_shared<callbacks::ModelCheckpoint<float>>(
            path.string(), callbacks::ModelCheckpointOptions{.monitor = "loss"});
        CHECK_THROWS_MATCHES(
            big.fit(x, y, {.epochs = 2, .verbose = 0, .callbacks = {ckpt}}), io_error,
            says({"ModelCheckpoint: epoch 1", path.string(), "No space left on device"}));
        CHECK(ckpt->last_saved().empty());
        CHECK(testing::read_bytes(path) == before);
        CHECK(count_files(disk.dir.path()) == 1);
    }
}

TEST_CASE("A save over the file size limit (RLIMIT_FSIZE) fails with EFBIG, without root",
          "[faults][io][disk]") {
    testing::temp_dir d("xkeras-fsize");
    const auto path = d / "m.xk";
    Sequential small;
    dense_model(small, 8, 4, 6);
    small.save(path);
    const std::string before = testing::read_bytes(path);
    auto [code, msg] = in_child([&](std::string& out) {
        ::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG instead of killing us
        rlimit lim{64 * 1024, 64 * 1024};
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return 91;
        Sequential big;
        dense_model(big, 300, 300, 7);  // 361 KB
        try {
            big.save(path);
        } catch (const io_error& e) {
            out = e.what();
        }
        out += "\n";
        big.compile(optimizers::SGD(0.01), "mse");
        xt::xarray<float> x = xt::ones<float>({4, 300}), y = xt::zeros<float>({4, 300});
        auto ckpt = std::make_shared<callbacks::ModelCheckpoint<float>>(
            path.string(), callbacks::ModelCheckpointOptions{.monitor = "loss"});
        try {
            big.fit(x, y, {.epochs = 2, .verbose = 0, .callbacks = {ckpt}});
        } catch (const io_error& e) {
            out += e.what();
        }
        return 0;
    });
    INFO(msg);
    REQUIRE(code == 0);
    const auto nl = msg.find('\n');
    REQUIRE(nl != std::string::npos);
    const std::string save_msg = msg.substr(0, nl), fit_msg = msg.substr(nl + 1);
    CHECK_THAT(save_msg, Catch::Contains("File too large") && Catch::Contains(path.string()) &&
                             Catch::Contains("write failed"));
    CHECK_THAT(fit_msg, Catch::Contains("ModelCheckpoint: epoch 1") &&
                            Catch::Contains("File too large") && Catch::Contains(path.string()));
    CHECK(testing::read_bytes(path) == before);
    CHECK(same_bits(load_model(path).get_weights(), small.get_weights()));
    CHECK(count_files(d.path()) == 1);
}

TEST_CASE("ModelCheckpoint into a path that cannot be a directory names the epoch and the path",
          "[faults][io]") {
    testing::temp_dir d("xkeras-ckpt");
    std::ofstream(d / "file") << "not a directory";
    Sequential m;
    toy_problem data(8);
    toy_model(m, 1);
    const std::string path = (d / "file" / "m.{epoch:02d}.xk").string();
    auto ckpt = std::make_shared<callbacks::ModelCheckpoint<float>>(
        path, callbacks::ModelCheckpointOptions{.monitor = "loss", .save_freq = 1});
    CHECK_THROWS_MATCHES(
        m.fit(data.x, data.y, {.batch_size = 4, .verbose = 0, .callbacks = {ckpt}}), io_error,
        says({"ModelCheckpoint: epoch 1, batch 0", (d / "file" / "m.01.xk").string()}));
}

TEST_CASE("CSVLogger reports a write that fails (/dev/full) with the file and the reason",
          "[faults][io][csv]") {
    if (!fs::exists("/dev/full")) {
        WARN("SKIPPED: no /dev/full on this system");
        return;
    }
    toy_problem data(8);
    for (bool append : {false, true}) {
        INFO("append " << append);
        Sequential m;
        toy_model(m, 2);
        auto csv = std::make_shared<callbacks::CSVLogger<float>>("/dev/full", ",", append);
        CHECK_THROWS_MATCHES(m.fit(data.x, data.y, {.verbose = 0, .callbacks = {csv}}), io_error,
                             says({"CSVLogger", "'/dev/full'", "No space left on device"}));
    }
    // a file that cannot be opened says why
    Sequential m;
    toy_model(m, 2);
    testing::temp_dir d("xkeras-csv");
    auto csv = std::make_shared<callbacks::CSVLogger<float>>(d / "no" / "dir" / "log.csv");
    CHECK_THROWS_MATCHES(m.fit(data.x, data.y, {.verbose = 0, .callbacks = {csv}}), io_error,
                         says({"log.csv", "No such file or directory"}));
}

// ---- NaN and infinite values in the data ---------------------------------------------------

TEST_CASE("NaN or inf in x or y is refused up front, naming the array, sample and position",
          "[faults][nan]") {
    toy_problem data(10);
    Sequential m;
    toy_model(m, 3);
    const auto before = m.get_weights();
    for (float bad : {nan_f, inf_f, -inf_f}) {
        INFO("value " << bad);
        xt::xarray<float> x = data.x, y = data.y;
        x(6, 2) = bad;
        const std::string shown = bad != bad ? "nan" : (bad > 0 ? "inf" : "-inf");
        auto names = [&](const char* what, const char* where) {
            return says({std::string(what) + " contains " + shown, where});
        };
        CHECK_THROWS_MATCHES(m.fit(x, data.y, {.verbose = 0}), value_error,
                             names("x", "at sample 6, position (2)"));
        CHECK_THROWS_MATCHES(m.evaluate(x, data.y, {.verbose = 0}), value_error,
                             names("x", "at sample 6, position (2)"));
        CHECK_THROWS_MATCHES(m.train_on_batch(x, data.y), value_error,
                             names("x", "at sample 6, position (2)"));
        CHECK_THROWS_MATCHES(m.test_on_batch(x, data.y), value_error,
                             names("x", "at sample 6, position (2)"));
        CHECK_THROWS_MATCHES(m.predict(x), value_error, names("x", "at sample 6, position (2)"));
        // predict checks each batch as it copies it: the third batch here
        CHECK_THROWS_MATCHES(m.predict(x, 3), value_error, names("x", "at sample 6, position (2)"));
        y(9, 0) = bad;
        CHECK_THROWS_MATCHES(m.fit(data.x, y, {.verbose = 0}), value_error,
                             names("y", "at sample 9, position (0)"));
        CHECK_THROWS_MATCHES(m.evaluate(data.x, y, {.verbose = 0}), value_error,
                             names("y", "at sample 9"));
        CHECK_THROWS_MATCHES(m.train_on_batch(data.x, y), value_error, names("y", "at sample 9"));
        CHECK_THROWS_MATCHES(m.test_on_batch(data.x, y), value_error, names("y", "at sample 9"));
        CHECK_THROWS_MATCHES(
            m.fit(data.x, data.y, {.verbose = 0, .validation_data = std::pair{x, data.y}}),
            value_error, names("validation_data x", "at sample 6"));
        CHECK_THROWS_MATCHES(
            m.fit(data.x, data.y, {.verbose = 0, .validation_data = std::pair{data.x, y}}),
            value_error, names("validation_data y", "at sample 9"));
        // sparse labels: a NaN label is named the same way
        Sequential sparse;
        toy_model(sparse, 3, "sparse_categorical_crossentropy");
        xt::xarray<float> labels = data.labels;
        labels(4) = bad;
        CHECK_THROWS_MATCHES(sparse.fit(data.x, labels, {.verbose = 0}), value_error,
                             names("y", "at sample 4"));
    }
    // nothing was trained, nothing changed
    CHECK(same_bits(m.get_weights(), before));
    CHECK(m.optimizer().iterations() == 0);
    // the last element of the array is found too, and a position has every axis of the sample
    Sequential conv;
    conv.add(layers::Conv2D(2, 3, {.input_shape = {5, 6, 2}}));
    xt::xarray<float> images = xt::zeros<float>({3, 5, 6, 2});
    images(2, 4, 5, 1) = inf_f;
    CHECK_THROWS_WITH(conv.predict(images),
                      Catch::Contains("x contains inf at sample 2, position (4, 5, 1)") &&
                          Catch::Contains("(3, 5, 6, 2)"));
    // an array large enough to be scanned by 2 threads: the first bad value is named, whichever
    // thread found it, in fit and in predict's batches
    const int threads = get_num_threads();
    set_num_threads(2);
    Sequential wide;
    wide.add(layers::Dense(2, {.input_shape = {1000}}));
    wide.compile("sgd", "mse");
    xt::xarray<float> many = xt::zeros<float>({300, 1000});
    many(250, 7) = nan_f;
    many(120, 3) = inf_f;
    const xt::xarray<float> targets = xt::zeros<float>({300, 2});
    for (std::size_t batch : {300, 100}) {
        INFO("batch " << batch);
        CHECK_THROWS_WITH(wide.predict(many, batch),
                          Catch::Contains("x contains inf at sample 120, position (3)"));
        CHECK_THROWS_WITH(wide.fit(many, targets, {.batch_size = batch, .verbose = 0}),
                          Catch::Contains("x contains inf at sample 120, position (3)"));
    }
    set_num_threads(threads);
    // the largest finite values pass
    images(2, 4, 5, 1) = std::numeric_limits<float>::max();
    images(0, 0, 0, 0) = -std::numeric_limits<float>::max();
    CHECK_NOTHROW(conv.predict(images));
}

// ---- exploding losses ------------------------------------------------------------------------

namespace {

/// w <- w (1 - 2 lr) each step: SGD(1e6) on one weight, MSE, x = 1, y = 0. |w| grows by 2e6 per
/// batch until the float weight overflows to inf; the next batch's loss is +inf (not NaN).
void exploding_model(Sequential& m) {
    utils::set_random_seed(11);
    m.add(layers::Dense(1, {.use_bias = false, .input_shape = {1}}));
    m.compile(optimizers::SGD(1e6), "mse");
}

/// Records the weights at the start of every training batch.
struct weights_at_batch_begin {
    std::vector<std::vector<xt::xarray<float>>> seen;
    std::shared_ptr<callbacks::LambdaCallback<float>> callback(Sequential& m) {
        return std::make_shared<callbacks::LambdaCallback<float>>(callbacks::LambdaHooks<float>{
            .on_train_batch_begin = [this, &m](int, const callbacks::Logs&) {
                seen.push_back(m.get_weights());
            }});
    }
};

}  // namespace

TEST_CASE("An exploding loss stops fit at the first infinite loss, that batch not applied",
          "[faults][nan]") {
    xt::xarray<float> x = xt::ones<float>({32, 1}), y = xt::zeros<float>({32, 1});
    Sequential m;
    exploding_model(m);
    weights_at_batch_begin rec;
    std::string msg;
    try {
        m.fit(x, y, {.batch_size = 1, .epochs = 3, .verbose = 0, .callbacks = {rec.callback(m)}});
    } catch (const numerical_error& e) {
        msg = e.what();
    }
    INFO(msg);
    REQUIRE_FALSE(rec.seen.empty());
    const int bad_batch = int(rec.seen.size()) - 1;
    CHECK(bad_batch > 2);  // a few batches trained before the overflow
    CHECK_THAT(msg, Catch::Contains("the training loss is inf at epoch 1, batch " +
                                    std::to_string(bad_batch)));
    CHECK(m.optimizer().iterations() == bad_batch);      // the bad batch made no step
    CHECK(same_bits(m.get_weights(), rec.seen.back()));  // the weights it started from
    CHECK(std::isinf(m.get_weights()[0](0, 0)));         // ... which the previous step overflowed

    SECTION("TerminateOnNaN stops at the same batch with Keras's message (inf counts too)") {
        Sequential t;
        exploding_model(t);
        std::ostringstream out;
        auto stop = std::make_shared<callbacks::TerminateOnNaN<float>>(false, out);
        auto h = t.fit(x, y, {.batch_size = 1, .epochs = 3, .verbose = 0, .callbacks = {stop}});
        CHECK(out.str() ==
              "Batch " + std::to_string(bad_batch) + ": Invalid loss, terminating training\n");
        CHECK(h.epoch.size() == 1);
        CHECK(std::isinf(h["loss"][0]));
        CHECK(t.optimizer().iterations() == bad_batch);
        CHECK(same_bits(t.get_weights(), rec.seen.back()));
        auto raise = std::make_shared<callbacks::TerminateOnNaN<float>>(true);
        Sequential r;
        exploding_model(r);
        CHECK_THROWS_WITH(
            r.fit(x, y, {.batch_size = 1, .epochs = 3, .verbose = 0, .callbacks = {raise}}),
            Catch::Contains("Batch " + std::to_string(bad_batch) + ": Invalid loss inf"));
    }
}

TEST_CASE("A bad batch leaves BatchNormalization's moving statistics as they were too",
          "[faults][nan]") {
    // SGD(1e4) on Dense -> BatchNormalization -> Dense with MSE diverges within a few batches
    utils::set_random_seed(12);
    Sequential m;
    m.add(layers::Dense(4, {.input_shape = {3}}));
    m.add(layers::BatchNormalization());
    m.add(layers::Dense(1));
    m.compile(optimizers::SGD(1e4), "mse");
    detail::rng g(13);
    xt::xarray<float> x = xt::xarray<float>::from_shape({64, 3}), y = xt::ones<float>({64, 1});
    for (auto& v : x) v = float(g.uniform() * 4.0 - 2.0);
    weights_at_batch_begin rec;
    CHECK_THROWS_AS(m.fit(x, y,
                          {.batch_size = 4,
                           .epochs = 5,
                           .verbose = 0,
                           .callbacks = {rec.callback(m)},
                           .shuffle = false}),
                    numerical_error);
    REQUIRE(rec.seen.size() > 1);
    // every weight, moving_mean and moving_variance included, as at the bad batch's start
    CHECK(same_bits(m.get_weights(), rec.seen.back()));
}

TEST_CASE("train_on_batch with a non-finite loss throws and changes nothing", "[faults][nan]") {
    Sequential m;
    exploding_model(m);
    xt::xarray<float> x = xt::ones<float>({1, 1}), y = xt::zeros<float>({1, 1});
    int steps = 0;
    std::vector<xt::xarray<float>> before;
    for (;; ++steps) {
        before = m.get_weights();
        try {
            m.train_on_batch(x, y);
        } catch (const numerical_error& e) {
            CHECK_THAT(e.what(), Catch::Contains("the training loss is inf"));
            break;
        }
        REQUIRE(steps < 100);
    }
    CHECK(m.optimizer().iterations() == steps);
    CHECK(same_bits(m.get_weights(), before));
}

// ---- labels outside the classes ----------------------------------------------------------------

TEST_CASE("Labels outside the classes are refused with the label and what was expected",
          "[faults][labels]") {
    toy_problem data(10);
    Sequential sparse;
    toy_model(sparse, 4, "sparse_categorical_crossentropy");
    for (float bad : {-1.0f, 2.5f, 3.0f, 1e9f}) {
        INFO("label " << bad);
        xt::xarray<float> labels = data.labels;
        labels(7) = bad;
        const says refused{"label 7 is ", "expected an integer in [0, 3)"};
        CHECK_THROWS_MATCHES(sparse.fit(data.x, labels, {.verbose = 0}), value_error, refused);
        CHECK_THROWS_MATCHES(sparse.evaluate(data.x, labels, {.verbose = 0}), value_error, refused);
        CHECK_THROWS_MATCHES(sparse.train_on_batch(data.x, labels), value_error, refused);
        CHECK_THROWS_MATCHES(sparse.test_on_batch(data.x, labels), value_error, refused);
    }
    CHECK(sparse.optimizer().iterations() == 0);

    // categorical: the width must be the model's output; the rows are not checked to be one-hot
    // (soft labels, label smoothing and mixup are legitimate), as in Keras
    Sequential cat;
    toy_model(cat, 4);
    xt::xarray<float> wide = xt::zeros<float>({10, 4});
    CHECK_THROWS_AS(cat.fit(data.x, wide, {.verbose = 0}), shape_error);
    CHECK_THROWS_AS(cat.evaluate(data.x, wide, {.verbose = 0}), shape_error);
    xt::xarray<float> soft = xt::ones<float>({10, 3}) / 3.0f;
    CHECK_NOTHROW(cat.fit(data.x, soft, {.verbose = 0}));

    // binary crossentropy: targets must lie in [0, 1] (Keras does not check); soft ones pass
    utils::set_random_seed(5);
    Sequential bin;
    bin.add(layers::Dense(1, {.activation = "sigmoid", .input_shape = {4}}));
    bin.compile("sgd", "binary_crossentropy");
    xt::xarray<float> t = xt::zeros<float>({10, 1});
    t(3, 0) = 0.25f;
    CHECK_NOTHROW(bin.fit(data.x, t, {.verbose = 0}));
    for (float bad : {2.0f, -0.5f, 1.0001f}) {
        t(8, 0) = bad;
        CHECK_THROWS_MATCHES(bin.fit(data.x, t, {.verbose = 0}), value_error,
                             says({"of sample 8", "outside [0, 1]"}));
        CHECK_THROWS_AS(bin.evaluate(data.x, t, {.verbose = 0}), value_error);
    }
}

// ---- empty datasets, batch sizes, epochs -------------------------------------------------------

TEST_CASE("Empty datasets: fit / evaluate refuse them, predict returns an empty result",
          "[faults][empty]") {
    toy_problem data(10);
    Sequential m;
    toy_model(m, 5);
    const auto before = m.get_weights();
    xt::xarray<float> x0 = xt::zeros<float>({0, 4}), y0 = xt::zeros<float>({0, 3});
    const says empty{"0 samples", "(0, 4)"};
    CHECK_THROWS_MATCHES(m.fit(x0, y0, {.verbose = 0}), value_error,
                         says({"fit: the data has 0 samples", "(0, 4)"}));
    CHECK_THROWS_MATCHES(m.evaluate(x0, y0, {.verbose = 0}), value_error, empty);
    CHECK_THROWS_MATCHES(m.train_on_batch(x0, y0), value_error, empty);
    CHECK_THROWS_MATCHES(m.test_on_batch(x0, y0), value_error, empty);
    CHECK_THROWS_MATCHES(
        m.fit(data.x, data.y, {.verbose = 0, .validation_data = std::pair{x0, y0}}), value_error,
        empty);
    // predict on nothing is nothing: shape (0, 3)
    auto p = m.predict(x0);
    CHECK(p.shape() == std::vector<std::size_t>{0, 3});
    // ... also on a model not built yet (built from x's sample shape)
    Sequential lazy;
    lazy.add(layers::Dense(5));
    CHECK(lazy.predict(x0).shape() == std::vector<std::size_t>{0, 5});
    // ... but the sample shape still has to fit
    CHECK_THROWS_AS(m.predict(xt::zeros<float>({0, 7})), shape_error);
    // validation_split leaving no training or no validation sample
    xt::xarray<float> x1 = xt::view(data.x, xt::range(0, 1)),
                      y1 = xt::view(data.y, xt::range(0, 1));
    CHECK_THROWS_MATCHES(m.fit(x1, y1, {.verbose = 0, .validation_split = 0.5}), value_error,
                         says({"leaves 0 for training and 1 for validation"}));
    CHECK_THROWS_MATCHES(m.fit(data.x, data.y, {.verbose = 0, .validation_split = 1e-17}),
                         value_error, says({"leaves 10 for training and 0 for validation"}));
    CHECK(same_bits(m.get_weights(), before));
    CHECK(m.optimizer().iterations() == 0);
    // the smallest split that works: 2 samples, 1 + 1
    xt::xarray<float> x2 = xt::view(data.x, xt::range(0, 2)),
                      y2 = xt::view(data.y, xt::range(0, 2));
    auto h = m.fit(x2, y2, {.verbose = 0, .validation_split = 0.5});
    CHECK(h.params.steps == 1);
    CHECK(h.history.count("val_loss") == 1);
}

TEST_CASE("A batch larger than the data is one step over all of it, as batch_size = n",
          "[faults][batch]") {
    toy_problem data(10);
    Sequential a, b;
    toy_model(a, 6);
    toy_model(b, 6);
    int batches = 0;
    auto count = std::make_shared<callbacks::LambdaCallback<float>>(callbacks::LambdaHooks<float>{
        .on_train_batch_end = [&](int, const callbacks::Logs&) { ++batches; }});
    auto ha =
        a.fit(data.x, data.y, {.batch_size = 64, .epochs = 3, .verbose = 0, .callbacks = {count}});
    auto hb = b.fit(data.x, data.y, {.batch_size = 10, .epochs = 3, .verbose = 0});
    CHECK(ha.params.steps == 1);
    CHECK(batches == 3);
    CHECK(a.optimizer().iterations() == 3);
    CHECK(same_bits(a.get_weights(), b.get_weights()));
    CHECK(ha["loss"] == hb["loss"]);
    // evaluate and predict too
    CHECK(a.evaluate(data.x, data.y, {.batch_size = 1000, .verbose = 0}) ==
          a.evaluate(data.x, data.y, {.batch_size = 10, .verbose = 0}));
    auto p1 = a.predict(data.x, 1000), p2 = a.predict(data.x, 10);
    CHECK(std::memcmp(p1.data(), p2.data(), p1.size() * sizeof(float)) == 0);
}

TEST_CASE("Zero epochs, or initial_epoch >= epochs, train nothing and return an empty History",
          "[faults][epochs]") {
    toy_problem data(10);
    for (auto [initial, epochs] : {std::pair{0, 0}, std::pair{2, 2}, std::pair{3, 1}}) {
        INFO("initial_epoch " << initial << ", epochs " << epochs);
        Sequential m;
        toy_model(m, 7);
        const auto before = m.get_weights();
        std::vector<std::string> hooks;
        auto record =
            std::make_shared<callbacks::LambdaCallback<float>>(callbacks::LambdaHooks<float>{
                .on_epoch_begin = [&](int, const callbacks::Logs&) { hooks.push_back("epoch"); },
                .on_train_begin = [&](const callbacks::Logs&) { hooks.push_back("begin"); },
                .on_train_end = [&](const callbacks::Logs&) { hooks.push_back("end"); }});
        std::ostringstream es_out;
        auto stop = std::make_shared<callbacks::EarlyStopping<float>>(
            callbacks::EarlyStoppingOptions{
                .monitor = "val_loss", .verbose = 1, .restore_best_weights = true},
            es_out);
        std::ostringstream bar;
        std::streambuf* old = std::cout.rdbuf(bar.rdbuf());
        callbacks::History<float> h;
        try {
            h = m.fit(data.x, data.y,
                      {.epochs = epochs,
                       .verbose = 1,
                       .callbacks = {record, stop},
                       .validation_split = 0.2,
                       .initial_epoch = initial});
        } catch (...) {
            std::cout.rdbuf(old);
            throw;
        }
        std::cout.rdbuf(old);
        CHECK(h.epoch.empty());
        CHECK(h.history.empty());
        CHECK(hooks == std::vector<std::string>{"begin", "end"});
        CHECK(es_out.str().empty());  // no best epoch: nothing restored, nothing said
        CHECK(bar.str().empty());
        CHECK(same_bits(m.get_weights(), before));
        CHECK(m.optimizer().iterations() == 0);
    }
    // initial_epoch 1 of 3: epochs 1 and 2 run, numbered so
    Sequential m;
    toy_model(m, 7);
    auto h = m.fit(data.x, data.y, {.epochs = 3, .verbose = 0, .initial_epoch = 1});
    CHECK(h.epoch == std::vector<int>{1, 2});
    CHECK(m.optimizer().iterations() == 2);
    CHECK_THROWS_AS(m.fit(data.x, data.y, {.epochs = -1, .verbose = 0}), value_error);
}
