// examples/http_guard.hpp - a cpp-httplib server that slow or greedy clients cannot starve: caps on
// connections per client address and in all, a timeout between bytes, a deadline for each
// request, and a bound on the bytes one request may send.
//
// Why (issue 24): cpp-httplib 0.11.4 serves each connection on one thread of a fixed pool
// (CPPHTTPLIB_THREAD_POOL_COUNT) and restarts its read timeout with every recv, so a handful of
// clients sending a byte every second or two held every thread for as long as they liked and
// nobody else was served. How this server answers that:
//
// - Admission at accept time. listen_internal() hands each accepted socket to the task queue.
//   This server's queue runs the hand-over at once, on the accepting thread, where
//   process_and_close_socket (overridden) reads the peer's address and either refuses the
//   connection there (429 when that address already has max_connections_per_client open, 503
//   when max_connections are open in all: one short answer written without blocking, then close)
//   or passes it to the worker pool. The pool has one thread per admitted connection, so an
//   admitted connection never waits for a thread, and refused ones never take one.
// - Time. Connections are read and written through this header's own Stream (cpp-httplib's
//   process_request parses the requests, unchanged). A read waits at most idle_timeout for the
//   next byte, and never past the request's deadline, request_timeout after its first byte; the
//   first byte of each request must come within idle_timeout. A client trickling a byte a second
//   thus holds a thread for at most idle_timeout + request_timeout, then gets 408 and is
//   disconnected. The response has request_timeout of its own to be written.
// - Bytes. One request may send at most max_head_bytes plus twice the payload limit
//   (set_payload_max_length; twice, for chunked framing), however it is framed: a request line
//   or header that never ends, a chunk-size line of a million zeros, or a body drained after a 413
//   cannot keep a thread reading, nor grow a buffer, without end.
//
// An address thus holds at most max_connections_per_client threads, a request that trickles
// holds its thread for at most idle_timeout + request_timeout before it is cut, and honest
// clients from other addresses find a free thread as long as fewer than
// max_connections / max_connections_per_client addresses misbehave at once. Not done here: TLS,
// authentication, limits on the rate of requests (a client may send complete requests back to
// back on its connections), and telling clients apart behind one address (a reverse proxy or NAT
// makes them one): docs/security.md.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace http_guard {

/// Limits on connections. Defaults: 64 connections served at once, 8 of them from one address,
/// 2 s for the next byte, 10 s for a request, 64 KiB of request line and headers, 100 requests
/// on one connection.
struct connection_limits {
    /// Connections served at once, in all; each has a thread. Defaults to 64.
    std::size_t max_connections = 64;
    /// Connections open at once from one IPv4 address or one IPv6 /64. Defaults to 8 (browsers
    /// open at most 6 to one server).
    std::size_t max_connections_per_client = 8;
    /// Longest wait for the next byte of a request, and for the first byte of the next request on
    /// a kept-alive connection. Defaults to 2 s.
    std::chrono::milliseconds idle_timeout{2000};
    /// Longest time from a request's first byte to its last; also the time its response has to be
    /// written. Defaults to 10 s.
    std::chrono::milliseconds request_timeout{10000};
    /// Bytes of request line and headers allowed on top of the body's allowance. Defaults to
    /// 64 KiB.
    std::size_t max_head_bytes = 64u << 10;
    /// Requests served on one kept-alive connection before it is closed. Defaults to 100.
    std::size_t max_requests_per_connection = 100;
};

/// Why reading the current request stopped before its end.
enum class read_stop {
    none,       ///< it did not
    timeout,    ///< idle_timeout without a byte, or past request_timeout
    too_large,  ///< more bytes than max_head_bytes + 2 x the payload limit
};

/// What the server has done since it was made.
struct counts {
    std::size_t admitted = 0;            ///< connections given a thread
    std::size_t refused_per_client = 0;  ///< 429: the address had max_connections_per_client
    std::size_t refused_busy = 0;        ///< 503: max_connections were open
    std::size_t timed_out = 0;           ///< requests cut by idle_timeout or request_timeout
    std::size_t too_large = 0;           ///< requests cut by the byte bound
};

