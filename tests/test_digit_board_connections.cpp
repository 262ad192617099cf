// The digit board's defences against slow and greedy connections (issue 24, http_guard.hpp): a
// request trickling past its deadline gets 408, a silent connection is closed, a request that
// never ends is cut with 413, an address over its connection cap gets 429, and honest clients are
// served promptly while slow clients hold every connection they may. All on loopback, where every
// address of 127.0.0.0/8 is this machine: each client its own address. A few seconds in all.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// the sanitizers' allocator interface (GCC ships the runtime, not this header)
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

#include "digit_board_server.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using testing::raw_connection;

namespace {

/// A small drawing the board names: a vertical stroke on a 28x28 canvas.
std::string stroke_body() {
    std::vector<int> px(28 * 28, 0);
    for (int y = 6; y < 22; ++y) px[std::size_t(y * 28 + 14)] = 255;
    return nlohmann::json{{"width", 28}, {"height", 28}, {"pixels", px}}.dump();
}

/// A field of /proc/self/status, as a number: Threads, or VmRSS in KiB.
std::size_t status_field(const std::string& field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stoul(line.substr(field.size() + 1));
    return 0;
}

/// Bytes the program holds on the heap now. Resident memory would not tell: glibc keeps freed
/// memory in its per-thread arenas and AddressSanitizer in its quarantine (256 MiB), so only the
/// allocator's own count says whether buffers were given back.
std::size_t heap_bytes_in_use() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return __sanitizer_get_current_allocated_bytes();
#else
    const auto info = mallinfo2();
    return info.uordblks + info.hblkhd;
#endif
}

double seconds_since(steady::time_point t) {
    return std::chrono::duration<double>(steady::now() - t).count();
}

/// Sends `text` a byte every `pace` until the server answers or closes; what it answered.
std::string trickle(raw_connection& conn, const std::string& text, std::chrono::milliseconds pace) {
    for (char c : text) {
        if (!conn.send(std::string_view(&c, 1))) break;
        if (conn.readable_within(pace)) break;
    }
    return conn.read_until_closed(5s);
}

}  // namespace

