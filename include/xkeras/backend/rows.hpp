// xkeras/backend/rows.hpp - copying a batch's rows out of a dataset, finding a NaN or an
// infinite value, and summing a matrix's columns (a bias's gradient), spread over the threads.
//
// A row is one sample: the values after the first (batch) axis. Both passes are bound by memory,
// so each thread takes a contiguous range (parallel_ranges) and a second core adds bandwidth;
// the scan for non-finite values runs block by block on what was just copied, while it is in L1.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <limits>

#include "../tensor.hpp"
#include "parallel.hpp"

namespace xkeras::backend {

/// Values copied or scanned per thread at the least (256 KiB of floats): below that, handing a
/// range to another thread costs more than it saves.
inline constexpr std::size_t copy_grain = std::size_t(1) << 16;

/// Lowers `first` to k when k is smaller (the first bad value found by any thread).
inline void keep_smallest(std::atomic<std::size_t>& first, std::size_t k) {
    for (std::size_t seen = first.load(); k < seen;)
        if (first.compare_exchange_weak(seen, k)) break;
}

/// Copies n values from `from` to `to` (nullptr: none) and returns the index of the first NaN or
/// infinite one, n if none.
template <class T>
std::size_t first_nonfinite(const T* from, T* to, std::size_t n) {
    const T big = std::numeric_limits<T>::max();
    constexpr std::size_t block = 1024;
    std::atomic<std::size_t> first{n};
    parallel_ranges(n, copy_grain, [&](std::size_t i, std::size_t end) {
        int count = 0;
        for (; count == 0 && i < end; i += block) {
            const std::size_t m = std::min(block, end - i);
            if (to != nullptr) std::copy_n(from + i, m, to + i);
            if (m == block)  // a fixed count vectorises without a remainder loop
                for (std::size_t j = 0; j < block; ++j) count += !(std::abs(from[i + j]) <= big);
            else
                for (std::size_t j = i; j < i + m; ++j) count += !(std::abs(from[j]) <= big);
            if (count != 0) {
                std::size_t k = i;
                while (std::abs(from[k]) <= big) ++k;
                keep_smallest(first, k);
            }
        }
    });
    return first.load();
}

/// Gives `dst` src's shape with n rows, keeping its buffer when it has that shape already;
/// returns the values per row.
template <class T>
std::size_t resize_rows(const tensor<T>& src, std::size_t n, tensor<T>& dst) {
    shape_t s = shape_of(src);
    const std::size_t row = src.size() / s[0];
    s[0] = n;
    if (dst.dimension() != s.size() || !std::equal(s.begin(), s.end(), dst.shape().begin()))
        dst.resize(s);
    return row;
}

/// Copies rows idx[0..n) of `src` into `dst` (resized to n rows).
template <class T>
void gather_rows(const tensor<T>& src, const std::size_t* idx, std::size_t n, tensor<T>& dst) {
    const std::size_t row = resize_rows(src, n, dst);
    parallel_ranges(n, copy_grain / std::max<std::size_t>(row, 1),
                    [&](std::size_t b, std::size_t e) {
                        for (std::size_t i = b; i < e; ++i)
                            std::copy_n(src.data() + idx[i] * row, row, dst.data() + i * row);
                    });
}

/// Copies rows [begin, begin + n) of `src` into `dst` (resized to n rows) and returns the index
/// in src of the first NaN or infinite value among them, src.size() if none.
template <class T>
std::size_t copy_rows(const tensor<T>& src, std::size_t begin, std::size_t n, tensor<T>& dst) {
    const std::size_t row = resize_rows(src, n, dst);
    const std::size_t k = first_nonfinite(src.data() + begin * row, dst.data(), n * row);
    return k < n * row ? begin * row + k : src.size();
}

/// out[c] = the sum of column c of m (rows x cols), rows in order: the same bits on any number
/// of threads (the threads take blocks of columns).
template <class T>
void column_sums(const T* m, std::size_t rows, std::size_t cols, T* out) {
    parallel_ranges(cols, 64, [&](std::size_t c0, std::size_t c1) {
        std::fill(out + c0, out + c1, T(0));
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = c0; c < c1; ++c) out[c] += m[r * cols + c];
    });
}

}  // namespace xkeras::backend