namespace detail {

using steady = std::chrono::steady_clock;

/// `text` as a JSON string: printable ASCII kept (quote and backslash escaped), other bytes as
/// \u00XX, cut after 200 bytes.
inline std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size() && i < 200; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c >= 0x20 && c < 0x7f) {
            out += char(c);
        } else {
            char hex[7];
            std::snprintf(hex, sizeof hex, "\\u%04x", unsigned(c));
            out += hex;
        }
    }
    if (text.size() > 200) out += "...";
    return out + '"';
}

/// The body of an error answer: {"error": message}.
inline std::string error_body(std::string_view message) {
    return "{\"error\": " + json_string(message) + "}";
}

/// A complete answer that closes the connection, for refusals written without the HTTP server.
inline std::string error_response(int status, const char* reason, std::string_view message) {
    const auto body = error_body(message);
    return "HTTP/1.1 " + std::to_string(status) + " " + reason +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" + body;
}

/// The address of `addr` as text, and its port.
inline void address_text(const sockaddr_storage& addr, std::string& ip, int& port) {
    char text[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
        ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
        ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        port = ntohs(a->sin6_port);
    }
    ip = text;
}

/// Who counts as one client: an IPv4 address, or the first 64 bits of an IPv6 address (a host
/// usually has a whole /64 to pick addresses from); an IPv4-mapped IPv6 address as IPv4.
inline std::string client_key(int sock) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "unknown";
    char text[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, text,
                    sizeof text);
        return text;
    }
    if (addr.ss_family != AF_INET6) return "local";
    in6_addr a = reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
        in_addr v4;
        std::memcpy(&v4, a.s6_addr + 12, 4);
        ::inet_ntop(AF_INET, &v4, text, sizeof text);
        return text;
    }
    std::memset(a.s6_addr + 8, 0, 8);
    ::inet_ntop(AF_INET6, &a, text, sizeof text);
    return std::string(text) + "/64";
}

/// Closes a connection after its last answer: the write side first, then whatever the client
/// still sends is read and dropped (half a second, 1 MiB at most) before close. Closing with
/// unread bytes would send a reset, which can destroy the answer before the client reads it.
inline void linger_close(int sock) {
    ::shutdown(sock, SHUT_WR);
    const auto until = steady::now() + std::chrono::milliseconds(500);
    char sink[16384];
    for (std::size_t drained = 0; drained < (1u << 20);) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - steady::now());
        pollfd p{sock, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) <= 0) break;
        const auto n = ::recv(sock, sink, sizeof sink, MSG_DONTWAIT);
        if (n <= 0) break;
        drained += std::size_t(n);
    }
    ::close(sock);
}

/// One admitted connection as cpp-httplib's Stream: reads buffered, bounded in time (idle
/// timeout, request deadline) and in bytes; writes bounded by the response's deadline. Every
/// wait polls in slices of at most 100 ms, so that the connection notices the server stopping.
class connection final : public httplib::Stream {
  public:
    connection(int sock, const connection_limits& lim, const std::atomic<socket_t>& listening)
        : sock_(sock), lim_(lim), listening_(listening) {}

    /// Waits for the first byte of the next request, at most idle_timeout; false when none came
    /// or the server is stopping (true also when the client closed: the read then says so).
    bool wait_for_request() const {
        return buffered() > 0 || wait(POLLIN, steady::now() + lim_.idle_timeout) == ready;
    }

    /// Starts the next request: its deadline, its byte count (what is buffered already belongs
    /// to it) and `max_bytes`.
    void begin_request(std::size_t max_bytes) {
        read_deadline_ = steady::now() + lim_.request_timeout;
        received_ = buffered();
        max_bytes_ = max_bytes;
        writing_ = false;
        stop_ = read_stop::none;
        close_ = false;
    }

    read_stop stopped() const { return stop_; }
    bool wrote() const { return writing_; }
    void request_close() { close_ = true; }
    bool close_requested() const { return close_; }

