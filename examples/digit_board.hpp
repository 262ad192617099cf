// examples/digit_board.hpp - E4's drawing application as a small web service (cpp-httplib): the
// request checks, the document's preprocessing of the drawing and the routes. The program is
// examples/digit_board.cpp; the page it serves is examples/digit_board_page.hpp.
//
// The page sends the whole canvas as grey levels, white ink on black as in the document's pygame
// window: POST /predict with {"width": W, "height": H, "pixels": [W*H integers 0-255]}. The
// answer: {"digit": 7, "label": "Seven", "probabilities": [10 numbers], "box": [x0, y0, x1, y1],
// "input": [784 integers, the 28x28 picture the model saw]}. Bad requests get a 4xx answer with
// {"error": "..."} naming what was expected and what came. What the server withstands (body size,
// JSON depth, slow and greedy clients) and what it does not: docs/security.md; the connection
// limits are http_guard.hpp's.
#pragma once

#include <httplib.h>
#include <stb_image_resize.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <xkeras/io/json_limits.hpp>
#include <xkeras/xkeras.hpp>

#include "digit_board_page.hpp"
#include "digit_image.hpp"
#include "http_guard.hpp"

namespace digit_board {

/// The document's LABELS: the word drawn beside the red box.
inline const std::array<const char*, 10> labels{"Zero", "One", "Two",   "Three", "Four",
                                                "Five", "Six", "Seven", "Eight", "Nine"};

/// Limits on a request. Defaults: canvases up to 1024 x 1024, bodies up to 8 MiB (as received,
/// whatever the framing), JSON nested at most 16 levels deep (the format needs 2; the rest lets an
/// error name what came), two bodies parsed and classified at once. The connections themselves
/// are bounded by http_guard::connection_limits.
struct limits {
    int max_side = 1024;
    std::size_t max_body = 8u << 20;
    std::size_t max_json_depth = 16;
    /// Bodies parsed and classified at once: parsed JSON takes several times the body's memory,
    /// so this, times the largest parse, bounds it.
    int max_parallel_parses = 2;
};

/// A request the server refuses: the HTTP status (4xx) and why.
struct bad_request : std::runtime_error {
    int status;
    bad_request(int s, const std::string& what) : std::runtime_error(what), status(s) {}
};

/// The drawing: grey levels, row-major, ink bright on black.
struct canvas {
    int width = 0, height = 0;
    std::vector<float> pixels;
    float at(int x, int y) const {
        return pixels[std::size_t(y) * std::size_t(width) + std::size_t(x)];
    }
};

/// A rectangle, x1 and y1 excluded.
struct box {
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

/// Whether `content_type` names JSON: the media type application/json in any case, alone or
/// followed by parameters ("application/json; charset=utf-8"). "application/jsonfoo" is not.
inline bool is_json_content_type(std::string_view content_type) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
    auto type = content_type.substr(0, content_type.find(';'));
    while (!type.empty() && is_space(type.front())) type.remove_prefix(1);
    while (!type.empty() && is_space(type.back())) type.remove_suffix(1);
    constexpr std::string_view json = "application/json";
    return type.size() == json.size() &&
           std::equal(type.begin(), type.end(), json.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == b;
           });
}

