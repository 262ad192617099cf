// tests/digit_board_server.hpp - the digit board server (examples/digit_board.hpp) on a free
// loopback port for the tests, a small untrained model it accepts, and a raw HTTP connection that
// can come from any loopback address and send any bytes, at any pace.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <catch2/catch.hpp>

#include "../examples/digit_board.hpp"

namespace testing {

/// A model the board accepts, untrained (Flatten, Dense 10 softmax): for the tests of requests
/// and connections, where the digit named does not matter.
inline xkeras::Sequential tiny_digit_model() {
    xkeras::utils::set_random_seed(1);
    xkeras::Sequential model;
    model.add(xkeras::Input({28, 28, 1}));
    model.add(xkeras::layers::Flatten());
    model.add(xkeras::layers::Dense(10, "softmax"));
    return model;
}

/// The server on a free loopback port, in a thread, for the scope.
class running_server {
  public:
    explicit running_server(xkeras::Sequential& model,
                            digit_board::preprocessing how = digit_board::preprocessing::document,
                            const digit_board::limits& lim = {},
                            const http_guard::connection_limits& connections = {})
        : server_(connections) {
        digit_board::install(server_, model, mutex_, how, lim);
        port_ = server_.bind_to_any_port("127.0.0.1");
        REQUIRE(port_ > 0);
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ~running_server() {
        server_.stop();
        thread_.join();
    }
    running_server(const running_server&) = delete;
    running_server& operator=(const running_server&) = delete;

    int port() const { return port_; }
    http_guard::counts stats() const { return server_.stats(); }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(60, 0);
        return c;
    }

  private:
    http_guard::server server_;
    std::mutex mutex_;
    int port_ = 0;
    std::thread thread_;
};

/// A TCP connection to 127.0.0.1:`port` from `source`, any address of 127.0.0.0/8 (Linux
/// answers on all of it), so that one test plays many clients; it sends exactly the bytes given.
class raw_connection {
  public:
    explicit raw_connection(int port, const std::string& source = "127.0.0.1") {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return;
        sockaddr_in from{};
        from.sin_family = AF_INET;
        ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(std::uint16_t(port));
        ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
        connected_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0 &&
                     ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
    }
    ~raw_connection() {
        if (fd_ >= 0) ::close(fd_);
    }
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    bool connected() const { return connected_; }

    /// Sends all of `bytes`; false once the server has closed the connection.
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            bytes.remove_prefix(std::size_t(n));
        }
        return true;
    }

    /// Whether the server has answered or closed the connection within `timeout`.
    bool readable_within(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, int(timeout.count())) > 0;
    }

    /// What the server sends until it closes the connection, or until `timeout` has passed.
    std::string read_until_closed(std::chrono::milliseconds timeout) {
        const auto end = std::chrono::steady_clock::now() + timeout;
        std::string got;
        char buf[4096];
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (left.count() <= 0 || !readable_within(left)) break;
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) break;  // closed (0) or reset
            got.append(buf, std::size_t(n));
        }
        return got;
    }

  private:
    int fd_ = -1;
    bool connected_ = false;
};

/// A complete POST /predict request that asks the server to close the connection after it.
inline std::string post_request(const std::string& body,
                                const std::string& type = "application/json") {
    return "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
}

/// The status of an HTTP response ("HTTP/1.1 429 ..." gives 429); 0 when there is none.
inline int status_of(const std::string& response) {
    if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
    return std::atoi(response.substr(9, 3).c_str());
}

/// The body of an HTTP response: what follows the blank line after the headers.
inline std::string body_of(const std::string& response) {
    const auto at = response.find("\r\n\r\n");
    return at == std::string::npos ? std::string() : response.substr(at + 4);
}

}  // namespace testing
