// xkeras/backend/conv/workspace.hpp - what a convolution's passes share: its operands and the
// buffers kept from batch to batch.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../parallel.hpp"
#include "../window2d.hpp"
#include "im2col.hpp"

namespace xkeras::backend::conv {

/// One convolution: geometry, filter count, kernel (k_h, k_w, C, F) and bias (F, or null).
/// `kernel_version` changes whenever the kernel's values do (Param::version): what is derived
/// from the kernel (Winograd's transform) is remade then.
template <class T>
struct conv2d {
    window2d g;
    std::size_t filters = 0;
    const T* kernel = nullptr;
    std::uint64_t kernel_version = 0;
    const T* bias = nullptr;

    std::size_t pixels() const { return g.out_pixels(); }
    std::size_t patch() const { return g.patch_size(); }
    /// Images per task: the patch matrix of one task stays within about 1 MiB.
    std::size_t images_per_task() const {
        const std::size_t bytes = pixels() * patch() * sizeof(T);
        return std::max<std::size_t>(1, (std::size_t(1) << 20) / std::max<std::size_t>(1, bytes));
    }
};

/// Buffers of one convolution, per thread where threads use them at once, grown on first use
/// and kept: nothing is allocated per batch once they have grown.
template <class T>
struct workspace {
    using buffers = std::vector<std::vector<T>>;
    buffers patches, dcols;            ///< a task's patch matrix and its gradient
    buffers padded, padded_dz;         ///< a zero-bordered input image, output-gradient image
    buffers dz;                        ///< dL/d(pre-activation) of one task
    buffers partial_dw, partial_db;    ///< a thread's share of the weight and bias gradients
    std::vector<std::size_t> offsets;  ///< window_offsets(g)
    std::vector<T> flipped;            ///< the kernel as the input gradient's correlation needs
    struct winograd_buffers {
        std::vector<T> x, v, m;
    };
    /// Winograd's transformed kernel, with the tile size, kernel version and data it was made
    /// from, and per thread a padded input image and the V and M blocks.
    std::vector<T> wino_kernel;
    std::size_t wino_m = 0;
    std::uint64_t wino_version = 0;
    const T* wino_source = nullptr;
    std::vector<winograd_buffers> wino;

    /// For a new geometry: the zero-bordered buffers keep their borders between images, and a
    /// new geometry may put the border where an old image was, so they are zeroed again when
    /// next sized.
    void set_geometry(const window2d& g) {
        offsets = window_offsets(g);
        padded.clear();
        padded_dz.clear();
        wino.clear();
        wino_m = 0;
    }

    /// One buffer per thread in `b`, each of at least `values` values.
    static void grow(buffers& b, std::size_t values) {
        const std::size_t threads = std::size_t(pool_size());
        if (b.size() < threads) b.resize(threads);
        for (auto& v : b)
            if (v.size() < values) v.resize(values);
    }
};

}  // namespace xkeras::backend::conv
