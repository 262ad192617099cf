// xkeras/backend/cpu.hpp - the instruction-set level xkeras's own kernels run at, chosen once
// from the running CPU.
//
// A header-only library cannot choose its users' compiler flags, so the hot kernels are compiled
// for every level in the same program (backend/dispatch.hpp) and this header says which one
// runs. On x86-64 the levels are
//   generic  SSE2, which every x86-64 CPU has (x86-64-v1)
//   avx2     AVX2, FMA, BMI1/2 (the vector part of x86-64-v3)
//   avx512   avx2 plus AVX-512 F, BW, DQ and VL (the vector part of x86-64-v4)
// and elsewhere `generic` alone (on ARM64 that is NEON, which every ARMv8-A CPU has). The
// environment variable XKERAS_ISA, or set_isa, forces a lower level: for tests, and for users
// who must have the same bits on different machines. A program compiled with XKERAS_ONE_LEVEL
// defined (the sanitizer builds, where each level's copy of every kernel tripled the build time)
// has one level only: the one its own flags target.
#pragma once

#include <atomic>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../config.hpp"

namespace xkeras::backend {

/// The instruction-set levels, lowest first.
enum class isa { generic, avx2, avx512 };

inline const char* name(isa level) {
    switch (level) {
        case isa::generic:
            return "generic";
        case isa::avx2:
            return "avx2";
        case isa::avx512:
            return "avx512";
    }
    return "?";
}

#if defined(XKERAS_ONE_LEVEL)
/// The one level of a program built with XKERAS_ONE_LEVEL: what its flags target.
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
inline constexpr isa build_isa = isa::avx512;
#elif defined(__AVX2__) && defined(__FMA__) && defined(__BMI__) && defined(__BMI2__)
inline constexpr isa build_isa = isa::avx2;
#else
inline constexpr isa build_isa = isa::generic;
#endif
#endif

/// The lowest level the program can run at: generic, or with XKERAS_ONE_LEVEL its one level.
inline isa lowest_isa() {
#if defined(XKERAS_ONE_LEVEL)
    return build_isa;
#else
    return isa::generic;
#endif
}

/// The highest level the running CPU (and its operating system, which must save the wider
/// registers) supports; with XKERAS_ONE_LEVEL, the program's one level.
inline isa detected_isa() {
#if defined(XKERAS_ONE_LEVEL)
    return build_isa;
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static const isa level = [] {
        __builtin_cpu_init();
        const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
        const bool avx512 =
            avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
        return avx512 ? isa::avx512 : avx2 ? isa::avx2 : isa::generic;
    }();
    return level;
#else
    return isa::generic;
#endif
}

/// The level named `text` ("generic", "avx2", "avx512"); throws value_error naming `who`, what
/// came and what is accepted, and refuses a level above the CPU's (or below lowest_isa).
inline isa parse_isa(std::string_view text, const std::string& who) {
    for (isa level : {isa::generic, isa::avx2, isa::avx512}) {
        if (text != name(level)) continue;
        if (level > detected_isa())
            throw value_error(xkeras::detail::cat(who, ": this CPU runs up to '",
                                                  name(detected_isa()), "', got '", text, "'"));
        if (level < lowest_isa())
            throw value_error(xkeras::detail::cat(who, ": this program runs '", name(lowest_isa()),
                                                  "' only, got '", text, "'"));
        return level;
    }
    throw value_error(
        xkeras::detail::cat(who, ": expected generic, avx2 or avx512, got '", text, "'"));
}

namespace detail {

/// The level in force: the CPU's, or XKERAS_ISA's, or set_isa's; -1 until first read.
inline std::atomic<int>& isa_in_force() {
    static std::atomic<int> level{-1};
    return level;
}

}  // namespace detail

/// The level the kernels run at: XKERAS_ISA's when set (read at first use; a bad value throws
/// value_error at every use until it is fixed, rather than being ignored), otherwise the CPU's.
inline isa active_isa() {
    const int level = detail::isa_in_force().load(std::memory_order_relaxed);
    if (level >= 0) return static_cast<isa>(level);
    isa chosen = detected_isa();
    if (const char* env = std::getenv("XKERAS_ISA"); env && *env)
        chosen = parse_isa(env, "XKERAS_ISA");
    detail::isa_in_force().store(static_cast<int>(chosen), std::memory_order_relaxed);
    return chosen;
}

/// Runs the kernels at `level` from now on (call it between, not during, fit / predict); throws
/// value_error for a level above the CPU's.
inline void set_isa(isa level) {
    parse_isa(name(level), "set_isa");
    detail::isa_in_force().store(static_cast<int>(level), std::memory_order_relaxed);
}

}  // namespace xkeras::backend