    /// Writes `bytes` at once (an answer cpp-httplib did not write), within the write deadline.
    void send_all(std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = write(bytes.data(), bytes.size());
            if (n <= 0) return;
            bytes.remove_prefix(std::size_t(n));
        }
    }

    bool is_readable() const override {
        return buffered() > 0 ||
               wait(POLLIN, std::min(steady::now() + lim_.idle_timeout, read_deadline_)) == ready;
    }
    bool is_writable() const override {
        return wait(POLLOUT, writing_ ? write_deadline_ : steady::now() + lim_.idle_timeout) ==
               ready;
    }

    ssize_t read(char* ptr, size_t size) override {
        if (buffered() == 0) {
            if (stop_ != read_stop::none) return -1;
            if (received_ >= max_bytes_) {
                stop_ = read_stop::too_large;
                return -1;
            }
            for (;;) {
                const auto w =
                    wait(POLLIN, std::min(steady::now() + lim_.idle_timeout, read_deadline_));
                if (w == timeout) stop_ = read_stop::timeout;
                if (w != ready) return -1;
                const auto room = std::min(sizeof buf_, max_bytes_ - received_);
                const auto n = ::recv(sock_, buf_, room, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
                if (n <= 0) return n;  // 0: the client closed; -1: an error
                received_ += std::size_t(n);
                begin_ = 0;
                end_ = std::size_t(n);
                break;
            }
        }
        const auto n = std::min(size, buffered());
        std::memcpy(ptr, buf_ + begin_, n);
        begin_ += n;
        return ssize_t(n);
    }

    ssize_t write(const char* ptr, size_t size) override {
        if (!writing_) {
            writing_ = true;
            write_deadline_ = steady::now() + lim_.request_timeout;
        }
        for (;;) {
            const auto n = ::send(sock_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n >= 0) return n;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
            if (wait(POLLOUT, write_deadline_) != ready) return -1;
        }
    }

    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
            address_text(addr, ip, port);
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
            address_text(addr, ip, port);
    }
    socket_t socket() const override { return sock_; }

  private:
    enum wait_result { ready, timeout, stopping, failed };

    std::size_t buffered() const { return end_ - begin_; }

    /// Polls for `events` until `until`.
    wait_result wait(short events, steady::time_point until) const {
        for (;;) {
            if (listening_ == INVALID_SOCKET) return stopping;
            const auto left = until - steady::now();
            if (left <= steady::duration::zero()) return timeout;
            const auto slice = std::chrono::ceil<std::chrono::milliseconds>(
                std::min<steady::duration>(left, std::chrono::milliseconds(100)));
            pollfd p{sock_, events, 0};
            const int r = ::poll(&p, 1, int(slice.count()));
            if (r > 0) return ready;
            if (r < 0 && errno != EINTR) return failed;
        }
    }

    int sock_;
    connection_limits lim_;
    const std::atomic<socket_t>& listening_;  // the server's socket; INVALID_SOCKET once stopping
    char buf_[16384];
    std::size_t begin_ = 0, end_ = 0;
    steady::time_point read_deadline_ = steady::now(), write_deadline_ = steady::now();
    std::size_t received_ = 0, max_bytes_ = 0;
    bool writing_ = false;
    read_stop stop_ = read_stop::none;
    bool close_ = false;
};

/// The connection served on the calling thread, if any.
inline connection*& current_connection() {
    static thread_local connection* c = nullptr;
    return c;
}

/// The task queue listen_internal() hands accepted sockets to: it runs the hand-over at once, on
/// the accepting thread (the server's admission), and owns the pool that serves admitted
/// connections.
class admission_queue final : public httplib::TaskQueue {
  public:
    explicit admission_queue(std::size_t threads) : workers(threads) {}
    void enqueue(std::function<void()> fn) override { fn(); }
    void shutdown() override { workers.shutdown(); }
    httplib::ThreadPool workers;
};

}  // namespace detail

