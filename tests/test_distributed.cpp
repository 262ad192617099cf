// Data-parallel fit over MPI (docs/distributed.md): each test starts its own mpirun on
// tests/mpi/dp_worker.cpp, with a bounded time, and compares what the ranks wrote.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>
#include <xkeras/xkeras.hpp>

#include "temp_dir.hpp"
#include "whole_file.hpp"

namespace {

struct mpi_run {
    int exit_code = -1;
    std::string output;
    double seconds = 0.0;
};

/// Runs `command` with its output captured.
mpi_run run_command(const std::string& command_line) {
    testing::temp_dir logs("xkeras-mpi-log");
    const std::string log = (logs / "out.txt").string();
    const std::string command = command_line + " > " + log + " 2>&1";
    const auto t0 = std::chrono::steady_clock::now();
    const int status = std::system(command.c_str());
    mpi_run r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.output = testing::read_bytes(log);
    return r;
}

/// Runs dp_worker under `mpiexec -n np` with `args`, killed after `limit` seconds; Open MPI is
/// told by its environment variables to run as root and on more processes than cores.
mpi_run run_workers(int np, const std::string& args, int limit = 240) {
    return run_command(std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                                   "OMPI_MCA_rmaps_base_oversubscribe=1 timeout -s KILL ") +
                       std::to_string(limit) + " " XKERAS_MPIEXEC " -n " + std::to_string(np) +
                       " " XKERAS_DP_WORKER " " + args);
}

std::string dp_file(const testing::temp_dir& d, const std::string& what, int rank) {
    return testing::read_bytes((d / (what + "." + std::to_string(rank) + ".json")).string());
}

/// Whether two files' bytes are equal, said without printing them.
bool same_bytes(const std::string& a, const std::string& b) {
    if (a == b) return true;
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    UNSCOPED_INFO("sizes " << a.size() << " and " << b.size() << ", first difference at byte "
                           << i);
    return false;
}

std::string dp_weights(const testing::temp_dir& d, int rank) {
    return testing::read_bytes((d / ("weights." + std::to_string(rank) + ".bin")).string());
}

/// The largest difference between two weight files' floats, over the largest magnitude of `a`.
double weights_gap(const std::string& a, const std::string& b) {
    REQUIRE(a.size() == b.size());
    REQUIRE(a.size() % sizeof(float) == 0);
    double gap = 0.0, largest = 0.0;
    for (std::size_t i = 0; i < a.size(); i += sizeof(float)) {
        float u = 0.0f, v = 0.0f;
        std::memcpy(&u, a.data() + i, sizeof u);
        std::memcpy(&v, b.data() + i, sizeof v);
        gap = std::max(gap, std::abs(double(u) - double(v)));
        largest = std::max(largest, std::abs(double(u)));
    }
    return gap / largest;
}

}  // namespace

TEST_CASE("data-parallel fit gives the same bits on 1, 2 and 4 processes") {
    for (const std::string model : {"mlp", "cnn_bn"}) {
        INFO("model " << model);
        std::string weights, history;
        for (int np : {1, 2, 4}) {
            INFO(np << " processes");
            testing::temp_dir out("xkeras-dp");
            const auto r = run_workers(
                np, "--model " + model + " --micro-batches 4 --out " + out.path().string());
            INFO(r.output);
            REQUIRE(r.exit_code == 0);
            for (int rank = 0; rank < np; ++rank) {
                if (weights.empty()) {
                    weights = dp_weights(out, rank);
                    history = dp_file(out, "history", rank);
                    REQUIRE(weights.size() > 10000);
                }
                CHECK(same_bytes(dp_weights(out, rank), weights));
                CHECK(dp_file(out, "history", rank) == history);
            }
        }
        // and the model learns: 2 epochs on 896 digits
        const auto h = nlohmann::json::parse(history);
        CHECK(h["accuracy"][1].get<double>() > 0.5);
        CHECK(h["loss"][1].get<double>() < 0.7 * h["loss"][0].get<double>());
    }
}

TEST_CASE("data-parallel fit on one process with one micro-batch is plain fit") {
    testing::temp_dir plain("xkeras-dp"), one("xkeras-dp");
    const auto a = run_workers(1, "--model cnn_bn --plain --out " + plain.path().string());
    const auto b = run_workers(1, "--model cnn_bn --micro-batches 1 --out " + one.path().string());
    INFO(a.output << b.output);
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    CHECK(same_bytes(dp_weights(plain, 0), dp_weights(one, 0)));
    CHECK(dp_file(plain, "history", 0) == dp_file(one, "history", 0));
}

TEST_CASE("data-parallel fit: the same seed, another micro-batch count, nearly the same model") {
    // 2 micro-batches against 4: the gradients' sums differ in their rounding only
    testing::temp_dir two("xkeras-dp"), four("xkeras-dp");
    const auto a = run_workers(2, "--out " + two.path().string());
    const auto b = run_workers(2, "--micro-batches 4 --out " + four.path().string());
    INFO(a.output << b.output);
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    const auto ha = nlohmann::json::parse(dp_file(two, "history", 0));
    const auto hb = nlohmann::json::parse(dp_file(four, "history", 0));
    CHECK(!same_bytes(dp_weights(two, 0), dp_weights(four, 0)));
    CHECK(ha["loss"][0].get<double>() == Approx(hb["loss"][0].get<double>()).epsilon(1e-5));
}

