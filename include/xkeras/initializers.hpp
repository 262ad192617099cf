// xkeras/initializers.hpp - weight initializers with Keras's names, formulas and defaults.
//
// An `Initializer` is a small value type: a Keras class name, its parameters and an optional seed.
// It converts from Keras's string names, so `.kernel_initializer = "he_normal"` works.
//
// Fans (Keras compute_fans): (in, out) kernels: fan_in = in, fan_out = out; conv kernels
// (kh, kw, cin, cout): fan_in = kh*kw*cin, fan_out = kh*kw*cout; 1-D shapes: both = shape[0].
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "detail/random.hpp"
#include "tensor.hpp"

namespace xkeras::initializers {

/// A weight initializer. Build one with the factory functions below or from a Keras name.
struct Initializer {
    std::string class_name = "GlorotUniform";  ///< Keras class name.
    // VarianceScaling parameters (GlorotUniform, HeNormal, ... are VarianceScaling).
    double scale = 1.0;
    std::string mode = "fan_avg";          ///< fan_in, fan_out or fan_avg.
    std::string distribution = "uniform";  ///< uniform, truncated_normal or untruncated_normal.
    // RandomNormal (mean, stddev), RandomUniform (minval, maxval), Constant (value, unused).
    double a = 0.0;
    double b = 0.0;
    std::optional<std::uint64_t> seed{};  ///< Unseeded draws from the global seed generator.

    Initializer() = default;
    /// From a Keras name: "glorot_uniform", "he_normal", "zeros", ... (see get()).
    Initializer(const char* name);         // NOLINT(google-explicit-constructor)
    Initializer(const std::string& name);  // NOLINT(google-explicit-constructor)