/// An httplib::Server with the defences above. Use it as an httplib::Server (routes, bind,
/// listen, stop); it installs an error handler that answers 408 / 413 when reading a request was
/// cut, and {"error": ...} JSON for cpp-httplib's own refusals (400, 404, 414, ...): replacing it
/// with set_error_handler loses both. It also owns new_task_queue.
class server : public httplib::Server {
  public:
    /// Throws std::invalid_argument when a limit is zero.
    explicit server(const connection_limits& lim = {}) : lim_(lim) {
        const auto positive = [](const char* name, long long v) {
            if (v <= 0)
                throw std::invalid_argument(std::string("http_guard::server: expected ") + name +
                                            " to be positive, got " + std::to_string(v));
        };
        positive("max_connections", static_cast<long long>(lim.max_connections));
        positive("max_connections_per_client",
                 static_cast<long long>(lim.max_connections_per_client));
        positive("idle_timeout (ms)", lim.idle_timeout.count());
        positive("request_timeout (ms)", lim.request_timeout.count());
        positive("max_requests_per_connection",
                 static_cast<long long>(lim.max_requests_per_connection));
        new_task_queue = [this] {
            // cpp-httplib listens with a backlog of 5: a burst of clients beyond it waits for a
            // SYN retransmission (a second or more). Listening again only lengthens the queue.
            ::listen(svr_sock_, 128);
            auto* queue = new detail::admission_queue(lim_.max_connections);
            workers_ = &queue->workers;
            return queue;
        };
        const auto idle_s = std::max<time_t>(1, time_t(lim_.idle_timeout.count() / 1000));
        set_keep_alive_max_count(lim_.max_requests_per_connection);
        set_keep_alive_timeout(idle_s);  // what the Keep-Alive answer header announces
        set_read_timeout(idle_s);        // unused: connection's reads do their own timing
        set_write_timeout(idle_s);
        Server::set_error_handler(
            HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
                return on_error(req, res);
            }));
    }

    const connection_limits& limits() const { return lim_; }

    counts stats() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return counts_;
    }

    /// Why reading the request served on the calling thread stopped before its end (none on a
    /// thread serving no connection of an http_guard::server). For handlers that read the body
    /// themselves through a ContentReader, to answer 408 or 413.
    static read_stop current_read_stop() {
        const auto* c = detail::current_connection();
        return c ? c->stopped() : read_stop::none;
    }

    /// Closes the connection served on the calling thread after the answer `res` (which says so
    /// to the client): for a handler that leaves part of the body unread, which would otherwise
    /// be taken for the next request.
    static void close_after_response(httplib::Response& res) {
        res.set_header("Connection", "close");
        if (auto* c = detail::current_connection()) c->request_close();
    }

  private:
    /// Runs on the accepting thread for each accepted socket: admits it (a worker serves it) or
    /// refuses it at once.
    bool process_and_close_socket(socket_t sock) override {
        const auto key = detail::client_key(sock);
        int refusal = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto& from_client = per_client_[key];
            if (open_ >= lim_.max_connections) {
                refusal = 503;
                ++counts_.refused_busy;
            } else if (from_client >= lim_.max_connections_per_client) {
                refusal = 429;
                ++counts_.refused_per_client;
            } else {
                ++from_client;
                ++open_;
                ++counts_.admitted;
            }
            if (from_client == 0) per_client_.erase(key);
        }
        if (refusal == 0) {
            workers_->enqueue([this, sock, key] { serve(sock, key); });
            return true;
        }
        const auto answer =
            refusal == 429 ? detail::error_response(
                                 429, "Too Many Requests",
                                 "too many connections from this address: at most " +
                                     std::to_string(lim_.max_connections_per_client) + " at once")
                           : detail::error_response(503, "Service Unavailable",
                                                    "the server is busy: at most " +
                                                        std::to_string(lim_.max_connections) +
                                                        " connections at once");
        // a new connection's send buffer is empty: the answer goes at once or not at all
        (void)::send(sock, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::shutdown(sock, SHUT_WR);
        char sink[4096];  // what the client sent already: closing on unread bytes would reset
        for (int i = 0; i < 16 && ::recv(sock, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
        }
        ::close(sock);
        return false;
    }

    /// Serves one admitted connection on a worker thread: its requests, one after the other.
    void serve(socket_t sock, const std::string& key) {
        read_stop cut = read_stop::none;
        try {
            detail::connection conn(sock, lim_, svr_sock_);
            detail::current_connection() = &conn;
            for (std::size_t left = lim_.max_requests_per_connection;
                 left > 0 && svr_sock_ != INVALID_SOCKET && conn.wait_for_request(); --left) {
                conn.begin_request(request_bytes());
                bool closed = false;
                const bool ok = process_request(conn, left == 1, closed, nullptr);
                cut = conn.stopped();
                if (cut != read_stop::none && !conn.wrote())  // cut before cpp-httplib answered
                    conn.send_all(cut == read_stop::timeout ? timeout_response()
                                                            : too_large_response());
                if (!ok || closed || cut != read_stop::none || conn.close_requested()) break;
            }
        } catch (...) {  // nothing may escape a pool thread; the connection just ends
        }
        detail::current_connection() = nullptr;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            counts_.timed_out += cut == read_stop::timeout;
            counts_.too_large += cut == read_stop::too_large;
        }
        detail::linger_close(sock);
        std::lock_guard<std::mutex> lock(mutex_);
        --open_;
        const auto it = per_client_.find(key);
        if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
    }

    /// The bytes one request may send: max_head_bytes + 2 x the payload limit, saturated.
    std::size_t request_bytes() const {
        const auto most = std::numeric_limits<std::size_t>::max();
        const std::size_t body = payload_max_length_;
        return body > (most - lim_.max_head_bytes) / 2 ? most : lim_.max_head_bytes + 2 * body;
    }

    std::string timeout_message() const {
        return "the request did not arrive in time: expected each byte within " +
               std::to_string(lim_.idle_timeout.count()) + " ms and the whole request within " +
               std::to_string(lim_.request_timeout.count()) + " ms";
    }
    std::string too_large_message() const {
        return "the request is too large: expected at most " + std::to_string(request_bytes()) +
               " bytes in all";
    }
    std::string timeout_response() const {
        return detail::error_response(408, "Request Timeout", timeout_message());
    }
    std::string too_large_response() const {
        return detail::error_response(413, "Payload Too Large", too_large_message());
    }

    /// cpp-httplib's error handler: a cut read becomes 408 or 413, and an answer without a body
    /// gets {"error": ...}.
    HandlerResponse on_error(const httplib::Request& req, httplib::Response& res) const {
        const auto cut = current_read_stop();
        if (cut == read_stop::timeout && res.status != 408) {
            res.status = 408;
            res.body.clear();
        } else if (cut == read_stop::too_large && res.status != 413) {
            res.status = 413;
            res.body.clear();
        }
        if (!res.body.empty()) return HandlerResponse::Handled;
        std::string message;
        switch (res.status) {
            case 400:
                message = "malformed request: expected an HTTP/1.1 request";
                break;
            case 404:
                message = "not found: " + req.method + " " + req.path;
                break;
            case 408:
                message = timeout_message();
                break;
            case 413:
                message = "the request is too large: expected a body of at most " +
                          std::to_string(payload_max_length_) + " bytes";
                if (cut == read_stop::too_large) message = too_large_message();
                break;
            case 414:
                message = "the request line is too long";
                break;
            default:
                message = "request refused (HTTP " + std::to_string(res.status) + ")";
        }
        res.set_content(detail::error_body(message), "application/json");
        return HandlerResponse::Handled;
    }

    connection_limits lim_;
    httplib::ThreadPool* workers_ = nullptr;  // the task queue's pool, while listening
    mutable std::mutex mutex_;
    std::map<std::string, std::size_t> per_client_;  // open connections by client_key
    std::size_t open_ = 0;
    counts counts_;
};

}  // namespace http_guard
