// tests/fuzz/fuzz_digit_board.cpp - the drawing app's POST /predict handler on arbitrary bodies:
// parse_request (default limits), then classify with both preprocessings on a small fixed model
// (Input (28, 28, 1), Flatten, Dense 10 softmax). Only digit_board::bad_request may come out
// (anything else would be the server's 500), and its message, which the server sends back, must
// be printable ASCII of bounded length whatever the body held; an answer must name a digit 0-9.
#include <algorithm>
#include <cstring>

#include "fuzz_common.hpp"

#include "../../examples/digit_board.hpp"

namespace fuzz_digit_board {

inline xkeras::Sequential& model() {
    static xkeras::Sequential m = [] {
        xkeras::utils::set_random_seed(1);
        xkeras::Sequential s;
        s.add(xkeras::Input({28, 28, 1}));
        s.add(xkeras::layers::Flatten());
        s.add(xkeras::layers::Dense(10, "softmax"));
        digit_board::check_model(s);
        return s;
    }();
    return m;
}

/// A refusal's message goes back to the client in JSON: it must not carry the body's bytes
/// (invalid UTF-8 made the server's dump() throw) nor its size.
inline void check_message(const digit_board::bad_request& e) {
    const char* what = e.what();
    const std::size_t n = std::strlen(what);
    if (n > 1024) fuzz::fail("a refusal's message is longer than 1024 characters");
    if (!std::all_of(what, what + n, [](char c) { return c >= 0x20 && c < 0x7f; }))
        fuzz::fail("a refusal's message is not printable ASCII");
}

inline int run(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    try {
        const auto c = digit_board::parse_request(body);
        for (auto how : {digit_board::preprocessing::document, digit_board::preprocessing::mnist}) {
            try {
                const auto answer = digit_board::classify(model(), c, how);
                const int digit = answer.at("digit").get<int>();
                if (digit < 0 || digit > 9) fuzz::fail("the answer names no digit 0-9");
            } catch (const digit_board::bad_request& e) {  // a blank or contrastless canvas
                check_message(e);
            }
        }
    } catch (const digit_board::bad_request& e) {
        check_message(e);
    }
    return 0;
}

}  // namespace fuzz_digit_board

XKERAS_FUZZ_TARGET(fuzz_digit_board)
