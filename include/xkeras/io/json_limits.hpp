// xkeras/io/json_limits.hpp - reading JSON that nobody vouches for (a request body, a model file
// from the internet): a parse bounded in nesting, size and number of values, and bounded
// descriptions of values and text for error messages.
//
// Why: nlohmann/json recurses once per nesting level when it prints a value (dump), and older
// versions also when they destroy one, so a document of a few hundred kilobytes nested tens of
// thousands of levels deep overflows a thread's stack as soon as an error message quotes it.
// parse_json refuses such a document while parsing, from the parser callback's `depth`, before the
// deeper level is built: what has been built when it throws is at most `max_depth` levels deep
// and is destroyed normally. nlohmann's parser itself keeps its state in a vector, not on the
// stack, so the refused text costs no recursion.
//
// Error messages must quote what came without becoming a second attack: describe() prints a value
// in at most two levels and about `max_chars` characters, excerpt() does the same for raw text,
// and both return printable ASCII, so the message is valid UTF-8 whatever bytes came (a dump of
// a string holding invalid UTF-8 throws type_error 316; these never do).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../config.hpp"

namespace xkeras::io {

/// Limits on a JSON document read from outside. Defaults: 64 levels of nesting, any size, any
/// number of values.
struct json_limits {
    /// Containers nested in each other: a top-level object is level 1, an array inside it level
    /// 2; a document that is a single number or string has no level. Defaults to 64.
    std::size_t max_depth = 64;
    /// Length of the text in bytes. Defaults to no limit.
    std::size_t max_bytes = std::numeric_limits<std::size_t>::max();
    /// Values of every kind, each container counting one (object keys do not count): bounds the
    /// memory of the parsed value, which is several times that of the text. Defaults to no limit.
    std::size_t max_values = std::numeric_limits<std::size_t>::max();
};

/// `text` for an error message (config.hpp): printable ASCII, cut after `max_chars` characters.
using xkeras::detail::excerpt;

namespace detail {

/// `j` (a scalar) as JSON text in printable ASCII: \uXXXX escapes for non-ASCII, U+FFFD for
/// invalid UTF-8 (a plain dump would throw type_error 316).
inline std::string dump_ascii(const nlohmann::json& j) {
    return j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

/// `s` as a quoted JSON string of at most `max_chars` of its bytes, cut between UTF-8 sequences,
/// with "..." and the full length when cut.
inline std::string quoted_excerpt(const std::string& s, std::size_t max_chars) {
    if (s.size() <= max_chars) return dump_ascii(s);
    std::size_t n = max_chars;
    // a continuation byte (10xxxxxx) at the cut means the cut splits a sequence: back off to its
    // lead byte (at most 3 bytes back in valid UTF-8; invalid bytes become U+FFFD anyway)
    for (int back = 0; back < 3 && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80;
         ++back)
        --n;
    std::string out = dump_ascii(s.substr(0, n));
    out.insert(out.size() - 1, "...");
    return out + " (" + std::to_string(s.size()) + " bytes)";
}

/// Appends `j` to `out` in at most `levels` levels of containers ("[...]" below them) and stops
/// listing elements once `out` reaches `limit` characters ("..."). Recurses at most `levels`
/// deep, whatever the depth of `j`.
inline void append_bounded(std::string& out, const nlohmann::json& j, int levels,
                           std::size_t limit) {
    if (j.is_string()) {
        const std::size_t room = limit > out.size() ? limit - out.size() : 0;
        out += quoted_excerpt(j.get_ref<const std::string&>(), std::max<std::size_t>(room, 8));
        return;
    }
    if (!j.is_structured()) {
        out += j.is_binary() ? std::string("<binary>") : dump_ascii(j);
        return;
    }
    const bool array = j.is_array();
    if (levels <= 0 || j.empty()) {
        out += j.empty() ? (array ? "[]" : "{}") : (array ? "[...]" : "{...}");
        return;
    }
    out += array ? '[' : '{';
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (!first) out += ',';
        first = false;
        if (out.size() >= limit) {
            out += "...";
            break;
        }
        if (!array) out += quoted_excerpt(it.key(), 32) + ':';
        append_bounded(out, it.value(), levels - 1, limit);
    }
    out += array ? ']' : '}';
}

}  // namespace detail

/// `j` for an error message, bounded whatever `j` holds: a number, true, false or null as JSON;
/// a string quoted, cut after `max_chars` bytes with its length; an array or object as its size
/// and a prefix of at most two levels ("an array of 3 elements: [1,[2,[...]],4]"). Printable
/// ASCII (valid UTF-8) even when a string in `j` holds invalid UTF-8. Defaults to 80 characters
/// of content (a little more with the size and the closing brackets).
inline std::string describe(const nlohmann::json& j, std::size_t max_chars = 80) {
    if (j.is_discarded()) return "a discarded value";
    if (j.is_binary()) return "binary data of " + std::to_string(j.get_binary().size()) + " bytes";
    if (!j.is_structured()) {
        std::string out;
        detail::append_bounded(out, j, 0, max_chars);
        return out;
    }
    const std::size_t n = j.size();
    std::string out = j.is_array()
                          ? "an array of " + std::to_string(n) + (n == 1 ? " element" : " elements")
                          : "an object of " + std::to_string(n) + (n == 1 ? " key" : " keys");
    out += ": ";
    detail::append_bounded(out, j, 2, out.size() + max_chars);
    return out;
}

/// Parses `text` as one JSON document within `lim`. Throws value_error starting with `what` (say
/// "model JSON" or "POST /predict"), saying what was expected and what came, when the text is
/// longer than `lim.max_bytes`, nests containers deeper than `lim.max_depth`, holds more than
/// `lim.max_values` values, or is not JSON (nlohmann's reason, quoted by excerpt: a number out of
/// a double's range included). Nothing deeper than `lim.max_depth` is ever built.
inline nlohmann::json parse_json(std::string_view text, const json_limits& lim,
                                 const std::string& what) {
    if (text.size() > lim.max_bytes)
        throw value_error(xkeras::detail::cat(what, ": expected at most ", lim.max_bytes,
                                              " bytes of JSON, got ", text.size()));
    using event = nlohmann::json::parse_event_t;
    std::size_t values = 0;
    // Throwing from the callback ends the parse at once; returning false would only drop the
    // value and parse on.
    auto check = [&](int depth, event e, nlohmann::json&) {
        const bool container = e == event::object_start || e == event::array_start;
        if (container && std::size_t(depth) >= lim.max_depth)
            throw value_error(xkeras::detail::cat(
                what, ": expected JSON nested at most ", lim.max_depth, " levels deep, got ",
                e == event::array_start ? "an array" : "an object", " at level ", depth + 1));
        if ((container || e == event::value) && ++values > lim.max_values)
            throw value_error(xkeras::detail::cat(what, ": expected at most ", lim.max_values,
                                                  " JSON values, got more"));
        return true;
    };
    try {
        return nlohmann::json::parse(text.begin(), text.end(), check);
    } catch (const nlohmann::json::exception& e) {  // parse_error; out_of_range for 1E999
        throw value_error(what + ": malformed JSON: " + excerpt(e.what(), 240));
    }
}

}  // namespace xkeras::io