/// Parses and checks a /predict body. Throws bad_request: 413 for a body over `lim.max_body`, 400
/// for anything else, naming what was expected and what came (in bounded, printable text: the
/// body is the client's and may be hostile).
inline canvas parse_request(const std::string& body, const limits& lim = {}) {
    if (body.size() > lim.max_body)
        throw bad_request(413, "expected a body of at most " + std::to_string(lim.max_body) +
                                   " bytes, got " + std::to_string(body.size()));
    using xkeras::io::describe;
    nlohmann::json j;
    try {
        // a valid body holds width * height + 3 values and 2 containers: the value limit keeps a
        // body of small containers ("[[],[],...") from parsing into many times its size
        const auto max_side = std::size_t(std::max(lim.max_side, 0));
        j = xkeras::io::parse_json(
            body, {.max_depth = lim.max_json_depth, .max_values = max_side * max_side + 64},
            "POST /predict");
    } catch (const xkeras::value_error& e) {
        throw bad_request(400, e.what());
    }
    if (!j.is_object())
        throw bad_request(400, std::string("expected a JSON object {\"width\", \"height\", "
                                           "\"pixels\"}, got a JSON ") +
                                   j.type_name());
    auto side = [&](const char* key) {
        const auto it = j.find(key);
        if (it == j.end() || !it->is_number_integer())
            throw bad_request(400, std::string("expected \"") + key + "\" to be an integer, got " +
                                       (it == j.end() ? "nothing" : describe(*it)));
        // an unsigned value beyond long long's range reads as negative: still refused
        const auto v = it->get<long long>();
        if (v < 8 || v > lim.max_side)
            throw bad_request(400, std::string("expected \"") + key + "\" in 8.." +
                                       std::to_string(lim.max_side) + ", got " + describe(*it));
        return int(v);
    };
    canvas c;
    c.width = side("width");
    c.height = side("height");
    const auto px_it = j.find("pixels");
    if (px_it == j.end() || !px_it->is_array())
        throw bad_request(400, "expected \"pixels\" to be an array of width*height integers, got " +
                                   (px_it == j.end() ? std::string("nothing") : describe(*px_it)));
    const auto& px = *px_it;
    const std::size_t n = std::size_t(c.width) * std::size_t(c.height);
    if (px.size() != n)
        throw bad_request(400, "expected " + std::to_string(n) + " pixels (" +
                                   std::to_string(c.width) + "x" + std::to_string(c.height) +
                                   "), got " + std::to_string(px.size()));
    c.pixels.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& v = px[i];
        if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() > 255)
            throw bad_request(400, "expected pixel " + std::to_string(i) +
                                       " to be an integer 0..255, got " + describe(v));
        c.pixels[i] = float(v.get<int>());
    }
    return c;
}

/// The bounding box of the ink (pixels above 0) grown by `margin` pixels on each side and
/// clipped to the canvas (the document's BOUNDARYINC = 5); nothing when the canvas is blank.
inline std::optional<box> ink_box(const canvas& c, int margin = 5) {
    box b{c.width, c.height, -1, -1};
    for (int y = 0; y < c.height; ++y)
        for (int x = 0; x < c.width; ++x)
            if (c.at(x, y) > 0) {
                b.x0 = std::min(b.x0, x), b.x1 = std::max(b.x1, x);
                b.y0 = std::min(b.y0, y), b.y1 = std::max(b.y1, y);
            }
    if (b.x1 < 0) return std::nullopt;
    return box{std::max(0, b.x0 - margin), std::max(0, b.y0 - margin),
               std::min(c.width, b.x1 + 1 + margin), std::min(c.height, b.y1 + 1 + margin)};
}

/// The document's preprocessing: the box cut out, resized to 28x28, padded by 10 pixels of
/// black on each side, resized to 28x28 again and divided by 255; shape (1, 28, 28, 1). The
/// document resizes with OpenCV; here stb_image_resize does it (its filtered downscaling keeps
/// thin strokes that plain bilinear sampling can skip).
inline xt::xarray<float> prepare(const canvas& c, const box& b) {
    const int bw = b.x1 - b.x0, bh = b.y1 - b.y0;
    std::vector<float> crop(std::size_t(bw) * std::size_t(bh));
    for (int y = 0; y < bh; ++y)
        for (int x = 0; x < bw; ++x)
            crop[std::size_t(y) * std::size_t(bw) + std::size_t(x)] = c.at(b.x0 + x, b.y0 + y);
    std::vector<float> small(28 * 28), padded(48 * 48, 0.f), out(28 * 28);
    stbir_resize_float(crop.data(), bw, bh, 0, small.data(), 28, 28, 0, 1);
    for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x)
            padded[std::size_t(y + 10) * 48 + std::size_t(x + 10)] = small[std::size_t(y * 28 + x)];
    stbir_resize_float(padded.data(), 48, 48, 0, out.data(), 28, 28, 0, 1);
    xt::xarray<float> x = xt::zeros<float>({1, 28, 28, 1});
    for (std::size_t i = 0; i < 784; ++i) x.data()[i] = std::clamp(out[i], 0.f, 255.f) / 255.f;
    return x;
}

