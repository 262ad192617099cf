// Reading JSON that nobody vouches for (xkeras/io/json_limits.hpp): documents nested far too deep
// refused while parsing, the size and value limits, nlohmann's errors quoted in bounded printable
// ASCII, and describe() / excerpt() bounded whatever the value or text holds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include <xkeras/io/json_limits.hpp>

#include "nested_json.hpp"

using namespace xkeras;
using io::describe;
using io::excerpt;
using io::json_limits;
using io::parse_json;
using testing::nested_json;
using testing::printable_ascii;

namespace {

/// The message of the value_error parse_json throws on `text`.
std::string refusal(const std::string& text, const json_limits& lim = {}) {
    try {
        (void)parse_json(text, lim, "test input");
    } catch (const value_error& e) {
        return e.what();
    }
    FAIL("parse_json accepted the text");
    return {};
}

}  // namespace

TEST_CASE("parse_json refuses documents nested deeper than the limit before building them",
          "[json_limits]") {
    const json_limits lim{.max_depth = 16};
    CHECK(parse_json(nested_json(16), lim, "test input") == nlohmann::json::parse(nested_json(16)));
    CHECK(refusal(nested_json(17), lim) ==
          "test input: expected JSON nested at most 16 levels deep, got an array at level 17");
    // the issue's body: 75,000 levels in a ~150 KB request; a plain parse builds the whole value,
    // and printing it (an error message that quoted it) overflowed the server thread's stack
    const std::string deep = "{\"width\": " + nested_json(75000) +
                             ", \"height\": 8, \"pixels\": [" + nested_json(75000) + "]}";
    CHECK(refusal(deep, lim) ==
          "test input: expected JSON nested at most 16 levels deep, got an array at level 17");
    CHECK_THAT(refusal(nested_json(100000)),
               Catch::EndsWith("at most 64 levels deep, got an array at level 65"));
    std::string objects;
    for (int i = 0; i < 100; ++i) objects += "{\"a\": ";
    CHECK_THAT(refusal(objects), Catch::EndsWith("got an object at level 65"));
    // scalars at the top level have no level; max_depth 0 refuses every container
    CHECK(parse_json("7", {.max_depth = 0}, "test input") == 7);
    CHECK_THAT(refusal("{}", {.max_depth = 0}), Catch::EndsWith("got an object at level 1"));
}

TEST_CASE("parse_json enforces the size and value limits", "[json_limits]") {
    CHECK(refusal("[1, 2, 3]", {.max_bytes = 8}) ==
          "test input: expected at most 8 bytes of JSON, got 9");
    CHECK(parse_json("[1, 2, 3]", {.max_bytes = 9}, "test input").size() == 3);
    // the array and its three numbers are four values; keys do not count
    CHECK(parse_json("[1, 2, 3]", {.max_values = 4}, "test input").size() == 3);
    CHECK(refusal("[1, 2, 3]", {.max_values = 3}) ==
          "test input: expected at most 3 JSON values, got more");
    CHECK(parse_json(R"({"a": 1, "b": [2]})", {.max_values = 4}, "test input").size() == 2);
}

TEST_CASE("parse_json quotes nlohmann's reason in bounded printable ASCII", "[json_limits]") {
    CHECK_THAT(refusal("{\"width\": 10,"),
               Catch::StartsWith("test input: malformed JSON: [json.exception.parse_error.101]"));
    CHECK_THAT(refusal("[1E999]"), Catch::Contains("malformed JSON: ") &&
                                       Catch::Contains("number overflow parsing '1E999'"));
    // nlohmann quotes the token it read, raw: invalid UTF-8, and as long as the token
    const auto bad_byte = refusal("{\"width\": \"\xff\"}");
    CHECK_THAT(bad_byte, Catch::Contains("ill-formed UTF-8 byte") && Catch::Contains("\\xFF"));
    CHECK(printable_ascii(bad_byte));
    const auto long_token = refusal("[\"" + std::string(1u << 20, 'a') + "\xc3\x28\"]");
    CHECK(printable_ascii(long_token));
    CHECK(long_token.size() < 400);
    CHECK_THAT(long_token, Catch::Contains(" bytes)"));
}

TEST_CASE("describe prints a bounded, printable description of any value", "[json_limits]") {
    using nlohmann::json;
    CHECK(describe(json(256)) == "256");
    CHECK(describe(json(-1.5)) == "-1.5");
    CHECK(describe(json(nullptr)) == "null");
    CHECK(describe(json(true)) == "true");
    CHECK(describe(json("10")) == "\"10\"");
    CHECK(describe(json("caf\xc3\xa9")) == "\"caf\\u00e9\"");
    CHECK(describe(json("\xff")) == "\"\\ufffd\"");  // a plain dump throws type_error 316
    CHECK(describe(json(std::string(5000, 'x')), 10) == "\"xxxxxxxxxx...\" (5000 bytes)");
    // a cut inside a UTF-8 sequence backs off to its first byte
    CHECK(describe(json("abcdefghi\xc3\xa9"), 10) == "\"abcdefghi...\" (11 bytes)");
    CHECK(describe(json::array()) == "an array of 0 elements: []");
    CHECK(describe(json::parse("[1, [2, [3, [4]]], 5]")) ==
          "an array of 3 elements: [1,[2,[...]],5]");
    CHECK(describe(json::parse(R"({"a": 1})")) == "an object of 1 key: {\"a\":1}");
    CHECK(describe(json::parse(R"({"a": {"b": {"c": 1}}, "d": "e"})")) ==
          "an object of 2 keys: {\"a\":{\"b\":{...}},\"d\":\"e\"}");
    // a million elements: a prefix, found without printing the rest
    const auto big = describe(json(std::vector<int>(1000000, 255)), 40);
    CHECK_THAT(big, Catch::StartsWith("an array of 1000000 elements: [255,255,"));
    CHECK_THAT(big, Catch::EndsWith(",...]"));
    CHECK(big.size() < 100);
    // a value nested 50,000 deep, built in the program (dump would recurse 50,000 times)
    json deep = json::array();
    for (int i = 0; i < 50000; ++i) {
        json outer = json::array();
        outer.push_back(std::move(deep));
        deep = std::move(outer);
    }
    CHECK(describe(deep) == "an array of 1 element: [[[...]]]");
}

TEST_CASE("excerpt writes raw text as bounded printable ASCII", "[json_limits]") {
    CHECK(excerpt("application/json") == "application/json");
    CHECK(excerpt("a\xff\x01z") == "a\\xFF\\x01z");
    CHECK(excerpt(std::string(1000, 'a'), 5) == "aaaaa... (1000 bytes)");
    CHECK(excerpt("") == "");
}
