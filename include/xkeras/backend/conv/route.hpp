// xkeras/backend/conv/route.hpp - which kernels run a convolution: the route of each pass as a
// value, chosen from the geometry by select_route, and forceable (Conv2D::force_route) so that
// tests run every route on the same inputs.
//
// The routes, and where select_route takes them (docs/performance.md gives the measurements and
// the benchmarks behind each threshold):
//   gemm          im2col + GEMM (a 1x1 stride-1 window multiplies the input itself): any geometry.
//   small_patch   small_patch.hpp: patches of at most 16 values (a first layer on 1-3 channels).
//   direct        direct.hpp: stride 1, no dilation, filters in whole vectors (channels too for
//                 the input gradient). Taken past 1x1 windows and small patches, up to 16 wide
//                 vectors of filters forward, 8 for the weight gradient, and for the input
//                 gradient 8 where input and output have the same size, else 4.
//   winograd_2x2, winograd_4x4
//                 winograd.hpp, inference only: the direct route's conditions, a 3x3 window and
//                 at least two vectors of channels; 4x4 tiles from 400 output pixels on.
#pragma once

#include <cstddef>
#include <string>

#include "../../config.hpp"
#include "../dispatch.hpp"
#include "../simd.hpp"
#include "../window2d.hpp"
#include "direct.hpp"
#include "small_patch.hpp"

namespace xkeras::backend::conv {

/// The passes of a convolution: the forward pass at inference and in training, and the two
/// halves of the backward pass.
enum class pass { inference, training, weight_gradient, input_gradient };

enum class route { gemm, small_patch, direct, winograd_2x2, winograd_4x4 };

inline const char* name(route r) {
    switch (r) {
        case route::gemm:
            return "gemm";
        case route::small_patch:
            return "small_patch";
        case route::direct:
            return "direct";
        case route::winograd_2x2:
            return "winograd_2x2";
        case route::winograd_4x4:
            return "winograd_4x4";
    }
    return "?";
}

inline const char* name(pass p) {
    switch (p) {
        case pass::inference:
            return "inference";
        case pass::training:
            return "training";
        case pass::weight_gradient:
            return "weight_gradient";
        case pass::input_gradient:
            return "input_gradient";
    }
    return "?";
}

/// A 1x1 window with stride 1: its patch matrix is the input itself.
inline bool pointwise(const window2d& g) {
    return g.k_h == 1 && g.k_w == 1 && g.s_h == 1 && g.s_w == 1;
}

/// Whether the small-patch kernels take this geometry.
inline bool small_patches(const window2d& g) {
    return g.patch_size() <= small_patch::max_patch;
}

/// Whether route r can run pass p of a convolution of geometry g with F filters, for values of
/// type T (whether it is fast there is select_route's business).
template <class T>
bool supports(route r, pass p, const window2d& g, std::size_t F) {
    const bool stride1 = g.s_h == 1 && g.s_w == 1 && g.d_h == 1 && g.d_w == 1;
    switch (r) {
        case route::gemm:
            return true;
        case route::small_patch:
            if (p == pass::input_gradient || !small_patches(g)) return false;
            return p != pass::weight_gradient || direct::fits<T>(F);
        case route::direct:
            if (!stride1 || !direct::fits<T>(F)) return false;
            return p != pass::input_gradient || direct::fits<T>(g.channels);
        case route::winograd_2x2:
        case route::winograd_4x4:
            return p == pass::inference && stride1 && g.k_h == 3 && g.k_w == 3 &&
                   direct::fits<T>(F);
    }
    return false;
}

/// The route that pass p of a convolution of geometry g with F filters takes (see the file
/// comment). `dz_needed`: whether the backward pass writes out dz, the gradient before the
/// activation: it does for an input gradient or an activation other than ReLU. Without it, a first
/// layer's small-patch kernel reads dy and y once and writes nothing per pixel.
template <class T>
route select_route(pass p, const window2d& g, std::size_t F, bool dz_needed = true) {
    // whole vectors of filters the direct kernels win up to, with 64- and 32-byte vectors (at the
    // generic level, with 16-byte ones, the thresholds of 32-byte ones stand)
    const bool wide_vectors = backend::active_wide_bytes() == 64;
    const std::size_t lanes = simd<T>::lanes;
    auto direct_up_to = [&](std::size_t vectors) {
        return supports<T>(route::direct, p, g, F) && !pointwise(g) && !small_patches(g) &&
               F <= vectors * lanes;
    };
    switch (p) {
        case pass::inference:
            if (direct_up_to(wide_vectors ? 16 : 8) && g.k_h == 3 && g.k_w == 3 &&
                g.channels >= 2 * lanes)
                return g.out_pixels() >= 400 ? route::winograd_4x4 : route::winograd_2x2;
            [[fallthrough]];
        case pass::training:
            if (direct_up_to(wide_vectors ? 16 : 8)) return route::direct;
            return small_patches(g) ? route::small_patch : route::gemm;
        case pass::weight_gradient:
            if (!dz_needed && supports<T>(route::small_patch, p, g, F)) return route::small_patch;
            return direct_up_to(wide_vectors ? 8 : 4) ? route::direct : route::gemm;
        case pass::input_gradient:
            return direct_up_to(g.in_h * g.in_w == g.out_pixels() ? 8 : 4) ? route::direct
                                                                           : route::gemm;
    }
    return route::gemm;
}

/// Throws value_error unless `supports` (a forced route that cannot run this convolution).
template <class T>
void check_route(route r, pass p, const window2d& g, std::size_t F, const std::string& who) {
    if (!supports<T>(r, p, g, F))
        throw value_error(xkeras::detail::cat(who, ": the ", name(r), " route cannot run the ",
                                              name(p), " pass of this convolution (", g.k_h, "x",
                                              g.k_w, " window, strides (", g.s_h, ", ", g.s_w,
                                              "), ", g.channels, " channels, ", F, " filters)"));
}

}  // namespace xkeras::backend::conv