    /// Fills `n` values of a weight of `shape` (the full weight shape, for the fans).
    template <class T>
    void fill(T* data, const shape_t& shape) const;
};

inline Initializer variance_scaling(double scale, std::string mode, std::string distribution,
                                    std::optional<std::uint64_t> seed, std::string class_name) {
    Initializer i;
    i.class_name = std::move(class_name);
    i.scale = scale;
    i.mode = std::move(mode);
    i.distribution = std::move(distribution);
    i.seed = seed;
    return i;
}

/// Uniform in +-sqrt(6 / (fan_in + fan_out)). Keras's default kernel initializer.
inline Initializer GlorotUniform(std::optional<std::uint64_t> seed = {}) {
    return variance_scaling(1.0, "fan_avg", "uniform", seed, "GlorotUniform");
}
/// Truncated normal, stddev sqrt(2 / (fan_in + fan_out)) / 0.8796.
inline Initializer GlorotNormal(std::optional<std::uint64_t> seed = {}) {
    return variance_scaling(1.0, "fan_avg", "truncated_normal", seed, "GlorotNormal");
}
/// Uniform in +-sqrt(6 / fan_in).
inline Initializer HeUniform(std::optional<std::uint64_t> seed = {}) {
    return variance_scaling(2.0, "fan_in", "uniform", seed, "HeUniform");
}
/// Truncated normal, stddev sqrt(2 / fan_in) / 0.8796.
inline Initializer HeNormal(std::optional<std::uint64_t> seed = {}) {
    return variance_scaling(2.0, "fan_in", "truncated_normal", seed, "HeNormal");
}
/// Uniform in +-sqrt(3 / fan_in).
inline Initializer LecunUniform(std::optional<std::uint64_t> seed = {}) {
    return variance_scaling(1.0, "fan_in", "uniform", seed, "LecunUniform");
}
/// Truncated normal, stddev sqrt(1 / fan_in) / 0.8796.
inline Initializer LecunNormal(std::optional<std::uint64_t> seed = {}) {
    return variance_scaling(1.0, "fan_in", "truncated_normal", seed, "LecunNormal");
}
/// Normal(mean, stddev). Defaults to mean 0, stddev 0.05.
inline Initializer RandomNormal(double mean = 0.0, double stddev = 0.05,
                                std::optional<std::uint64_t> seed = {}) {
    if (!(stddev >= 0.0))
        throw value_error(detail::cat("RandomNormal: stddev must be >= 0, got ", stddev));
    Initializer i;
    i.class_name = "RandomNormal";
    i.a = mean;
    i.b = stddev;
    i.seed = seed;
    return i;
}
/// Uniform in [minval, maxval). Defaults to [-0.05, 0.05).
inline Initializer RandomUniform(double minval = -0.05, double maxval = 0.05,
                                 std::optional<std::uint64_t> seed = {}) {
    if (!(minval <= maxval))
        throw value_error(detail::cat(
            "RandomUniform: expected minval <= maxval, got minval=", minval, ", maxval=", maxval));
    Initializer i;
    i.class_name = "RandomUniform";
    i.a = minval;
    i.b = maxval;
    i.seed = seed;
    return i;
}
/// Every value equal to `value`.
inline Initializer Constant(double value) {
    Initializer i;
    i.class_name = "Constant";
    i.a = value;
    return i;
}
inline Initializer Zeros() {
    Initializer i = Constant(0.0);
    i.class_name = "Zeros";
    return i;
}
inline Initializer Ones() {
    Initializer i = Constant(1.0);
    i.class_name = "Ones";
    return i;
}

/// Keras's Orthogonal: the Q of the QR factorisation of a normal random matrix of
/// (product of the shape but its last axis) x (last axis) values, transposed when it is wide,
/// with R's diagonal made positive as Keras makes it (so Q is unique), times `gain`. Keras's
/// recurrent kernels start with it.
inline Initializer Orthogonal(double gain = 1.0, std::optional<std::uint64_t> seed = {}) {
    Initializer i;
    i.class_name = "Orthogonal";
    i.a = gain;
    i.seed = seed;
    return i;
}

/// An initializer from its Keras name (snake_case or the class name).
inline Initializer get(const std::string& name) {
    if (name == "glorot_uniform" || name == "GlorotUniform") return GlorotUniform();
    if (name == "glorot_normal" || name == "GlorotNormal") return GlorotNormal();
    if (name == "he_uniform" || name == "HeUniform") return HeUniform();
    if (name == "he_normal" || name == "HeNormal") return HeNormal();
    if (name == "lecun_uniform" || name == "LecunUniform") return LecunUniform();
    if (name == "lecun_normal" || name == "LecunNormal") return LecunNormal();
    // "normal" and "uniform": Keras's short names (Embedding's default is "uniform")
    if (name == "random_normal" || name == "RandomNormal" || name == "normal")
        return RandomNormal();
    if (name == "random_uniform" || name == "RandomUniform" || name == "uniform")
        return RandomUniform();
    if (name == "orthogonal" || name == "Orthogonal") return Orthogonal();
    if (name == "zeros" || name == "Zeros") return Zeros();
    if (name == "ones" || name == "Ones") return Ones();
    throw value_error(detail::cat(
        "unknown initializer '", detail::excerpt(name, 60),
        "'; expected one of glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, "
        "lecun_normal, random_normal (normal), random_uniform (uniform), orthogonal, zeros, ones"));
}

inline Initializer::Initializer(const char* name) : Initializer(get(name)) {}
inline Initializer::Initializer(const std::string& name) : Initializer(get(name)) {}

/// A weight's fan in and fan out. A struct rather than std::pair: GCC on ARM64 notes that
/// returning a pair of doubles changed ABI in GCC 10.1 (-Wpsabi), in every file that includes this.
struct fans {
    double in;
    double out;
};

/// Keras's compute_fans for a weight shape.
inline fans compute_fans(const shape_t& shape) {
    if (shape.empty()) return {1.0, 1.0};
    if (shape.size() == 1) return {double(shape[0]), double(shape[0])};
    if (shape.size() == 2) return {double(shape[0]), double(shape[1])};
    double receptive = 1.0;
    for (std::size_t i = 0; i + 2 < shape.size(); ++i) receptive *= double(shape[i]);
    return {double(shape[shape.size() - 2]) * receptive, double(shape.back()) * receptive};
}

template <class T>
void Initializer::fill(T* data, const shape_t& shape) const {
    const std::size_t n = shape_size(shape);
    if (class_name == "Zeros" || class_name == "Ones" || class_name == "Constant") {
        std::fill(data, data + n, static_cast<T>(a));
        return;
    }
    detail::rng gen(seed ? *seed : detail::next_seed());
    if (class_name == "RandomNormal") {
        for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<T>(a + b * gen.normal());
        return;
    }
    if (class_name == "RandomUniform") {
        for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<T>(gen.uniform(a, b));
        return;
    }
    if (class_name == "Orthogonal") {
        // Gram-Schmidt on the columns of a tall (long x short) normal matrix, each column
        // orthogonalised twice against the ones before it (numerically as good as Householder's
        // QR here); its normalised columns are Q with R's diagonal positive
        const std::size_t cols = shape.empty() ? 1 : shape.back();
        const std::size_t rows = cols ? n / cols : 0;
        const std::size_t tall = std::max(rows, cols), narrow = std::min(rows, cols);
        // 2 tall narrow^2 multiply-adds: bounded, since a shape can come from a file (a
        // recurrent kernel of 1,024 units takes 2^33)
        if (double(tall) * double(narrow) * double(narrow) > double(std::uint64_t(1) << 34))
            throw value_error(detail::cat(
                "Orthogonal: a ", rows, " x ", cols, " weight is too large to orthogonalise (",
                tall, " x ", narrow, "^2 above 2^34 operations); use another initializer"));
        std::vector<double> q(tall * narrow);  // column j is q[j * tall, (j + 1) * tall)
        for (double& v : q) v = gen.normal();
        for (std::size_t j = 0; j < narrow; ++j) {
            double* qj = q.data() + j * tall;
            for (int pass = 0; pass < 2; ++pass)
                for (std::size_t k = 0; k < j; ++k) {
                    const double* qk = q.data() + k * tall;
                    double dot = 0.0;
                    for (std::size_t r = 0; r < tall; ++r) dot += qk[r] * qj[r];
                    for (std::size_t r = 0; r < tall; ++r) qj[r] -= dot * qk[r];
                }
            double norm = 0.0;
            for (std::size_t r = 0; r < tall; ++r) norm += qj[r] * qj[r];
            norm = std::sqrt(norm);
            for (std::size_t r = 0; r < tall; ++r) qj[r] /= norm;
        }
        // entry (r, c) of the weight: Q's (r, c) when tall, Q transposed's when wide
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c)
                data[r * cols + c] =
                    static_cast<T>(a * (rows >= cols ? q[c * tall + r] : q[r * tall + c]));
        return;
    }
    auto [fan_in, fan_out] = compute_fans(shape);
    double fan = mode == "fan_in" ? fan_in : mode == "fan_out" ? fan_out : (fan_in + fan_out) / 2.0;
    double s = scale / std::max(1.0, fan);
    if (distribution == "uniform") {
        double limit = std::sqrt(3.0 * s);
        for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<T>(gen.uniform(-limit, limit));
    } else if (distribution == "truncated_normal") {
        // 0.879... is the stddev of a unit normal truncated at +-2.
        double stddev = std::sqrt(s) / 0.87962566103423978;
        for (std::size_t i = 0; i < n; ++i)
            data[i] = static_cast<T>(stddev * gen.truncated_normal());
    } else if (distribution == "untruncated_normal") {
        double stddev = std::sqrt(s);
        for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<T>(stddev * gen.normal());
    } else {
        throw value_error(
            detail::cat("initializer ", class_name, ": unknown distribution '",
                        detail::excerpt(distribution, 60),
                        "'; expected uniform, truncated_normal or untruncated_normal"));
    }
}

}  // namespace xkeras::initializers
