// The instruction-set level the dispatched kernels run at (backend/cpu.hpp, backend/dispatch.hpp):
// the CPU's by default, lower when forced, never higher; and each level's kernels compiled for
// it, whatever flags this program was built with.
#include <catch2/catch.hpp>

#include <xkeras/backend/dispatch.hpp>

#include "isa_level.hpp"

using namespace xkeras;
using backend::isa;

TEST_CASE("The kernels run at the CPU's level unless a lower one is forced", "[cpu][dispatch]") {
    const isa cpu = backend::detected_isa();
    for (isa level : testing::available_isas()) {
        testing::scoped_isa at(level);
        CHECK(backend::active_isa() == level);
        CHECK(backend::parse_isa(backend::name(level), "test") == level);
        // the widest vector of the level: 16 bytes generic, 32 with AVX2, 64 with AVX-512
        CHECK(backend::active_wide_bytes() == (level == isa::avx512 ? 64u
                                               : level == isa::avx2 ? 32u
                                                                    : 16u));
    }
    CHECK(backend::active_isa() <= cpu);
    if (cpu < isa::avx512) {
        CHECK_THROWS_WITH(backend::set_isa(isa::avx512),
                          Catch::Contains("this CPU runs up to") && Catch::Contains("avx512"));
        CHECK_THROWS_WITH(backend::parse_isa("avx512", "XKERAS_ISA"),
                          Catch::StartsWith("XKERAS_ISA: this CPU runs up to"));
    }
    CHECK_THROWS_WITH(backend::parse_isa("avx3", "XKERAS_ISA"),
                      "XKERAS_ISA: expected generic, avx2 or avx512, got 'avx3'");
    CHECK_THROWS_AS(backend::parse_isa("", "XKERAS_ISA"), value_error);
}

TEST_CASE("Each level runs code compiled for its vectors", "[cpu][dispatch]") {
    // the vector set the dispatcher hands over is the level's, and a sum over it is exact
    for (isa level : testing::available_isas()) {
        testing::scoped_isa at(level);
        std::size_t bytes = 0;
        float total = 0;
        backend::dispatch([&]<class V> {
            using W = typename V::template wide<float>;
            bytes = V::wide_bytes;
            typename W::vec acc{};
            float ones[W::lanes];
            for (auto& v : ones) v = 1.0f;
            for (int i = 0; i < 3; ++i) {
                typename W::vec v;
                W::load(v, ones);
                acc += v;
            }
            float out[W::lanes];
            W::store(out, acc);
            for (float v : out) total += v;
        });
        INFO(backend::name(level));
        CHECK(bytes == backend::active_wide_bytes());
        CHECK(total == float(3 * bytes / sizeof(float)));
    }
}
