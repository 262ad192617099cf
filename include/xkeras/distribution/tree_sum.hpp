// xkeras/distribution/tree_sum.hpp - the one summation order of data-parallel training: a fixed
// binary tree over the leaves (micro-batches, then processes), so that a sum does not depend on
// which process holds which leaves.
//
// Leaves [0, n) split at the largest power of two below n; with a power-of-two number of leaves
// the tree is perfect, and a process holding an aligned power-of-two run of them holds a whole
// subtree: summing its subtree first and the processes' sums next gives the same bits as one
// process summing every leaf.
#pragma once

#include <bit>
#include <cstddef>
#include <span>
#include <vector>

namespace xkeras::distribution {

/// The split of n > 1 leaves: the largest power of two below n.
inline std::size_t tree_split(std::size_t n) {
    return std::bit_floor(n - 1);
}

namespace detail {
/// The tree sum into `out`, each right subtree summed into `spare` first: `spare` holds count
/// values per level of the tree below this one.
template <class T>
void tree_sum_into(std::span<const T* const> leaves, std::size_t count, T* out, T* spare) {
    if (leaves.size() == 1) {
        if (leaves[0] != out)
            for (std::size_t i = 0; i < count; ++i) out[i] = leaves[0][i];
        return;
    }
    const std::size_t half = tree_split(leaves.size());
    tree_sum_into(leaves.first(half), count, out, spare);
    tree_sum_into(leaves.subspan(half), count, spare, spare + count);
    for (std::size_t i = 0; i < count; ++i) out[i] += spare[i];
}
}  // namespace detail

/// out[i] = the tree sum of leaves[k][i] over k, for i < count. `out` may be leaves[0] but no
/// other leaf. The recursion is as deep as log2 of the leaf count; the right subtrees' sums go
/// through a buffer of this thread's, kept between calls.
template <class T>
void tree_sum(std::span<const T* const> leaves, std::size_t count, T* out) {
    thread_local std::vector<T> spare;
    if (leaves.size() > 1) spare.resize(count * std::size_t(std::bit_width(leaves.size() - 1)));
    detail::tree_sum_into(leaves, count, out, spare.data());
}

/// The tree sum of scalars (a process's losses, the moving statistics).
inline double tree_sum(std::span<const double> leaves) {
    if (leaves.empty()) return 0.0;
    if (leaves.size() == 1) return leaves[0];
    const std::size_t half = tree_split(leaves.size());
    return tree_sum(leaves.first(half)) + tree_sum(leaves.subspan(half));
}

}  // namespace xkeras::distribution