TEST_CASE("data-parallel fit with synchronized BatchNormalization is one process's fit") {
    // the moments of the whole global batch: 2 and 4 processes train what one process does
    // on the whole batch, up to the sums' rounding in float; per-process moments do not
    testing::temp_dir plain("xkeras-dp"), two("xkeras-dp"), four("xkeras-dp"), own("xkeras-dp");
    const std::string model = "--model cnn_bn --sync-bn --out ";
    const auto a = run_workers(1, "--plain " + model + plain.path().string());
    const auto b = run_workers(2, model + two.path().string());
    const auto c = run_workers(4, model + four.path().string());
    const auto d = run_workers(2, "--model cnn_bn --out " + own.path().string());
    INFO(a.output << b.output << c.output << d.output);
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    REQUIRE(c.exit_code == 0);
    REQUIRE(d.exit_code == 0);
    const std::string reference = dp_weights(plain, 0);
    CHECK(weights_gap(reference, dp_weights(two, 0)) < 1e-5);
    CHECK(weights_gap(reference, dp_weights(four, 0)) < 1e-5);
    CHECK(weights_gap(reference, dp_weights(own, 0)) > 1e-4);
    CHECK(same_bytes(dp_weights(two, 1), dp_weights(two, 0)));
    CHECK(same_bytes(dp_weights(four, 3), dp_weights(four, 0)));
    // its sums need every process's one micro-batch: more are refused on every process
    const auto e = run_workers(2, "--micro-batches 4 " + model + own.path().string());
    CHECK(e.exit_code != 0);
    CHECK_THAT(e.output,
               Catch::Contains("is synchronized") && Catch::Contains("micro_batches = 4"));
    // and so does a batch with fewer rows than processes, before the first step
    const auto f = run_workers(4, "--batch 3 " + model + own.path().string());
    CHECK(f.exit_code != 0);
    CHECK_THAT(f.output, Catch::Contains("needs one row of every batch"));
}

TEST_CASE("data-parallel fit: rank 0 alone writes the checkpoint and the CSV log") {
    testing::temp_dir out("xkeras-dp");
    const std::string csv = (out / "log.csv").string(), ckpt = (out / "ckpt.xk").string();
    const auto r = run_workers(
        2, "--epochs 3 --csv " + csv + " --checkpoint " + ckpt + " --out " + out.path().string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::istringstream lines(testing::read_bytes(csv));
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) ++count;
    CHECK(count == 4);  // the header and three epochs, once
    const auto model = xkeras::load_model(ckpt);
    CHECK(model.optimizer().iterations() == 3 * 7);  // 896 samples in batches of 128
}

TEST_CASE(
    "data-parallel fit: a killed rank ends the job, and the checkpoint resumes it elsewhere") {
    testing::temp_dir out("xkeras-dp"), whole("xkeras-dp"), resumed("xkeras-dp");
    const std::string ckpt = (out / "ckpt.xk").string();
    // rank 1 dies (SIGKILL) as epoch 3 begins, its peers blocked in the reduction of its
    // gradients: the job must end, not hang
    const auto killed = run_workers(2,
                                    "--epochs 4 --micro-batches 4 --die-rank 1 --die-epoch 3 "
                                    "--checkpoint " +
                                        ckpt + " --out " + out.path().string(),
                                    60);
    INFO(killed.output);
    CHECK(killed.exit_code != 0);
    CHECK(killed.seconds < 30.0);
    CHECK_THAT(killed.output, Catch::Contains("rank 1"));
    // the checkpoint of epoch 2 is whole; resumed on 4 processes it ends where an
    // uninterrupted run on 1 process ends, bit for bit (same global shuffle, same masks)
    const auto model = xkeras::load_model(ckpt);
    CHECK(model.optimizer().iterations() == 2 * 7);
    const auto a = run_workers(4, "--epochs 4 --micro-batches 4 --resume " + ckpt +
                                      " --initial-epoch 2 --out " + resumed.path().string());
    const auto b = run_workers(1, "--epochs 4 --micro-batches 4 --out " + whole.path().string());
    INFO(a.output << b.output);
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    CHECK(same_bytes(dp_weights(resumed, 0), dp_weights(whole, 0)));
    CHECK(same_bytes(dp_weights(resumed, 3), dp_weights(whole, 0)));
}

TEST_CASE("data-parallel fit between two network namespaces, over TCP") {
    // two hosts on one machine (tests/mpi/netns.sh): a veth pair, one process per namespace,
    // launched as ssh would, Open MPI's TCP transport only, the link at 1 Gbit/s
    if (std::system("ip netns add xk_probe_dp >/dev/null 2>&1 && ip netns del xk_probe_dp") != 0) {
        WARN("network namespaces are not available here (not root, or no ip netns): skipped");
        return;
    }
    testing::temp_dir one("xkeras-dp"), two("xkeras-dp");
    const auto a = run_workers(1, "--micro-batches 4 --out " + one.path().string());
    const auto b =
        run_command("bash " XKERAS_NETNS_SCRIPT " --rate 1gbit --timeout 200 -- " XKERAS_DP_WORKER
                    " --micro-batches 4 --out " +
                    two.path().string());
    INFO(a.output << b.output);
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    CHECK(same_bytes(dp_weights(two, 0), dp_weights(one, 0)));
    CHECK(same_bytes(dp_weights(two, 1), dp_weights(one, 0)));
    // 14 steps of 2.1 MB of gradients (half sent, half received back by each), and the broadcast
    const auto at = b.output.find("the link carried ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(b.output.substr(at + 17)) > 14 * 2.1e6);
}