/// How the drawing becomes the model's 28x28 input.
enum class preprocessing {
    document,  ///< the document's: box + 5 px, resize 28x28, pad 10 px, resize 28x28 (prepare)
    mnist,     ///< MNIST's own, as predict_digit: aspect kept, fit in 20x20, centre of mass
};

/// Classifies a drawing: the JSON answer described at the top. Throws bad_request (422) for a
/// blank canvas, and with MNIST's preprocessing for ink too faint to find (to_mnist's refusal).
/// `model` takes (1, 28, 28, 1) or (1, 784).
inline nlohmann::json classify(xkeras::Sequential& model, const canvas& c,
                               preprocessing how = preprocessing::document) {
    const auto b = ink_box(c);
    if (!b) throw bad_request(422, "the canvas is blank: draw a digit first");
    auto x = [&]() -> xt::xarray<float> {
        if (how == preprocessing::document) return prepare(c, *b);
        try {
            return xt::adapt(digit_image::to_mnist(digit_image::gray{c.width, c.height, c.pixels}),
                             xkeras::shape_t{1, digit_image::side, digit_image::side, 1});
        } catch (const xkeras::value_error& e) {  // ink too faint to tell from the paper
            throw bad_request(422, e.what());
        }
    }();
    std::vector<int> input(784);
    for (std::size_t i = 0; i < 784; ++i) input[i] = int(std::lround(x.data()[i] * 255.f));
    if (model.input_shape().size() == 1) x.reshape({1, 784});
    const auto p = model.predict(x, 1);
    std::vector<double> probs(p.data(), p.data() + p.size());
    const auto digit = std::size_t(std::max_element(probs.begin(), probs.end()) - probs.begin());
    return {{"digit", digit},
            {"label", digit < labels.size() ? labels[digit] : std::to_string(digit)},
            {"probabilities", probs},
            {"box", {b->x0, b->y0, b->x1, b->y1}},
            {"input", input}};
}

/// Checks that `model` can be served: input (28, 28, 1) or (784,), ten outputs.
inline void check_model(const xkeras::Sequential& model) {
    const auto in = model.input_shape();
    const bool ok_in = in == xkeras::shape_t{28, 28, 1} || in == xkeras::shape_t{784};
    if (!ok_in || !model.built() || model.output_shape() != xkeras::shape_t{10})
        throw xkeras::value_error(
            "digit_board: expected a model of MNIST digits, input (None, 28, 28, 1) or (None, "
            "784) and output (None, 10), got input " +
            xkeras::shape_str(in, true) + " and output " +
            (model.built() ? xkeras::shape_str(model.output_shape(), true) : "(not built)"));
}