TEST_CASE("A request that trickles past its deadline gets 408 and a silent connection is closed",
          "[digit_board][connections]") {
    auto model = testing::tiny_digit_model();
    testing::running_server server(model, digit_board::preprocessing::document, {},
                                   {.idle_timeout = 500ms, .request_timeout = 1500ms});
    {
        // a byte every 200 ms never leaves the server waiting 500 ms, but the request's 1.5 s run
        // out in the request line; cpp-httplib alone would have read it for 20 s
        raw_connection conn(server.port(), "127.0.3.1");
        REQUIRE(conn.connected());
        const auto start = steady::now();
        const auto answer =
            trickle(conn, "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 200ms);
        const double held = seconds_since(start);
        INFO("answered after " << held << " s: " << answer);
        CHECK(testing::status_of(answer) == 408);
        CHECK_THAT(testing::body_of(answer),
                   Catch::Contains("the request did not arrive in time: expected each byte "
                                   "within 500 ms and the whole request within 1500 ms"));
        CHECK(held > 1.3);
        CHECK(held < 2.5);
    }
    {
        // the head in time, the body too slowly
        raw_connection conn(server.port(), "127.0.3.2");
        REQUIRE(conn.connected());
        REQUIRE(
            conn.send("POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                      "application/json\r\nContent-Length: 100\r\n\r\n"));
        const auto answer = trickle(conn, std::string(100, ' '), 200ms);
        INFO(answer);
        CHECK(testing::status_of(answer) == 408);
        CHECK_THAT(testing::body_of(answer), Catch::Contains(" in time"));
    }
    {
        // nothing at all: closed after the idle timeout, without an answer
        raw_connection conn(server.port(), "127.0.3.3");
        REQUIRE(conn.connected());
        const auto start = steady::now();
        CHECK(conn.read_until_closed(5s).empty());
        CHECK(seconds_since(start) < 1.5);
    }
    CHECK(server.stats().timed_out >= 2);
}

TEST_CASE("A request that never ends is cut with 413", "[digit_board][connections]") {
    auto model = testing::tiny_digit_model();
    // a request may send 64 KiB of head + twice the 64 KiB body limit: 192 KiB
    testing::running_server server(model, digit_board::preprocessing::document,
                                   {.max_body = 64u << 10});
    raw_connection conn(server.port(), "127.0.3.4");
    REQUIRE(conn.connected());
    // a header line with no end: cpp-httplib's line reader would grow its buffer for ever
    REQUIRE(conn.send("POST /predict HTTP/1.1\r\nX-Endless: " + std::string(256u << 10, 'a')));
    const auto answer = conn.read_until_closed(10s);
    INFO(answer.substr(0, 300));
    CHECK(testing::status_of(answer) == 413);
    CHECK_THAT(testing::body_of(answer),
               Catch::Contains("the request is too large: expected at most 196608 bytes in all"));
    CHECK(server.stats().too_large == 1);
}

TEST_CASE("An address over its connection cap gets 429, and other addresses are served",
          "[digit_board][connections]") {
    auto model = testing::tiny_digit_model();
    testing::running_server server(model, digit_board::preprocessing::document, {},
                                   {.max_connections_per_client = 2});
    {
        raw_connection held1(server.port(), "127.0.4.1"), held2(server.port(), "127.0.4.1");
        REQUIRE(held1.connected());
        REQUIRE(held2.connected());
        raw_connection third(server.port(), "127.0.4.1");
        REQUIRE(third.connected());
        const auto refused = third.read_until_closed(5s);
        CHECK(testing::status_of(refused) == 429);
        CHECK(nlohmann::json::parse(testing::body_of(refused)).at("error") ==
              "too many connections from this address: at most 2 at once");
        raw_connection other(server.port(), "127.0.4.2");
        REQUIRE(other.send(testing::post_request(stroke_body())));
        CHECK(testing::status_of(other.read_until_closed(10s)) == 200);
    }
    // the two held connections closed: the address is served again once the server has noticed
    int status = 0;
    for (int attempt = 0; attempt < 40 && status != 200; ++attempt) {
        raw_connection again(server.port(), "127.0.4.1");
        REQUIRE(again.send(testing::post_request(stroke_body())));
        status = testing::status_of(again.read_until_closed(10s));
        if (status != 200) std::this_thread::sleep_for(50ms);
    }
    CHECK(status == 200);
    const auto stats = server.stats();
    CHECK(stats.refused_per_client >= 1);
    CHECK(stats.refused_busy == 0);
}

TEST_CASE("Honest clients are served promptly while slow clients hold their connections",
          "[digit_board][connections][load]") {
    auto model = testing::tiny_digit_model();
    (void)model.predict(xt::xtensor<float, 4>(xt::zeros<float>({1, 28, 28, 1})));  // pool starts
    const std::size_t heap_before = heap_bytes_in_use(), threads_before = status_field("Threads");
    // short timeouts keep the test short; the caps are the defaults (64 in all, 8 per address)
    const http_guard::connection_limits connections{.idle_timeout = 1000ms,
                                                    .request_timeout = 3000ms};
    std::vector<double> latencies;  // seconds, of every honest request
    int honest_failures = 0, answers_408 = 0, answers_429 = 0, answers_other = 0;
    double longest_held = 0;  // seconds from connecting to the server's answer, slow clients
    std::mutex mutex;
    {
        testing::running_server server(model, digit_board::preprocessing::document, {},
                                       connections);
        const auto body = stroke_body();
        const auto stop_at = steady::now() + 5s;
        std::vector<std::thread> clients;
        // 16 slow clients: 12 from one address (8 admitted, 4 refused while those are held) and
        // 4 from addresses of their own; each sends its request a byte every 250 ms, for ever
        std::vector<std::string> slow_sources(12, "127.0.5.1");
        for (int i = 2; i <= 5; ++i) slow_sources.push_back("127.0.5." + std::to_string(i));
        const std::string slow_request =
            "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n" +
            std::string(100000, ' ');
        for (const auto& source : slow_sources)
            clients.emplace_back([&, source] {
                while (steady::now() < stop_at) {
                    raw_connection conn(server.port(), source);
                    if (!conn.connected()) {
                        std::this_thread::sleep_for(50ms);
                        continue;
                    }
                    const auto start = steady::now();
                    std::string answer;
                    for (std::size_t i = 0; i < slow_request.size() && steady::now() < stop_at;
                         ++i) {
                        if (!conn.send(std::string_view(&slow_request[i], 1)) ||
                            conn.readable_within(250ms)) {
                            answer = conn.read_until_closed(2s);
                            break;
                        }
                    }
                    if (answer.empty()) continue;  // the test ended, or closed without answer
                    const double held = seconds_since(start);
                    const int status = testing::status_of(answer);
                    {
                        std::lock_guard<std::mutex> lock(mutex);
                        if (status == 408) {
                            ++answers_408;
                            longest_held = std::max(longest_held, held);
                        } else if (status == 429) {
                            ++answers_429;
                        } else {
                            ++answers_other;
                        }
                    }
                    if (status == 429) std::this_thread::sleep_for(250ms);
                }
            });
        std::this_thread::sleep_for(300ms);  // the slow clients hold their connections
        // 16 honest clients, each its own address, a request every 20 ms or so
        for (int i = 1; i <= 16; ++i)
            clients.emplace_back([&, i] {
                const auto source = "127.0.6." + std::to_string(i);
                while (steady::now() < stop_at) {
                    const auto start = steady::now();
                    raw_connection conn(server.port(), source);
                    const bool sent = conn.send(testing::post_request(body));
                    const int status = sent ? testing::status_of(conn.read_until_closed(10s)) : 0;
                    const double latency = seconds_since(start);
                    {
                        std::lock_guard<std::mutex> lock(mutex);
                        latencies.push_back(latency);
                        honest_failures += status != 200;
                    }
                    std::this_thread::sleep_for(20ms);
                }
            });
        for (auto& t : clients) t.join();
        const auto stats = server.stats();
        INFO("server: " << stats.admitted << " admitted, " << stats.refused_per_client
                        << " refused by the per-client cap, " << stats.refused_busy
                        << " refused busy, " << stats.timed_out << " timed out");
        CHECK(stats.refused_per_client >= 4);
        CHECK(stats.refused_busy == 0);
    }
    const std::size_t heap_after = heap_bytes_in_use(), threads_after = status_field("Threads");
    std::sort(latencies.begin(), latencies.end());
    REQUIRE(!latencies.empty());
    const auto at = [&](double q) {
        return latencies[std::size_t(q * double(latencies.size() - 1))];
    };
    INFO(latencies.size() << " honest requests: p50 " << at(0.5) * 1000 << " ms, p99 "
                          << at(0.99) * 1000 << " ms, max " << latencies.back() * 1000
                          << " ms; slow clients: " << answers_408 << " x 408 (held at most "
                          << longest_held << " s), " << answers_429 << " x 429, " << answers_other
                          << " other; heap " << heap_before / 1024 << " -> " << heap_after / 1024
                          << " KiB, " << threads_before << " -> " << threads_after
                          << " threads; RSS " << status_field("VmRSS") / 1024 << " MiB");
    WARN(latencies.size() << " honest requests: p50 " << at(0.5) * 1000 << " ms, p99 "
                          << at(0.99) * 1000 << " ms, max " << latencies.back() * 1000 << " ms");
    CHECK(latencies.size() >= 100);
    CHECK(honest_failures == 0);
    // the goal is 1 s at p99; 2 s leaves room for a busy CI machine: what is checked is that
    // honest clients are not starved, not the speed
    CHECK(at(0.99) < 2.0);
    // every slow connection admitted is cut at its deadline (3 s after its first byte)
    CHECK(answers_408 >= 8);
    CHECK(answers_429 >= 4);
    CHECK(answers_other == 0);
    CHECK(longest_held < 3.0 + 1.5);
    // threads, buffers and parsed requests are given back
    CHECK(threads_after == threads_before);
    CHECK(heap_after < heap_before + 4 * 1024 * 1024);
}