/// Reads a /predict body through `reader` as it arrives, whatever its framing (Content-Length or
/// chunked), keeping at most `max_body` bytes. Throws bad_request: 413 beyond that (the rest is
/// read and dropped, so that the answer reaches the client; the server bounds how much and for
/// how long), 408 when the body did not arrive in time, 400 when it ended early.
inline std::string read_body(const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader, std::size_t max_body) {
    std::string body;
    std::size_t received = 0;
    const bool complete = reader([&](const char* data, std::size_t n) {
        received += n;
        if (received <= max_body) {
            body.append(data, n);
        } else if (body.capacity() > 0) {
            std::string().swap(body);
        }
        return true;
    });
    const auto cut = http_guard::server::current_read_stop();
    // cpp-httplib answers a Content-Length over the limit with 413 without reading the body
    if (received > max_body || res.status == 413 || cut == http_guard::read_stop::too_large) {
        if (!complete) http_guard::server::close_after_response(res);
        const auto length = req.get_header_value("Content-Length");
        throw bad_request(
            413, "expected a body of at most " + std::to_string(max_body) + " bytes, got " +
                     (length.empty() ? std::string("more")
                                     : "Content-Length " + xkeras::io::excerpt(length)));
    }
    if (cut == http_guard::read_stop::timeout)
        throw bad_request(408, "expected the body within the server's time limits, got " +
                                   std::to_string(received) + " bytes in time");
    if (!complete) {
        http_guard::server::close_after_response(res);
        throw bad_request(400, "expected a complete body, got " + std::to_string(received) +
                                   " bytes, then the connection closed or the chunked encoding "
                                   "broke");
    }
    return body;
}

/// Sets up the routes on `server`: GET / (the page), POST /predict (JSON in, JSON out). Every
/// request answers; a bad one with 4xx and {"error": ...}. Bodies are read by read_body (at most
/// `lim.max_body` bytes, chunked or not); a compressed body (Content-Encoding) is refused with
/// 415, since a small gzip body can inflate to gigabytes; at most `lim.max_parallel_parses`
/// bodies are parsed and classified at once. `model` is used under `model_mutex` (the server's
/// threads share it). The connections are bounded by `server` (http_guard.hpp).
inline void install(http_guard::server& server, xkeras::Sequential& model, std::mutex& model_mutex,
                    preprocessing how = preprocessing::document, const limits& lim = {}) {
    check_model(model);
    if (lim.max_parallel_parses < 1)
        throw xkeras::value_error("digit_board: expected max_parallel_parses >= 1, got " +
                                  std::to_string(lim.max_parallel_parses));
    server.set_payload_max_length(lim.max_body);  // a larger Content-Length: 413, body skipped
    // The message may quote the client's bytes: invalid UTF-8 becomes U+FFFD instead of making
    // dump() throw (type_error 316, which became a 500).
    auto error_json = [](httplib::Response& res, int status, const std::string& what) {
        res.status = status;
        res.set_content(nlohmann::json{{"error", what}}.dump(
                            -1, ' ', false, nlohmann::json::error_handler_t::replace),
                        "application/json");
    };
    auto parsing = std::make_shared<std::counting_semaphore<>>(lim.max_parallel_parses);
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(page, "text/html; charset=utf-8");
    });
    server.Post("/predict", [&model, &model_mutex, how, lim, error_json, parsing](
                                const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) {
        try {
            const auto type = req.get_header_value("Content-Type");
            if (!is_json_content_type(type)) {
                http_guard::server::close_after_response(res);  // the body stays unread
                throw bad_request(415, "expected Content-Type application/json, got '" +
                                           xkeras::io::excerpt(type) + "'");
            }
            const auto encoding = req.get_header_value("Content-Encoding");
            if (!encoding.empty() && encoding != "identity") {
                http_guard::server::close_after_response(res);
                throw bad_request(415, "expected an uncompressed body, got Content-Encoding '" +
                                           xkeras::io::excerpt(encoding) + "'");
            }
            const auto body = read_body(req, res, reader, lim.max_body);
            nlohmann::json answer;
            {
                parsing->acquire();
                struct slot {
                    std::counting_semaphore<>& s;
                    ~slot() { s.release(); }
                } held{*parsing};
                const auto c = parse_request(body, lim);
                std::lock_guard<std::mutex> lock(model_mutex);
                answer = classify(model, c, how);
            }
            res.set_content(answer.dump(), "application/json");
        } catch (const bad_request& e) {
            error_json(res, e.status, e.what());
        }
    });
    server.set_exception_handler(
        [error_json](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "internal error";
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = "internal error: " + xkeras::io::excerpt(e.what(), 240);
            } catch (...) {
            }
            error_json(res, 500, what);
        });
}

}  // namespace digit_board
